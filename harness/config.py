"""Every config object of the harness, shared by the CLI and the Python API (lm-evaluation-harness style).

    from harness.config import BenchmarkConfig
    from harness.engine.run import run_benchmark
    result = run_benchmark(BenchmarkConfig(suite="sample", methods=["composite", "reinhard"], limit=4))

The CLI reads its defaults from these fields (`default_of`), and every value is checked here, once, when a
config is made — the same one-line errors whether it came from a flag or from Python.
"""

from __future__ import annotations

import math
import os
from dataclasses import MISSING, asdict, dataclass, field, fields
from typing import Any

from harness.errors import HarnessError, UnknownNameError

# Evaluation protocols (harness/scoring/score.py, README "Which protocol"): the harness's own, and exact
# reproductions of the two scripts that published iHarmony4 numbers come from.
PROTOCOLS = ("harness", "bcmi", "idih")
RESOLUTIONS = ("full", "256")  # the harness protocol only: native resolution, or everything resized to 256²
PEER_SIZE = 256  # the working size of the bcmi and idih protocols (both scripts resize everything to 256²)
REFERENCE_MODES = ("given", "auto")  # the suite's reference regions, or picked automatically
STAGE_LR = {1: 1e-4, 2: 1e-5, 3: 1e-6}  # the paper's learning rate per training stage


def default_of(cls: type, name: str) -> Any:
    """The default of field `name` of config dataclass `cls` (what the CLI shows and uses)."""
    for f in fields(cls):
        if f.name == name:
            if f.default is not MISSING:
                return f.default
            if f.default_factory is not MISSING:
                return f.default_factory()
            raise KeyError(f"{cls.__name__}.{name} has no default")
    raise KeyError(f"{cls.__name__} has no field {name}")


def check_choice(option: str, value: Any, choices: tuple) -> None:
    if value not in choices:
        raise HarnessError(f"{option} must be {' or '.join(map(str, choices))}, not '{value}'")


def check_protocol(protocol: Any, resolution: Any) -> str:
    """Check `--protocol` / `--resolution` together; returns the effective resolution. `resolution` None means
    the protocol's own: "full" for harness, "256" for bcmi and idih (their scripts fix it: asking them for
    "full" is an error, not silently ignored)."""
    check_choice("--protocol", protocol, PROTOCOLS)
    if resolution is None:
        return "full" if protocol == "harness" else str(PEER_SIZE)
    check_choice("--resolution", resolution, RESOLUTIONS)
    if protocol != "harness" and resolution != str(PEER_SIZE):
        raise HarnessError(f"--protocol {protocol} scores at {PEER_SIZE}×{PEER_SIZE}, as its script does; "
                           f"--resolution {resolution} applies to --protocol harness only")
    return resolution


def protocol_key(protocol: str, resolution: str) -> str:
    """The one string that names how rows were scored ("harness:full", "harness:256", "bcmi:256",
    "idih:256"): shown in tables, recorded in JSON and MLflow, and part of every cache key."""
    return f"{protocol}:{resolution}"


@dataclass(kw_only=True)
class ProtocolOptions:
    """`--protocol` and `--resolution`, shared by every command that scores (score, run-benchmark, sweeps).
    Keyword-only, so commands may put required positional fields first. After `check_protocol_options()`
    `resolution` is concrete ("full" or "256")."""

    protocol: str = "harness"              # harness (ours), bcmi (iHarmony4 evaluation.py), idih (iDIH)
    resolution: str | None = None          # harness only: "full" or "256"; None = the protocol's own

    def check_protocol_options(self) -> None:
        self.resolution = check_protocol(self.protocol, self.resolution)

    @property
    def protocol_key(self) -> str:
        return protocol_key(self.protocol, str(self.resolution))


def check_limit(limit: Any) -> int | float | None:
    """`--limit`: None, a positive whole count, or a fraction in (0, 1). Anything else is refused (a limit of
    0 or −3 used to run one sample silently)."""
    if limit is None:
        return None
    if isinstance(limit, bool) or not isinstance(limit, (int, float)) or not math.isfinite(limit):
        raise HarnessError(f"--limit must be a positive count or a fraction in (0, 1), not {limit!r}")
    if limit >= 1:
        if float(limit).is_integer():
            return int(limit)
        raise HarnessError(f"--limit {limit}: a count must be a whole number (or give a fraction in (0, 1))")
    if limit > 0:
        return float(limit)
    raise HarnessError(f"--limit must be a positive count or a fraction in (0, 1), not {limit}")


def parse_limit(text: str) -> int | float:
    """argparse type for --limit."""
    try:
        value = float(text)
    except ValueError:
        raise HarnessError(f"--limit must be a positive count or a fraction in (0, 1), not '{text}'") from None
    return check_limit(value)


CANDIDATE_KINDS = ("suite", "background", "auto", "boxes")


def parse_candidates(text: str) -> list[str]:
    """`--references suite,background,auto,boxes:K` → the list, checked (unknown kinds: did-you-mean)."""
    out = []
    for item in filter(None, (t.strip() for t in text.split(","))):
        kind, _, arg = item.partition(":")
        if kind not in CANDIDATE_KINDS:
            raise UnknownNameError("reference candidate", kind, list(CANDIDATE_KINDS))
        if kind == "boxes" and not (arg.isdigit() and 1 <= int(arg) <= 64):
            raise HarnessError(f"--references {item}: boxes takes a count, e.g. boxes:4")
        if kind != "boxes" and arg:
            raise HarnessError(f"--references {item}: '{kind}' takes no argument")
        out.append(item)
    if not out:
        raise HarnessError("--references: no candidate given")
    return out


def check_positive(option: str, value: int, minimum: int = 1) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise HarnessError(f"{option} must be an integer ≥ {minimum}, not {value!r}")


def cache_dir_default() -> str:
    return os.environ.get("HARNESS_CACHE", ".harness-cache")


@dataclass
class BenchmarkConfig(ProtocolOptions):
    """`harness run-benchmark`."""

    suite: str = "portraittest"            # a registered suite (`harness list suites`)
    data_root: str | None = None           # where the suite's data lives; portraittest also reads $HARNESS_DATA
    methods: list[str] | None = None       # method specs ("name" or "name:key=value,..."); None = all available
    reference: str = "given"               # "given" (the suite's reference regions) or "auto" (picked for you)
    limit: int | float | None = None       # first N samples, or a fraction in (0, 1) — for smoke runs
    out: str | None = None                 # write predictions DIR/<method>/<id>.png and DIR/per_image.csv
    resume: bool = False                   # reuse cached per-image results; compute only what is missing
    ray_address: str | None = None         # a Ray cluster ("auto", "host:port"); else $RAY_ADDRESS; else local
    num_cpus: int | None = None            # local Ray only: CPUs to use (default: all available)
    tracking_uri: str | None = None        # MLflow store; else $MLFLOW_TRACKING_URI; else sqlite ./mlflow.db
    mlflow: bool = True                    # log to MLflow
    seed: int = 0                          # bootstrap resampling seed
    n_boot: int = 2000                     # bootstrap resamples for CIs and paired comparisons
    cache_dir: str = field(default_factory=cache_dir_default)  # per-image results, logs
    grid_samples: int = 4                  # samples per method shown as an image grid in MLflow
    progress: bool = True                  # progress bar on stderr

    def __post_init__(self) -> None:
        self.check()

    def check(self) -> None:
        self.check_protocol_options()
        check_choice("--reference", self.reference, REFERENCE_MODES)
        self.limit = check_limit(self.limit)
        check_positive("--bootstrap", self.n_boot)
        if self.num_cpus is not None:
            check_positive("--num-cpus", self.num_cpus)
        if self.methods is not None and not self.methods:
            raise HarnessError("--methods: no methods given")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class RobustnessConfig(ProtocolOptions):
    """`harness run-robustness`: every method with every candidate reference region of every sample."""

    suite: str = "relit"
    data_root: str | None = None
    methods: list[str] | None = None
    references: str = "suite,background,auto,boxes:4"  # candidate regions (harness/data/references.py)
    limit: int | float | None = None
    resume: bool = False
    ray_address: str | None = None
    num_cpus: int | None = None
    tracking_uri: str | None = None
    mlflow: bool = True
    seed: int = 0
    n_boot: int = 2000
    cache_dir: str = field(default_factory=cache_dir_default)
    grid_samples: int = 3                  # samples shown as a figure (outputs side by side per region)
    progress: bool = True

    def __post_init__(self) -> None:
        self.check()

    def check(self) -> None:
        self.check_protocol_options()
        self.limit = check_limit(self.limit)
        check_positive("--bootstrap", self.n_boot)
        parse_candidates(self.references)
        if self.num_cpus is not None:
            check_positive("--num-cpus", self.num_cpus)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class ScoreConfig(ProtocolOptions):
    """`harness score`: saved predictions in PRED_DIR (harness/data/predictions.py) against a suite."""

    suite: str
    pred_dir: str
    data_root: str | None = None
    limit: int | float | None = None
    seed: int = 0                          # bootstrap seed (CIs of the means and of the per-subset rows)
    n_boot: int = 2000                     # bootstrap resamples

    def __post_init__(self) -> None:
        self.check_protocol_options()
        self.limit = check_limit(self.limit)
        check_positive("--bootstrap", self.n_boot)


@dataclass
class VotesConfig:
    """`harness analyze-votes`."""

    csv: str
    kind: str | None = None                # "ab" or "rank"; None = read from the header
    ties: str = "split"                    # A/B ties: half a vote each way, or "drop"
    bootstrap: int = 1000                  # subject-bootstrap resamples (0 = none)
    seed: int = 0
    figure: str | None = None              # write the figure here (PNG)
    tracking_uri: str | None = None
    mlflow: bool = True
    prior: str = "none"                    # Thurstone: maximum likelihood, or pwcmp's "gaussian" distance prior
    experiment: str | None = None          # MLflow experiment; None = the study's benchmark run's, else
                                           # "user-studies"

    def __post_init__(self) -> None:
        if self.kind is not None:
            check_choice("--kind", self.kind, ("ab", "rank"))
        check_choice("--ties", self.ties, ("split", "drop"))
        check_choice("--prior", self.prior, ("none", "gaussian"))
        check_positive("--bootstrap", self.bootstrap, minimum=0)


DESIGNS = ("ab", "rank")  # user-study designs (studies/collect)


@dataclass
class CollectConfig:
    """`harness collect-votes`: build a user study from a benchmark run or prediction folders, and serve it."""

    out: str                               # the study directory (built atomically; an existing one is resumed)
    run: str | None = None                 # a run-benchmark MLflow run id, or a run-benchmark --out directory
    pred_dirs: str | None = None           # NAME=DIR,NAME=DIR: one folder of <id>.png per method
    suite: str | None = None               # the suite the outputs were made on (a --run records its own)
    data_root: str | None = None
    limit: int | float | None = None       # the suite's first N samples (a --run records its own)
    methods: str | None = None             # a subset of the run's methods, in this order (default: all)
    design: str = "ab"                     # "ab" (pairs, with ties) or "rank" (rank 1–3 of all outputs)
    images: int = 15                       # images in the study (a seeded sample of the suite)
    subjects: int = 30                     # participants planned (the design is balanced over them)
    trials: int | None = None              # trials per participant; None = complete (every pair, every image)
    repeats: int | None = None             # repeated trials per participant; None = min(3, trials // 5)
    seed: int = 0                          # image sample, design, presentation order and sides
    host: str = "127.0.0.1"                # bind address; anything else is reachable from other machines
    port: int = 5050                       # 0 = any free port
    tracking_uri: str | None = None        # MLflow store holding --run

    def __post_init__(self) -> None:
        check_choice("--design", self.design, DESIGNS)
        self.limit = check_limit(self.limit)
        check_positive("--images", self.images)
        check_positive("--subjects", self.subjects)
        if self.trials is not None:
            check_positive("--trials", self.trials)
        if self.repeats is not None:
            check_positive("--repeats", self.repeats, minimum=0)
        if isinstance(self.port, bool) or not isinstance(self.port, int) or not 0 <= self.port <= 65535:
            raise HarnessError(f"--port must be 0 (any free port) or 1–65535, not {self.port!r}")
        if self.run is not None and self.pred_dirs is not None:
            raise HarnessError("give either --run or --pred-dirs, not both")
        if self.pred_dirs is not None and not self.suite:
            raise HarnessError("--pred-dirs needs --suite: the suite the predictions were made on (for the "
                               "composites)")

    @property
    def builds(self) -> bool:
        """Whether sources were given (else only an existing study can be resumed)."""
        return self.run is not None or self.pred_dirs is not None


@dataclass
class IntHarmonyConfig:
    """`harness build-intharmony`: a harmonization set from instance annotations (harness/data/intharmony.py)."""

    out: str
    annotations: str | None = None         # COCO instances JSON; None = the bundled file of `split`
    images: str | None = None              # the images the JSON names; None = the bundled photos
    mhp: str | None = None                 # an MHP root instead of COCO (one person per parsing mask)
    split: str = "test"                    # which bundled file / MHP split
    seed: int = 0
    per_image: int = 1                     # samples per image (each a new foreground, reference, augmentation)
    categories: list[str] | None = None    # only instances of these categories (e.g. ["person"]: portraits)
    min_area: float = 0.01                 # smallest usable instance, as a fraction of the image
    luts: str | None = None                # a folder of .cube files for the LUT augmentation (else random LUTs)
    ray_address: str | None = None
    num_cpus: int | None = None
    progress: bool = True

    def __post_init__(self) -> None:
        check_choice("--split", self.split, ("train", "test", "val"))
        check_positive("--per-image", self.per_image)
        if not 0.0 <= self.min_area < 1.0:
            raise HarnessError(f"--min-area must be a fraction in [0, 1), not {self.min_area}")
        if self.mhp and (self.annotations or self.images):
            raise HarnessError("--mhp replaces --annotations/--images: give one source")
        if bool(self.annotations) != bool(self.images):
            raise HarnessError("--annotations and --images go together (leave both out for the bundled file)")
        if self.categories is not None and not self.categories:
            raise HarnessError("--categories: no category given")


@dataclass
class TrainConfig:
    """`harness train`: one stage of one learned method; picklable (sent to Ray Train workers as a dict)."""

    method: str
    stage: int = 1
    size: str = "tiny"                     # model size: tiny, small or full
    steps: int = 1000
    batch_size: int = 4                    # per worker
    train_size: int = 128                  # square training crops, pixels
    lr: float | None = None                # None = STAGE_LR[stage]
    workers: int = 2
    gpus_per_worker: float = 0.0
    cpus_per_worker: float = 1.0
    checkpoint_every: int = 200
    keep_checkpoints: int = 2              # periodic checkpoints kept on disk (the final one is always kept)
    log_every: int = 10
    validate_every: int = 0                # validate on held-out relit pairs every N steps (0: only at the end)
    init: str | None = None                # previous stage's checkpoint: a path or models:/NAME@ALIAS
    resume: bool = False
    out: str = "runs/train"
    tracking_uri: str | None = None
    mlflow: bool = True
    seed: int = 0
    loss: str = "all"                      # IPH loss preset (iph.losses.LOSS_PRESETS), for ablations
    loss_options: dict[str, Any] = field(default_factory=dict)  # LossConfig fields replaced on the preset
    suite: str | None = None               # None = a self-supervised generator (`data`)
    data_root: str | None = None
    data: str = "relit"                    # the generator: "relit" (harness/train/relit.py) or "perturb"
    pairs: str = "both"                    # relit pairs: "regions", "lights" or "both" (harness/train/relit.py)
    ray_address: str | None = None
    export: str | None = None              # also write the final checkpoint here (e.g. iph/checkpoints/iph)
    overrides: dict[str, Any] = field(default_factory=dict)  # model config fields

    def __post_init__(self) -> None:
        if self.stage not in STAGE_LR:
            raise HarnessError(f"--stage must be 1, 2 or 3, got {self.stage}")
        for name in ("steps", "batch_size", "workers", "checkpoint_every", "log_every", "train_size"):
            check_positive(f"--{name.replace('_', '-')}", getattr(self, name))
        if self.train_size < 32:
            raise HarnessError(f"--train-size must be at least 32 px, got {self.train_size}")
        if self.gpus_per_worker < 0 or self.learning_rate <= 0:
            raise HarnessError("--gpus-per-worker must be ≥ 0 and --lr > 0")
        if self.data_root and not self.suite:
            raise HarnessError("--data-root needs --suite (e.g. --suite folder)")
        check_choice("--data", self.data, ("relit", "perturb"))
        check_choice("--pairs", self.pairs, ("regions", "lights", "both"))

    @property
    def learning_rate(self) -> float:
        return float(self.lr) if self.lr is not None else STAGE_LR[self.stage]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
