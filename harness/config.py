"""One config object shared by the CLI and the Python API (lm-evaluation-harness style).

    from harness.config import BenchmarkConfig
    from harness.engine import run_benchmark
    result = run_benchmark(BenchmarkConfig(suite="sample", methods=["composite", "reinhard"], limit=4))
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class BenchmarkConfig:
    suite: str = "portraittest"            # a registered suite (`harness list suites`)
    data_root: str | None = None           # where the suite's data lives; portraittest also reads $HARNESS_DATA
    methods: list[str] | None = None       # method specs ("name" or "name:key=value,..."); None = all available
    resolution: str = "full"               # "full" (native resolution) or "256" (the published protocol)
    reference: str = "given"               # "given" (the suite's reference regions) or "auto" (picked for you)
    limit: float | None = None             # first N samples, or a fraction < 1 — for smoke runs
    out: str | None = None                 # write predictions DIR/<method>/<id>.png and DIR/per_image.csv
    resume: bool = False                   # reuse cached per-image results; compute only what is missing
    ray_address: str | None = None         # a Ray cluster ("auto", "host:port"); else $RAY_ADDRESS; else local
    num_cpus: int | None = None            # local Ray only: CPUs to use (default: all available)
    tracking_uri: str | None = None        # MLflow store; else $MLFLOW_TRACKING_URI; else sqlite ./mlflow.db
    mlflow: bool = True                    # log to MLflow
    seed: int = 0                          # bootstrap resampling seed
    n_boot: int = 2000                     # bootstrap resamples for CIs and paired comparisons
    cache_dir: str = field(default_factory=lambda: os.environ.get("HARNESS_CACHE", ".harness-cache"))
    grid_samples: int = 4                  # samples per method shown as an image grid in MLflow
    progress: bool = True                  # progress bar on stderr

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
