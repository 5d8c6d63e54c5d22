"""Classify images with the exported ofa-dash model in this folder.

Needs only onnxruntime, numpy and Pillow (pip install onnxruntime numpy pillow).
Preprocessing is read from the model's own metadata, so this script and the
model cannot drift apart: RGB, bilinear resize (Pillow, antialiased when
shrinking) straight to resolution x resolution (or, where the metadata names
resize_shorter, as for ImageNet models: the shorter side to that length and
the centre resolution x resolution crop), pixel / 255, then
(x - mean) / std per channel, NCHW float32: what training and validation did.

    python predict.py photo.jpg [more.png ...] [--int8] [--top 5] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import onnxruntime as ort
from PIL import Image

HERE = Path(__file__).resolve().parent


def load(model_path: Path) -> tuple[ort.InferenceSession, dict]:
    session = ort.InferenceSession(str(model_path), providers=["CPUExecutionProvider"])
    meta = session.get_modelmeta().custom_metadata_map
    pre = {
        "input_name": meta.get("input_name", session.get_inputs()[0].name),
        "resolution": int(meta["resolution"]),
        "mean": np.asarray(json.loads(meta["mean"]), dtype=np.float32),
        "std": np.asarray(json.loads(meta["std"]), dtype=np.float32),
        "class_names": json.loads(meta["class_names"]),
        "resize_shorter": int(meta["resize_shorter"]) if meta.get("resize_shorter") else None,
    }
    return session, pre


def preprocess(path: Path, pre: dict) -> np.ndarray:
    """One image as a (1, 3, r, r) float32 array, exactly as the model expects."""
    r = pre["resolution"]
    with Image.open(path) as im:
        im = im.convert("RGB")
        if pre.get("resize_shorter"):
            s = pre["resize_shorter"]
            w, h = im.size
            size = (s, int(s * h / w)) if w <= h else (int(s * w / h), s)
            if size != im.size:
                im = im.resize(size, Image.BILINEAR)
            left, top = round((im.width - r) / 2.0), round((im.height - r) / 2.0)
            im = im.crop((left, top, left + r, top + r))
        elif im.size != (r, r):
            im = im.resize((r, r), Image.BILINEAR)
        x = np.asarray(im, dtype=np.float32) / 255.0
    x = (x - pre["mean"]) / pre["std"]
    return np.ascontiguousarray(x.transpose(2, 0, 1)[None], dtype=np.float32)


def softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max())
    return e / e.sum()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("images", nargs="+", type=Path)
    p.add_argument("--model", type=Path, help="ONNX file (default: model.onnx next to this script)")
    p.add_argument("--int8", action="store_true", help="use model-int8.onnx")
    p.add_argument("--top", type=int, default=5)
    p.add_argument("--json", action="store_true", help="print one JSON object")
    args = p.parse_args(argv)
    model = args.model or HERE / ("model-int8.onnx" if args.int8 else "model.onnx")
    session, pre = load(model)
    results = []
    for path in args.images:
        logits = session.run(None, {pre["input_name"]: preprocess(path, pre)})[0][0]
        probs = softmax(logits.astype(np.float64))
        order = np.argsort(-logits)[: args.top]
        top = [{"index": int(i), "class": pre["class_names"][i] if i < len(pre["class_names"]) else str(i), "prob": float(probs[i])} for i in order]
        results.append({"image": str(path), "top": top, "logits": [float(v) for v in logits]})
    if args.json:
        print(json.dumps({"model": str(model), "results": results}))
    else:
        for res in results:
            best = res["top"][0]
            print(f"{res['image']}: {best['class']} ({100 * best['prob']:.1f} %)")
            for t in res["top"][1:]:
                print(f"    {t['class']}: {100 * t['prob']:.1f} %")
    return 0


if __name__ == "__main__":
    sys.exit(main())
