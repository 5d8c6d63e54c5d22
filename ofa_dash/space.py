"""Search spaces and architectures.

One declarative :class:`SearchSpace` describes an OFA-MobileNetV3-style
elastic network; the supernet, the genome encoding, the counters, the latency
table keys and the UI labels are all derived from it, so a new space is a new
instance here and nothing downstream special-cases it by name.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from functools import cached_property

import numpy as np

ACTIVATIONS = ("relu", "hswish")
N_STAGES = 5
MAX_DEPTH = 4
N_SLOTS = N_STAGES * MAX_DEPTH
GENOME_LENGTH = 2 * N_SLOTS + N_STAGES + 1  # 46
_ID_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz"
MAX_ARCH_JSON_CHARS = 4096  # a full architecture is about 200 characters


def make_divisible(value: float, divisor: int = 8) -> int:
    """Round a channel count to a multiple of ``divisor`` (never below 90 %).

    Used for squeeze-excite widths, as in MobileNetV3 and OFA.
    """
    new = max(divisor, int(value + divisor / 2) // divisor * divisor)
    if new < 0.9 * value:
        new += divisor
    return new


@dataclass(frozen=True)
class StageSpec:
    """One elastic stage: up to four blocks; only the first one strides."""

    channels: int
    stride: int
    act: str
    se: bool


@dataclass(frozen=True)
class SlotSpec:
    """Static facts about one block slot, derived from the space."""

    index: int
    stage: int
    position: int  # 0..3 within the stage
    in_channels: int
    out_channels: int
    stride: int
    act: str
    se: bool

    @property
    def residual(self) -> bool:
        return self.stride == 1 and self.in_channels == self.out_channels


@dataclass(frozen=True)
class Arch:
    """One subnet: per-slot kernel sizes and expand ratios, per-stage depths,
    input resolution (the field names follow OFA)."""

    ks: tuple[int, ...]
    e: tuple[int, ...]
    d: tuple[int, ...]
    r: int

    def __post_init__(self) -> None:
        object.__setattr__(self, "ks", tuple(int(v) for v in self.ks))
        object.__setattr__(self, "e", tuple(int(v) for v in self.e))
        object.__setattr__(self, "d", tuple(int(v) for v in self.d))
        object.__setattr__(self, "r", int(self.r))

    @property
    def id(self) -> str:
        """Stable short id: inactive slots do not change it (see ``arch_id``)."""
        return arch_id(self)

    def to_dict(self) -> dict:
        return {"ks": list(self.ks), "e": list(self.e), "d": list(self.d), "r": self.r}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), separators=(",", ":"))

    @classmethod
    def from_dict(cls, data: dict) -> Arch:
        if not isinstance(data, dict):
            raise ValueError(f"architecture must be a JSON object with ks, e, d, r; got {type(data).__name__}")
        missing = [k for k in ("ks", "e", "d", "r") if k not in data]
        if missing:
            raise ValueError(f"architecture is missing field(s) {missing}; expected ks, e, d, r")
        try:
            return cls(ks=data["ks"], e=data["e"], d=data["d"], r=data["r"])
        except (TypeError, ValueError) as exc:
            raise ValueError(f"architecture fields must be integers (lists for ks, e, d): {exc}") from None

    @classmethod
    def from_json(cls, text: str) -> Arch:
        if len(text) > MAX_ARCH_JSON_CHARS:
            raise ValueError(f"architecture JSON is {len(text):,} characters long; an architecture needs under {MAX_ARCH_JSON_CHARS:,}")
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"architecture is not valid JSON: {exc}") from None
        except RecursionError:
            raise ValueError("architecture JSON is nested too deeply; expected one object with lists ks, e, d and a number r") from None
        return cls.from_dict(data)

    def active_slots(self) -> list[int]:
        """Indices (0..19) of the slots that the stage depths keep."""
        return [s * MAX_DEPTH + j for s, depth in enumerate(self.d) for j in range(depth)]


def _canonical_genome(genome: np.ndarray) -> np.ndarray:
    """Zero the kernel and expand genes of slots the depth switches off."""
    g = np.array(genome, dtype=np.int64, copy=True)
    depth_idx = g[..., 2 * N_SLOTS : 2 * N_SLOTS + N_STAGES]
    active = _active_mask_from_depth_index(depth_idx)
    g[..., :N_SLOTS] *= active
    g[..., N_SLOTS : 2 * N_SLOTS] *= active
    return g


def _active_mask_from_depth_index(depth_idx: np.ndarray, min_depth: int = 2) -> np.ndarray:
    # depth index 0 means the smallest depth choice; every space here uses {2, 3, 4}
    depth = depth_idx + min_depth
    pos = np.tile(np.arange(MAX_DEPTH), N_STAGES)
    return (pos < np.repeat(depth, MAX_DEPTH, axis=-1)).astype(np.int64)


def arch_id(arch: Arch) -> str:
    """A decodable, space-independent short id of the *network*.

    The canonical genome (inactive slots zeroed) read as one mixed-radix number
    and written in base 36: two genomes that build the same network share the
    id, and the id decodes back to the arch without any catalogue.
    """
    idx = _generic_index(arch)
    number = 0
    for value, radix in zip(idx, _RADICES, strict=True):
        number = number * radix + int(value)
    digits = []
    while number:
        number, rem = divmod(number, 36)
        digits.append(_ID_ALPHABET[rem])
    return "".join(reversed(digits)).rjust(_ID_WIDTH, "0")


# Radices of the id: 3 choices for every kernel/expand/depth gene, up to 8
# resolutions. The resolution gene stores the index into the space's list, so
# ids are compared only within one space.
_RADICES = (3,) * (2 * N_SLOTS + N_STAGES) + (8,)
_ID_WIDTH = 16


def _generic_index(arch: Arch) -> list[int]:
    # Choice indices for the standard OFA choice sets; the id stores these.
    kmap = {3: 0, 5: 1, 7: 2}
    emap = {3: 0, 4: 1, 6: 2}
    dmap = {2: 0, 3: 1, 4: 2}
    active = set(arch.active_slots())
    try:
        k = [kmap[v] if i in active else 0 for i, v in enumerate(arch.ks)]
        e = [emap[v] if i in active else 0 for i, v in enumerate(arch.e)]
        d = [dmap[v] for v in arch.d]
    except KeyError as exc:
        raise ValueError(f"value {exc} is not an OFA choice; validate the arch against its space first") from None
    return k + e + d + [_RES_INDEX.get(arch.r, 0)]


# Resolution slot in the id: position of r among all resolutions any shipped
# space uses (kept sorted and append-only so ids stay stable).
_ALL_RESOLUTIONS = (24, 28, 32, 160, 176, 192, 208, 224)
_RES_INDEX = {r: i for i, r in enumerate(_ALL_RESOLUTIONS)}


def _decode_id(text: str) -> tuple[list[int], list[int], list[int], int]:
    text = text.strip().lower()
    if not text or any(c not in _ID_ALPHABET for c in text) or len(text) > _ID_WIDTH:
        raise ValueError(f"{text!r} is not a subnet id (up to {_ID_WIDTH} characters of 0-9a-z)")
    number = int(text, 36)
    values = []
    for radix in reversed(_RADICES):
        number, rem = divmod(number, radix)
        values.append(rem)
    if number:
        raise ValueError(f"{text!r} is not a subnet id (value out of range)")
    values.reverse()
    ks = [(3, 5, 7)[v] for v in values[:N_SLOTS]]
    e = [(3, 4, 6)[v] for v in values[N_SLOTS : 2 * N_SLOTS]]
    d = [(2, 3, 4)[v] for v in values[2 * N_SLOTS : 2 * N_SLOTS + N_STAGES]]
    r_index = values[-1]
    if r_index >= len(_ALL_RESOLUTIONS):
        raise ValueError(f"{text!r} is not a subnet id (unknown resolution code {r_index})")
    return ks, e, d, _ALL_RESOLUTIONS[r_index]


@dataclass(frozen=True)
class DataKind:
    """A kind of dataset a space is measured on: its layout, evaluation preprocessing and where the dashboard finds it.

    Part of the space spec (``SearchSpace.data``) so that loaders, exports and
    pages read one field instead of testing space names. The loaders themselves
    live in :mod:`ofa_dash.datasets` (they need torch and Pillow; this module does not).
    """

    name: str
    label: str  # in words, for messages and pages
    layout: str  # what a dataset root of this kind holds
    test_split: str  # the folder (or part) evaluated: "test" or "val"
    env: str  # the environment variable the dashboard reads the folder from
    # evaluation preprocessing: "resize" straight to r x r (CIFAR), or OFA's "resize-crop": shorter side to
    # ceil(r / crop_fraction) (bilinear), then the centre r x r crop
    resize: str = "resize"
    crop_fraction: float = 1.0
    downloadable: bool = False  # the dashboard can fetch it itself (CIFAR-10's archive; ImageNet's licence asks each user to)


DATA_KINDS: dict[str, DataKind] = {
    k.name: k
    for k in (
        DataKind(
            name="cifar10",
            label="CIFAR-10",
            layout="the official CIFAR-10 python archive (or its extracted folder), or train/ and test/ of <class>/<image> files",
            test_split="test",
            env="OFA_DASH_DATA",
            downloadable=True,
        ),
        DataKind(
            name="imagenet-folder",
            label="ImageNet-style image folder",
            layout="train/ and val/, each holding one folder per class (the same class folder names in both; "
            "sorted by name they give the class indices) of JPEG images",
            test_split="val",
            env="OFA_DASH_IMAGENET",
            resize="resize-crop",
            crop_fraction=0.875,
        ),
    )
}


@dataclass(frozen=True)
class SearchSpace:
    """Declarative description of an OFA-MobileNetV3-style elastic space.

    Layout: stem conv (3x3) -> fixed first block (depthwise 3x3, expand 1) ->
    5 elastic stages of up to 4 inverted-bottleneck blocks -> head
    (1x1 conv to ``final_expand``, global pool, 1x1 conv to ``feature_dim``,
    linear classifier).
    """

    name: str
    stem_channels: int
    stem_stride: int
    first_block_channels: int
    stages: tuple[StageSpec, ...]
    final_expand: int
    feature_dim: int
    n_classes: int
    resolutions: tuple[int, ...]
    kernel_choices: tuple[int, ...] = (3, 5, 7)
    expand_choices: tuple[int, ...] = (3, 4, 6)
    depth_choices: tuple[int, ...] = (2, 3, 4)
    stem_act: str = "hswish"
    first_block_act: str = "relu"
    head_act: str = "hswish"
    dropout: float = 0.1
    mean: tuple[float, float, float] = (0.485, 0.456, 0.406)
    std: tuple[float, float, float] = (0.229, 0.224, 0.225)
    description: str = ""
    class_names: tuple[str, ...] = field(default=())
    # Where the space's parts come from (the dashboard reads these instead of checking names)
    needs_official_files: bool = False  # its accuracy predictor and latency tables come from OFA's published files (--official DIR)
    trained_here: bool = True  # its supernet weights are trained by ofa-dash (`python -m ofa_dash train`)
    weights: str = "trained by ofa-dash"  # where its supernet weights come from, in words
    # OFA's published checkpoint of this space: its file name in an OFA files folder (--official DIR) and
    # on OFA's server (``ofa_nets/<name>``); None for the spaces trained here
    published_weights: str | None = None
    summary: str = ""  # one line for the space picker
    data: str = "cifar10"  # the kind of dataset it is measured on: a key of DATA_KINDS

    def __post_init__(self) -> None:
        if len(self.stages) != N_STAGES:
            raise ValueError(f"a space has exactly {N_STAGES} stages, got {len(self.stages)}")
        if tuple(self.kernel_choices) != (3, 5, 7) or tuple(self.depth_choices) != (2, 3, 4):
            raise ValueError("kernel choices must be (3, 5, 7) and depth choices (2, 3, 4), as in OFA")
        if tuple(self.expand_choices) != (3, 4, 6):
            raise ValueError("expand choices must be (3, 4, 6), as in OFA")
        bad = [r for r in self.resolutions if r not in _ALL_RESOLUTIONS]
        if bad:
            raise ValueError(f"resolutions {bad} are not registered in space._ALL_RESOLUTIONS")
        if self.data not in DATA_KINDS:
            raise ValueError(f"data kind {self.data!r} is not one of {sorted(DATA_KINDS)}")
        for st in self.stages:
            if st.act not in ACTIVATIONS:
                raise ValueError(f"stage activation {st.act!r} is not one of {ACTIVATIONS}")

    @property
    def data_kind(self) -> DataKind:
        """How this space's dataset is laid out and preprocessed (``DATA_KINDS[self.data]``)."""
        return DATA_KINDS[self.data]

    # ----------------------------------------------------------------- layout
    @cached_property
    def slots(self) -> tuple[SlotSpec, ...]:
        out = []
        cin = self.first_block_channels
        for s, st in enumerate(self.stages):
            for j in range(MAX_DEPTH):
                out.append(
                    SlotSpec(
                        index=s * MAX_DEPTH + j,
                        stage=s,
                        position=j,
                        in_channels=cin,
                        out_channels=st.channels,
                        stride=st.stride if j == 0 else 1,
                        act=st.act,
                        se=st.se,
                    )
                )
                cin = st.channels
        return tuple(out)

    @property
    def max_expand(self) -> int:
        return max(self.expand_choices)

    def mid_channels(self, in_channels: int, expand: int) -> int:
        """Middle width of a block: ``round(in_channels * expand)`` as in OFA."""
        return round(in_channels * expand)

    def se_channels(self, mid: int) -> int:
        return make_divisible(mid // 4, 8)

    def stem_size(self, r: int) -> int:
        return (r - 1) // self.stem_stride + 1

    def slot_sizes(self, r: int) -> list[tuple[int, int]]:
        """(input, output) spatial size of every slot at resolution ``r``."""
        f = self.stem_size(r)
        sizes = []
        for slot in self.slots:
            g = (f - 1) // slot.stride + 1
            sizes.append((f, g))
            f = g
        return sizes

    def final_size(self, r: int) -> int:
        return self.slot_sizes(r)[-1][1]

    # ------------------------------------------------------------- validation
    def validate(self, arch: Arch) -> Arch:
        """Raise ``ValueError`` naming the field and the allowed values."""
        if not isinstance(arch, Arch):
            raise ValueError(f"expected an Arch, got {type(arch).__name__}")
        for name, values, allowed, length in (
            ("ks", arch.ks, self.kernel_choices, N_SLOTS),
            ("e", arch.e, self.expand_choices, N_SLOTS),
            ("d", arch.d, self.depth_choices, N_STAGES),
        ):
            if len(values) != length:
                raise ValueError(f"{name} must have {length} values (one per {'slot' if length == N_SLOTS else 'stage'}), got {len(values)}")
            for i, v in enumerate(values):
                if v not in allowed:
                    raise ValueError(f"{name}[{i}] = {v} is not allowed in space {self.name!r}; allowed values: {list(allowed)}")
        if arch.r not in self.resolutions:
            raise ValueError(f"r = {arch.r} is not a resolution of space {self.name!r}; allowed values: {list(self.resolutions)}")
        return arch

    def parse_arch(self, text: str) -> Arch:
        """Arch from ``largest``, ``smallest``, an id or a JSON object (the CLI's ``--arch``)."""
        text = text.strip()
        if text == "largest":
            return self.largest()
        if text == "smallest":
            return self.smallest()
        if text.startswith("{"):
            return self.validate(Arch.from_json(text))
        return self.arch_from_id(text)

    def arch_from_id(self, text: str) -> Arch:
        ks, e, d, r = _decode_id(text)
        if r not in self.resolutions:
            raise ValueError(f"id {text!r} has resolution {r}, which space {self.name!r} does not have; allowed: {list(self.resolutions)}")
        return self.validate(Arch(ks=ks, e=e, d=d, r=r))

    # ---------------------------------------------------------------- genomes
    @property
    def genome_upper(self) -> np.ndarray:
        """Number of choices of every gene (the exclusive upper bound)."""
        return np.array(
            [len(self.kernel_choices)] * N_SLOTS + [len(self.expand_choices)] * N_SLOTS + [len(self.depth_choices)] * N_STAGES + [len(self.resolutions)],
            dtype=np.int64,
        )

    def encode(self, archs: Arch | list[Arch]) -> np.ndarray:
        """Choice indices, shape (n, 46); a single Arch gives shape (1, 46)."""
        if isinstance(archs, Arch):
            archs = [archs]
        for a in archs:
            self.validate(a)
        ks = np.array([a.ks for a in archs], dtype=np.int64).reshape(-1, N_SLOTS)
        e = np.array([a.e for a in archs], dtype=np.int64).reshape(-1, N_SLOTS)
        d = np.array([a.d for a in archs], dtype=np.int64).reshape(-1, N_STAGES)
        r = np.array([a.r for a in archs], dtype=np.int64).reshape(-1, 1)
        return np.concatenate(
            [
                _index_of(ks, self.kernel_choices),
                _index_of(e, self.expand_choices),
                _index_of(d, self.depth_choices),
                _index_of(r, self.resolutions),
            ],
            axis=1,
        )

    def check_genome(self, genome: np.ndarray) -> np.ndarray:
        g = np.asarray(genome)
        if g.ndim == 1:
            g = g[None, :]
        if g.ndim != 2 or g.shape[1] != GENOME_LENGTH:
            raise ValueError(f"genome must have shape (n, {GENOME_LENGTH}), got {tuple(np.shape(genome))}")
        if not np.issubdtype(g.dtype, np.integer):
            if not np.all(np.equal(np.mod(g, 1), 0)):
                raise ValueError("genome must hold integer choice indices")
            g = g.astype(np.int64)
        upper = self.genome_upper
        bad = (g < 0) | (g >= upper)
        if bad.any():
            row, col = np.argwhere(bad)[0]
            raise ValueError(f"genome[{row}, {col}] = {g[row, col]} is out of range: gene {_gene_name(col)} allows indices 0..{upper[col] - 1}")
        return g.astype(np.int64, copy=False)

    def values(self, genome: np.ndarray) -> dict[str, np.ndarray]:
        """Vectorised decode to values: ks (n,20), e (n,20), d (n,5), r (n,), active (n,20) bool."""
        g = self.check_genome(genome)
        ks = np.asarray(self.kernel_choices)[g[:, :N_SLOTS]]
        e = np.asarray(self.expand_choices)[g[:, N_SLOTS : 2 * N_SLOTS]]
        d = np.asarray(self.depth_choices)[g[:, 2 * N_SLOTS : 2 * N_SLOTS + N_STAGES]]
        r = np.asarray(self.resolutions)[g[:, -1]]
        pos = np.tile(np.arange(MAX_DEPTH), N_STAGES)
        active = pos[None, :] < np.repeat(d, MAX_DEPTH, axis=1)
        return {"ks": ks, "e": e, "d": d, "r": r, "active": active}

    def decode(self, genome: np.ndarray) -> list[Arch]:
        v = self.values(genome)
        return [Arch(ks=k, e=e, d=d, r=r) for k, e, d, r in zip(v["ks"].tolist(), v["e"].tolist(), v["d"].tolist(), v["r"].tolist(), strict=True)]

    def canonical(self, genome: np.ndarray) -> np.ndarray:
        """Genome with the genes of inactive slots set to 0 (same networks, one spelling)."""
        return _canonical_genome(self.check_genome(genome))

    # --------------------------------------------------------------- sampling
    def sample(self, n: int, seed: int | None = 0) -> list[Arch]:
        return self.decode(self.sample_genomes(n, seed))

    def sample_genomes(self, n: int, seed: int | None = 0) -> np.ndarray:
        rng = np.random.default_rng(seed)
        return rng.integers(0, self.genome_upper, size=(n, GENOME_LENGTH))

    def largest(self) -> Arch:
        return Arch(
            ks=[max(self.kernel_choices)] * N_SLOTS,
            e=[max(self.expand_choices)] * N_SLOTS,
            d=[max(self.depth_choices)] * N_STAGES,
            r=max(self.resolutions),
        )

    def smallest(self) -> Arch:
        return Arch(
            ks=[min(self.kernel_choices)] * N_SLOTS,
            e=[min(self.expand_choices)] * N_SLOTS,
            d=[min(self.depth_choices)] * N_STAGES,
            r=min(self.resolutions),
        )

    def uniform(self, k: int, e: int, d: int, r: int | None = None) -> Arch:
        return self.validate(Arch(ks=[k] * N_SLOTS, e=[e] * N_SLOTS, d=[d] * N_STAGES, r=r or max(self.resolutions)))

    def describe(self, arch: Arch) -> list[dict]:
        """One row per active block, for tables and diagrams."""
        self.validate(arch)
        sizes = self.slot_sizes(arch.r)
        rows = []
        for i in arch.active_slots():
            slot = self.slots[i]
            rows.append(
                {
                    "stage": slot.stage + 1,
                    "block": slot.position + 1,
                    "kernel": arch.ks[i],
                    "expand": arch.e[i],
                    "in": slot.in_channels,
                    "out": slot.out_channels,
                    "mid": self.mid_channels(slot.in_channels, arch.e[i]),
                    "stride": slot.stride,
                    "size": f"{sizes[i][0]}->{sizes[i][1]}",
                    "se": slot.se,
                    "act": slot.act,
                }
            )
        return rows


def _index_of(values: np.ndarray, choices: tuple[int, ...]) -> np.ndarray:
    lookup = {c: i for i, c in enumerate(choices)}
    return np.vectorize(lookup.__getitem__, otypes=[np.int64])(values) if values.size else values.astype(np.int64)


def _gene_name(col: int) -> str:
    if col < N_SLOTS:
        return f"ks[{col}]"
    if col < 2 * N_SLOTS:
        return f"e[{col - N_SLOTS}]"
    if col < 2 * N_SLOTS + N_STAGES:
        return f"d[{col - 2 * N_SLOTS}]"
    return "r"


CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")

OFA_MBV3_W12 = SearchSpace(
    name="ofa-mbv3-w1.2",
    stem_channels=24,
    stem_stride=2,
    first_block_channels=24,
    stages=(
        StageSpec(32, 2, "relu", False),
        StageSpec(48, 2, "relu", True),
        StageSpec(96, 2, "hswish", False),
        StageSpec(136, 1, "hswish", True),
        StageSpec(192, 2, "hswish", True),
    ),
    final_expand=1152,
    feature_dim=1536,
    n_classes=1000,
    resolutions=(160, 176, 192, 208, 224),
    description="The published Once-for-All MobileNetV3 space (ofa_mbv3_d234_e346_k357_w1.2), ImageNet.",
    needs_official_files=True,
    trained_here=False,
    weights="OFA's official ImageNet checkpoint",
    published_weights="ofa_mbv3_d234_e346_k357_w1.2",
    summary="the published OFA space",
    data="imagenet-folder",
)

# The published width-1.0 sibling (ofa_mbv3_d234_e346_k357_w1.0): the same layout at
# OFA's base widths. OFA published an accuracy predictor and Note10 tables for w1.2 only,
# so this space has its checkpoint and nothing else from OFA.
OFA_MBV3_W10 = SearchSpace(
    name="ofa-mbv3-w1.0",
    stem_channels=16,
    stem_stride=2,
    first_block_channels=16,
    stages=(
        StageSpec(24, 2, "relu", False),
        StageSpec(40, 2, "relu", True),
        StageSpec(80, 2, "hswish", False),
        StageSpec(112, 1, "hswish", True),
        StageSpec(160, 2, "hswish", True),
    ),
    final_expand=960,
    feature_dim=1280,
    n_classes=1000,
    resolutions=(160, 176, 192, 208, 224),
    description="The published Once-for-All MobileNetV3 space at width 1.0 (ofa_mbv3_d234_e346_k357_w1.0), ImageNet.",
    needs_official_files=False,
    trained_here=False,
    weights="OFA's official ImageNet checkpoint",
    published_weights="ofa_mbv3_d234_e346_k357_w1.0",
    summary="the published OFA space at width 1.0 (no predictor or latency tables from OFA)",
    data="imagenet-folder",
)

# The flagship. Stage strides (2, 2, 1, 2, 1) keep total stride 8 (stages at
# 16, 8, 8, 4 and 4 px for a 32 px input) and spend the width where it is cheap
# on a CPU: the late, small maps (measured: widths 24-160 train at the same
# images/s as 24-128 did, while a second 16 px stage would cost 40 %). Sizing
# and training figures are in the README and docs/notes/flagship.md.
CIFAR10 = SearchSpace(
    name="cifar10",
    stem_channels=24,
    stem_stride=1,
    first_block_channels=16,
    stages=(
        StageSpec(24, 2, "relu", False),
        StageSpec(48, 2, "relu", True),
        StageSpec(80, 1, "hswish", False),
        StageSpec(128, 2, "hswish", True),
        StageSpec(160, 1, "hswish", True),
    ),
    final_expand=640,
    feature_dim=1024,
    n_classes=10,
    resolutions=(24, 28, 32),
    mean=(0.4914, 0.4822, 0.4465),
    std=(0.2470, 0.2435, 0.2616),
    description="OFA-MobileNetV3-style supernet for 32x32 CIFAR-10 images (total stride 8), trained by ofa-dash.",
    class_names=CIFAR10_CLASSES,
    needs_official_files=False,
    trained_here=True,
    weights="trained by ofa-dash",
    summary="the project's own supernet",
)

# The draft name the flagship was trained under (``training/cifar10-v2``): the
# training folder, its recipe tests and the promotion to ``cifar10`` refer to it.
CIFAR10_V2 = replace(CIFAR10, name="cifar10-v2", summary="the flagship's training name (its draft folder: training/cifar10-v2)")

SPACES: dict[str, SearchSpace] = {s.name: s for s in (CIFAR10, OFA_MBV3_W12, OFA_MBV3_W10)}
# OFA's published checkpoints by file name: the spaces whose weights ``download-official --weights`` fetches.
PUBLISHED_WEIGHTS: dict[str, SearchSpace] = {s.published_weights: s for s in SPACES.values() if s.published_weights}
# Spaces that commands accept by name but the dashboard does not list.
DRAFT_SPACES: dict[str, SearchSpace] = {s.name: s for s in (CIFAR10_V2,)}


def get_space(name: str) -> SearchSpace:
    try:
        return SPACES.get(name) or DRAFT_SPACES[name]
    except KeyError:
        raise ValueError(f"unknown space {name!r}; available spaces: {sorted(SPACES)}") from None
