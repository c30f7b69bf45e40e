"""The config of the experiment commands (`run-ablation`, `sweep`), shared by the CLI and the Python API:

    from harness.experiments.config import ExperimentConfig
    from harness.experiments.run import run_experiment
    result = run_experiment(ExperimentConfig(suite="sample", budget="smoke", seeds=1, limit=2))

It lives beside the experiments rather than in harness/config.py (which holds the other commands' configs) to
keep that module under its size; it uses the same checks.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from harness.config import cache_dir_default, check_choice, check_limit, check_positive, parse_candidates
from harness.errors import HarnessError

COMMANDS = ("run-ablation", "sweep")


@dataclass
class ExperimentConfig:
    command: str = "run-ablation"          # "run-ablation" (Table 3's rows) or "sweep" (a grid)
    suite: str = "portraittest"            # the evaluation suite (never used for training)
    data_root: str | None = None
    budget: str = "cpu"                    # harness/experiments/budgets.py: smoke, cpu or gpu
    budget_overrides: dict[str, str] = field(default_factory=dict)  # --set KEY=VALUE on the budget
    seeds: int = 3                         # seeds 0 … N−1, each arm trained once per seed
    variants: list[str] | None = None      # run-ablation: a subset of Table 3's rows (None = all five)
    method: str = "iph"                    # sweep: the learned method trained
    loss: str = "all"                      # sweep: the IPH loss preset the grid starts from
    grid: list[tuple[str, list[str]]] = field(default_factory=list)  # sweep: [(key, [values])]
    loss_options: dict[str, str] = field(default_factory=dict)  # IPH loss options for every arm
    limit: int | float | None = None       # evaluate on the suite's first N samples (smoke runs)
    references: str | None = "suite,background"  # robustness sweep candidates; None = no robustness sweep
    out: str | None = None                 # the experiment directory (trials, Tune state); default runs/…
    resume: bool = False                   # continue an interrupted experiment in `out` (Tuner.restore)
    ray_address: str | None = None
    num_cpus: int | None = None
    tracking_uri: str | None = None
    mlflow: bool = True
    seed: int = 0                          # bootstrap seed
    n_boot: int = 2000
    cache_dir: str = field(default_factory=cache_dir_default)
    progress: bool = True

    def __post_init__(self) -> None:
        check_choice("command", self.command, COMMANDS)
        check_positive("--seeds", self.seeds)
        check_positive("--bootstrap", self.n_boot)
        self.limit = check_limit(self.limit)
        if self.num_cpus is not None:
            check_positive("--num-cpus", self.num_cpus)
        if self.references:
            parse_candidates(self.references)
        if self.command == "sweep" and self.variants is not None:
            raise HarnessError("--variants belongs to run-ablation; a sweep's arms come from --grid")
        if self.command == "run-ablation" and self.grid:
            raise HarnessError("--grid belongs to sweep; run-ablation's arms are Table 3's rows")
        if self.out is None:
            self.out = str(Path("runs") / f"{self.command}-{self.suite}-{self.budget}")

    @property
    def experiment_name(self) -> str:
        """The MLflow experiment: `<suite>-ablation` or `<suite>-sweep`."""
        return f"{self.suite}-{'ablation' if self.command == 'run-ablation' else 'sweep'}"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
