"""Write a space's shipped BN calibration sample (``precomputed/<space>/calibration.npz``) from a dataset.

The sample holds exactly the 2,000 training images validation re-estimates BN
statistics on, in the same order (see ``ofa_dash.calibration``), so exports
made from it equal exports made with the full dataset. Regenerate it after the
draw or the data copy changes:

    python scripts/make_calibration_sample.py --data ../shared/datasets/cifar10-jpeg --space cifar10
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ofa_dash.calibration import shipped_sample_path, write_sample
from ofa_dash.data import check_classes, load_dataset
from ofa_dash.space import get_space


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", required=True, help="dataset root (what --data reads elsewhere)")
    p.add_argument("--space", default="cifar10")
    p.add_argument("--out", help="output file (default: the space's sample under the precomputed root)")
    args = p.parse_args(argv)
    space = get_space(args.space)
    data = load_dataset(args.data)
    check_classes(data, space)
    out = Path(args.out) if args.out else shipped_sample_path(space)
    cal = write_sample(data, out)
    counts = ", ".join(f"{c} {n}" for c, n in zip(cal.classes, [int((cal.images.labels == i).sum()) for i in range(len(cal.classes))], strict=True))
    print(f"wrote {out} ({out.stat().st_size / 1e6:.1f} MB): {len(cal)} images, fingerprint {cal.fingerprint}; per class: {counts}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
