"""Configs of the commands that train: `harness train` (one stage of one learned method on Ray Train) and the
experiments that retrain (`run-ablation`, `sweep`: every arm × seed on Ray Tune, then evaluated)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.data.candidates import check_candidates
from harness.errors import HarnessError
from harness.options import (COMPUTE, DATA, RESULTS, RUN, TRAINING, BootstrapOptions, CacheOptions,
                             ComputeOptions, StorageOptions, SuiteOptions, TrackingOptions, comma_list, key_values,
                             number_above, option, positive, redefault)

STAGE_LR = {1: 1e-4, 2: 1e-5, 3: 1e-6}  # the paper's learning rate per training stage
EXPERIMENT_COMMANDS = ("run-ablation", "sweep")


def _stage(flag: str, value: Any) -> int:
    if value not in STAGE_LR:
        raise HarnessError(f"{flag} must be 1, 2 or 3, got {value}")
    return value


def _at_least_32(flag: str, value: Any) -> int:
    positive(flag, value)
    if value < 32:
        raise HarnessError(f"{flag} must be at least 32 px, got {value}")
    return value


def _loss_options(help: str) -> Any:
    """`--loss-option KEY=VALUE` (repeatable): IPH LossConfig fields replaced on the loss preset."""
    return option(factory=dict, group=RUN, flag="--loss-option", repeat=True, parse=key_values("--loss-option"),
                  metavar="KEY=VALUE", help=help)


@dataclass(kw_only=True)
class TrainConfig(StorageOptions, TrackingOptions):
    """`harness train`: one stage of one learned method; picklable (sent to Ray Train workers as a dict)."""

    method: str = option(group=RUN, help="the learned method to train (`harness list methods`)")
    stage: int = option(1, group=RUN, check=_stage, help="1 (background as the reference), 2 (a reference "
                                                         "region), 3 (fine-tuning)")
    size: str = option("tiny", group=RUN, help="model size: a key of the method's SIZES (tiny: tests, small: the "
                                               "shipped checkpoints, full: the published network)")
    loss: str = option("all", group=RUN, help="IPH loss preset (iph/losses.py LOSS_PRESETS), for ablations")
    loss_options: dict[str, Any] = _loss_options("IPH: replace one LossConfig field of the preset, e.g. "
                                                 "harm_per_foreground=true (repeatable)")
    init: str | None = option(None, group=RUN, path=True,
                              help="start from this checkpoint (a path or models:/NAME@stageK)")
    suite: str | None = redefault(SuiteOptions, "suite", None, group=DATA,
                                  help="train on this suite's samples instead of a generator")
    data_root: str | None = redefault(SuiteOptions, "data_root", None, group=DATA)
    data: str = option("relit", group=DATA, choices=("relit", "perturb"),
                       help="the generator: relit scenes where the reference is the only source of the target "
                            "light (harness/train/relit.py), or perturbed foregrounds (harness/train/perturb.py)")
    pairs: str = option("both", group=DATA, choices=("regions", "lights", "both"),
                        help="relit pairs: two regions of one composite, one region under two lights, or both "
                             "alternately")
    resolution: int = option(128, group=DATA, check=_at_least_32, help="square training crops, pixels a side")
    seed: int = option(0, group=DATA, help="data and initialisation seed")
    steps: int = option(1000, group=TRAINING, check=positive, help="optimizer steps")
    batch_size: int = option(4, group=TRAINING, check=positive, help="images per worker per step")
    lr: float | None = option(None, group=TRAINING, check=number_above(0), help="learning rate",
                              shown="1e-4, 1e-5, 1e-6 for stages 1, 2, 3")
    checkpoint_every: int = option(200, group=TRAINING, check=positive, help="steps between checkpoints")
    keep_checkpoints: int = option(2, group=TRAINING, check=positive, help="periodic checkpoints kept in storage "
                                                                          "(the final one is always kept)")
    log_every: int = option(10, group=TRAINING, check=positive, help="steps between logged losses")
    validate_every: int = option(0, group=TRAINING, help="steps between validations on held-out relit pairs of "
                                                         "the training photos; 0 = at the end only")
    workers: int = option(2, group=COMPUTE, check=positive, help="Ray Train workers")
    gpus_per_worker: float = option(0.0, group=COMPUTE, check=number_above(0, inclusive=True),
                                    help="GPUs per worker (0 = CPU, gloo)")
    cpus_per_worker: float = option(1.0, group=COMPUTE, check=number_above(0), help="CPUs per worker")
    ray_address: str | None = redefault(ComputeOptions, "ray_address", None)
    progress: bool = redefault(ComputeOptions, "progress", True, help="no progress bar")
    out: str | None = option(None, group=RESULTS, path=True, help="output directory",
                             shown="runs/<method>-stage<K>")
    resume: bool = option(False, group=RESULTS, help="continue from the latest checkpoint in --storage (or --out)")
    export: str | None = option(None, group=RESULTS, metavar="PATH", path=True,
                                help="also copy the final checkpoint to PATH(.safetensors/.json)")
    overrides: dict[str, Any] = option(factory=dict, cli=False, help="model config fields")

    def _check(self) -> None:
        if self.data_root and not self.suite:
            raise HarnessError("--data-root needs --suite (e.g. --suite folder)")
        if self.out is None:
            self.out = f"runs/{self.method}-stage{self.stage}"

    @property
    def learning_rate(self) -> float:
        return float(self.lr) if self.lr is not None else STAGE_LR[self.stage]


def parse_grid(items: list[str]) -> list[tuple[str, list[str]]]:
    """`["alpha=0.05,0.1", "margin=0.1,0.3"]` → [("alpha", ["0.05", "0.1"]), ("margin", ["0.1", "0.3"])]; which
    keys exist is checked when the arms are made (harness/experiments/arms.py)."""
    out: list[tuple[str, list[str]]] = []
    for item in items:
        key, eq, values = item.partition("=")
        key = key.strip()
        vals = [v.strip() for v in values.split(",") if v.strip()]
        if not eq or not key or not vals:
            raise HarnessError(f"--grid '{item}' is not KEY=V1,V2,…")
        if key in (k for k, _ in out):
            raise HarnessError(f"--grid {key} given twice")
        out.append((key, vals))
    return out


def _references(text: str) -> str | None:
    return None if text.strip().lower() == "none" else text


@dataclass(kw_only=True)
class ExperimentConfig(BootstrapOptions, ComputeOptions, StorageOptions, TrackingOptions, CacheOptions,
                       SuiteOptions):
    """`run-ablation` (Table 3's rows) and `sweep` (a grid): each arm × seed trained on Ray Tune, evaluated.

        from harness.config import ExperimentConfig
        from harness.experiments.run import run_experiment
        result = run_experiment(ExperimentConfig(suite="sample", budget="smoke", seeds=1, limit=2))
    """

    command: str = option("run-ablation", cli=False, choices=EXPERIMENT_COMMANDS,
                          help="run-ablation (Table 3's rows) or sweep (a grid)")
    suite: str = redefault(SuiteOptions, "suite", "portraittest", help="evaluation suite — never trained on")
    budget: str = option("cpu", group=RUN, help="training budget: smoke (tests), cpu (minutes per trial on a CPU "
                                                "core), gpu (the paper's size) — harness/experiments/budgets.py")
    budget_overrides: dict[str, str] = option(factory=dict, group=RUN, flag="--set", repeat=True,
                                              parse=key_values("--set"), metavar="KEY=VALUE",
                                              help="override one budget field, e.g. steps=400,200 or lr=3e-4 or "
                                                   "size=tiny (repeatable)")
    seeds: int = option(3, group=RUN, check=positive, help="train every variant with seeds 0…N−1")
    variants: list[str] | None = option(None, group=RUN, parse=comma_list,
                                        help="run-ablation: comma-separated subset of Table 3's rows: hnet, "
                                             "style, style+highlight, style+highlight+midtone, all",
                                        shown="all five, in the table's order")
    method: str = option("iph", group=RUN, help="sweep: the learned method to train")
    loss: str = option("all", group=RUN, help="sweep, IPH: the loss preset the grid starts from")
    grid: list[tuple[str, list[str]]] = option(factory=list, group=RUN, repeat=True, parse=parse_grid,
                                               metavar="KEY=V1,V2,…", help="sweep: one axis of the grid "
                                                                         "(repeatable; the grid is their product)")
    loss_options: dict[str, str] = _loss_options("IPH loss option applied to every variant, e.g. "
                                                 "harm_per_foreground=true (repeatable)")
    references: str | None = option("suite,background", group=RUN, parse=_references, check=check_candidates,
                                    help="candidate regions of the robustness run, as run-robustness; none = no "
                                         "robustness run")
    out: str | None = option(None, group=RESULTS, path=True, help="experiment directory: trials, checkpoints, "
                                                                  "Tune state",
                             shown="runs/<command>-<suite>-<budget>")
    resume: bool = option(False, group=RESULTS, help="continue the interrupted experiment in --out: finished "
                                                     "trials are not rerun, unfinished ones continue")

    def _check(self) -> None:
        if self.command == "sweep" and self.variants is not None:
            raise HarnessError("--variants belongs to run-ablation; a sweep's arms come from --grid")
        if self.command == "run-ablation" and self.grid:
            raise HarnessError("--grid belongs to sweep; run-ablation's arms are Table 3's rows")
        if self.variants is not None and not self.variants:
            raise HarnessError("--variants: no variant given")
        if self.out is None:
            self.out = str(Path("runs") / f"{self.command}-{self.suite}-{self.budget}")

    @property
    def experiment_name(self) -> str:
        """The MLflow experiment: `<suite>-ablation` or `<suite>-sweep`."""
        return f"{self.suite}-{'ablation' if self.command == 'run-ablation' else 'sweep'}"
