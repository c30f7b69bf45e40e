"""What runs inside Ray workers: hash samples, harmonize + score one (method, sample) pair.

Each result is quantised to 8 bits *before* scoring, so the numbers equal `harness score` on the PNGs that
`--out` writes. Workers return rows (and PNG bytes when asked) to the driver, which alone writes the cache,
the predictions and MLflow — so the same code works when workers are on other machines.
"""

from __future__ import annotations

import os
import time
from typing import Any

import numpy as np

FAULT_ENV = "HARNESS_FAULT_ONCE"  # test hook: path of a marker file; the first worker to see it dies


def _maybe_die() -> None:
    marker = os.environ.get(FAULT_ENV)
    if marker and not os.path.exists(marker):
        with open(marker, "w") as f:
            f.write(str(os.getpid()))
        os._exit(1)  # a real crash of the worker process: Ray must retry the work elsewhere


def _node_id() -> str:
    try:
        import ray

        return ray.get_runtime_context().get_node_id()[:12]
    except Exception:  # noqa: BLE001 — outside Ray (direct calls in tests)
        return "local"


def hash_specs(specs: list) -> list[str]:
    """Content hashes of samples. Also warms the worker up: the heavy imports (torch, the metrics) happen
    here, in parallel on every worker, instead of inside the first timed harmonize+score task."""
    import harness.metrics  # noqa: F401
    import torch  # noqa: F401
    from harness.data.suites import spec_content_hash

    return [spec_content_hash(s) for s in specs]


def with_reference(sample, mode: str):
    """`--reference auto`: replace the user's reference region by the automatic one (iph/auto_reference.py)."""
    if mode == "given":
        return sample
    import dataclasses

    from iph.auto_reference import auto_reference

    return dataclasses.replace(sample, ref_mask=auto_reference(sample.composite, sample.fg_mask),
                               meta={**sample.meta, "reference": "auto"})


def process(method, spec, key: str, resolution: str, want_png: bool, reference: str = "given") -> dict[str, Any]:
    """Harmonize one sample with a built method, score it; returns {key, row, png?}."""
    from harness.data.io import png_bytes, to_uint8
    from harness.data.suites import load_spec
    from harness.scoring import score_prediction

    _maybe_die()
    t0 = time.perf_counter()
    sample = with_reference(load_spec(spec), reference)
    out = method.harmonize(sample)
    seconds = time.perf_counter() - t0
    out8 = to_uint8(out)
    row = score_prediction(out8.astype(np.float32) / 255.0, sample, resolution)
    png = png_bytes(out8) if want_png else None
    row.update({"method": method.spec.label, "seconds": seconds, "node": _node_id(),
                "worker_seconds": time.perf_counter() - t0})
    return {"key": key, "row": row, "png": png}


def run_task(method_spec, spec, key: str, resolution: str, want_png: bool, reference: str = "given") -> dict[str, Any]:
    """Stateless Ray task (classical methods): build the method, process one sample."""
    import torch

    torch.set_num_threads(1)
    return process(method_spec.build(), spec, key, resolution, want_png, reference)


class LearnedWorker:
    """Ray actor for learned methods: serves any of them, building (loading the weights of) each method once
    and keeping it for the next samples."""

    def __init__(self) -> None:
        import torch

        if not torch.cuda.is_available():
            torch.set_num_threads(1)  # one core per actor; Ray gives each actor one CPU
        self.methods: dict = {}

    def process(self, method_spec, spec, key: str, resolution: str, want_png: bool,
                reference: str = "given") -> dict[str, Any]:
        method = self.methods.get(method_spec)
        if method is None:
            method = self.methods[method_spec] = method_spec.build()
        return process(method, spec, key, resolution, want_png, reference)
