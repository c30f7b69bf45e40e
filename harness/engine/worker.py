"""What runs inside Ray workers: hash samples; harmonize + score one sample with every method it still needs.

A unit of work is one sample and the methods to run on it: the sample is decoded once and `--reference auto`
computed once, however many methods use them. Each result is quantised to 8 bits *before* scoring, so the
numbers equal `harness score` on the PNGs that `--out` writes. Workers return rows (and PNG bytes when asked)
to the driver, which alone writes the cache, the predictions and MLflow — so the same code works when workers
are on other machines.
"""

from __future__ import annotations

import os
import time
from typing import Any, Callable

import numpy as np

from harness.errors import InputError

FAULT_DIR_ENV = "HARNESS_FAULT_DIR"  # test hook: a worker that finds DIR/arm renames it to DIR/fired and dies


def _maybe_die() -> None:
    fault_dir = os.environ.get(FAULT_DIR_ENV)
    if fault_dir:
        try:
            os.rename(os.path.join(fault_dir, "arm"), os.path.join(fault_dir, "fired"))  # atomic: one winner
        except FileNotFoundError:
            return
        os._exit(1)  # a real crash of the worker process: Ray must retry the work elsewhere


def _node_id() -> str:
    import ray

    # get_runtime_context() would start a whole Ray instance when called outside one (direct calls, tests)
    return ray.get_runtime_context().get_node_id()[:12] if ray.is_initialized() else "local"


def hash_specs(specs: list) -> list[str]:
    """Content hashes of samples. Also warms the worker up: the heavy imports (torch, the metrics) happen
    here, in parallel on every worker, instead of inside the first timed unit."""
    import torch  # noqa: F401

    import harness.scoring.metrics  # noqa: F401
    from harness.data.suites import spec_content_hash

    return [spec_content_hash(s) for s in specs]


def with_auto_reference(sample):
    """`--reference auto`: the reference region replaced by the automatic one (harness/data/references.py)."""
    import dataclasses

    from harness.data.references import auto_reference

    return dataclasses.replace(sample, ref_mask=auto_reference(sample.composite, sample.fg_mask),
                               meta={**sample.meta, "reference": "auto"})


def checked_output(out: Any, sample, label: str) -> np.ndarray:
    """A method's result as float32 H×W×3 in [0, 1]; anything else is an error naming the method."""
    out = np.asarray(out)
    if out.dtype == np.uint8:
        out = out.astype(np.float32) / 255.0
    if out.shape != sample.composite.shape:
        raise InputError(f"method {label}", f"returned shape {out.shape} for sample '{sample.id}', "
                                            f"expected {sample.composite.shape}")
    out = out.astype(np.float32, copy=False)
    if not np.isfinite(out).all() or out.min() < -1e-6 or out.max() > 1 + 1e-6:
        raise InputError(f"method {label}", f"returned values outside [0, 1] (or not finite) for '{sample.id}'")
    return np.clip(out, 0.0, 1.0)


def run_unit(spec, items: list[tuple], protocol: str, reference: str, build: Callable) -> list[dict[str, Any]]:
    """Harmonize and score one sample with every (method spec, cache key, want PNG) in `items`; `build(spec)`
    returns the built method; `protocol` is a protocol key ("harness:full", "bcmi:256", …: harness/config.py).
    Returns one {key, row, png} per item."""
    from harness.data.io import png_bytes, to_uint8
    from harness.data.suites import load_spec
    from harness.scoring.score import score_prediction

    _maybe_die()
    name, _, resolution = protocol.partition(":")
    t0 = time.perf_counter()
    sample = load_spec(spec)
    if reference == "auto":
        sample = with_auto_reference(sample)
    shared = (time.perf_counter() - t0) / max(1, len(items))  # decoding, auto reference: split over methods
    node = _node_id()
    results = []
    for method_spec, key, want_png in items:
        t1 = time.perf_counter()
        out = checked_output(build(method_spec).harmonize(sample), sample, method_spec.label)
        seconds = time.perf_counter() - t1
        out8 = to_uint8(out)
        row = score_prediction(out8, sample, resolution, protocol=name)
        row.update({"method": method_spec.label, "seconds": seconds, "node": node,
                    "worker_seconds": time.perf_counter() - t1 + shared})
        results.append({"key": key, "row": row, "png": png_bytes(out8) if want_png else None})
    return results


def _threads_for_cpu_work() -> None:
    import torch

    if not torch.cuda.is_available():
        torch.set_num_threads(1)  # one core per worker; Ray gives each task/actor one CPU


def run_task(spec, items: list[tuple], protocol: str, reference: str) -> list[dict[str, Any]]:
    """Stateless Ray task (units with classical methods only): build each method, run the unit."""
    _threads_for_cpu_work()
    return run_unit(spec, items, protocol, reference, lambda m: m.build())


class MethodWorker:
    """Ray actor for units with learned (or external) methods: builds — loads the weights of — each method
    once, and keeps it for the next units."""

    def __init__(self) -> None:
        _threads_for_cpu_work()
        self.methods: dict = {}

    def _build(self, method_spec):
        method = self.methods.get(method_spec)
        if method is None:
            method = self.methods[method_spec] = method_spec.build()
        return method

    def hash(self, specs: list) -> list[str]:
        return hash_specs(specs)

    def run(self, spec, items: list[tuple], protocol: str, reference: str) -> list[dict[str, Any]]:
        return run_unit(spec, items, protocol, reference, self._build)
