"""What the Subnet page says next to the int8 download: is int8 faster than fp32 for this subnet, and by how much.

int8 is not always faster: for the smallest cifar10 subnets quantize/dequantize
overhead outweighs the cheaper convolutions, and a user choosing "int8" for
speed would get a slower model. The measured comparison an int8 export wrote
into its file wins; before any int8 export, the device profiles' latency
tables give a prediction (a device ``X`` next to its int8 twin ``X-int8``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

INT8_SUFFIX = "-int8"


@dataclass(frozen=True)
class Int8Note:
    slower: bool  # int8 slower than fp32: the page warns
    text: str  # Markdown-free plain sentence


def int8_note(verdict: dict | None, devices: dict | None = None, genome: np.ndarray | None = None) -> Int8Note | None:
    """The note for one subnet: from ``verdict`` (the export's ``int8_vs_fp32`` metadata) when there is one, else predicted.

    ``devices``: loaded latency tables by name; ``genome``: the subnet encoded by its space.
    None when neither a measurement nor a pair of tables exists.
    """
    if verdict:
        ratio = verdict["int8_ms"] / verdict["fp32_ms"]
        drop = verdict.get("top1_drop")
        acc = "" if drop is None else f"; int8 loses {drop:.2f} top-1 points" if drop >= 0 else f"; int8 gains {-drop:.2f} top-1 points"
        if verdict["int8_slower"]:
            return Int8Note(
                True,
                f"int8 is slower than fp32 for this subnet here: {verdict['int8_ms']:.3f} ms against {verdict['fp32_ms']:.3f} ms (measured by the export{acc}). Prefer fp32 on this machine.",
            )
        return Int8Note(
            False, f"int8 runs in {ratio:.2f}x fp32's time here: {verdict['int8_ms']:.3f} ms against {verdict['fp32_ms']:.3f} ms (measured by the export{acc})."
        )
    for name, table in (devices or {}).items():
        twin = (devices or {}).get(name + INT8_SUFFIX)
        if twin is None or genome is None:
            continue
        fp32, int8 = float(table.estimate(genome)[0]), float(twin.estimate(genome)[0])
        source = f"{name} and {name}{INT8_SUFFIX} latency tables; the int8 download measures it"
        if int8 > fp32:
            return Int8Note(True, f"int8 is predicted slower than fp32 for this subnet: {int8:.3f} ms against {fp32:.3f} ms ({source}).")
        return Int8Note(False, f"int8 is predicted at {int8 / fp32:.2f}x fp32's time: {int8:.3f} ms against {fp32:.3f} ms ({source}).")
    return None
