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


def run_unit(spec, items: list[tuple], options: dict[str, Any], build: Callable) -> list[dict[str, Any]]:
    """Harmonize and score one sample with every (method spec, cache key, want PNG) in `items`; `build(spec)`
    returns the built method. `options`: `protocol` (a protocol key, "harness:native", "bcmi:256", …:
    harness/scoring/protocols.py), `reference` ("given" or "auto"), and for run-robustness `candidates`
    (reference kinds, harness/data/candidates.py), where every method runs once per candidate region (at the
    sample's resolution: the 256² protocols' own input is for run-benchmark). Returns one {key, row, png} per
    item; with candidates `row` is a list (one row per candidate) and `png` a dict by candidate."""
    from harness.data.io import png_bytes
    from harness.data.suites import load_spec

    _maybe_die()
    t0 = time.perf_counter()
    sample = load_spec(spec)
    if options.get("reference") == "auto":
        sample = with_auto_reference(sample)
    kinds = options.get("candidates")
    variants = [(None, sample, False)]
    if kinds:
        from harness.data.references import candidates

        variants = [(name, sample.with_reference(name, mask, truth), truth is not None)
                    for name, mask, truth in candidates(sample, kinds)]
    truths = {name: s.real for name, s, own in variants if own}  # per-reference truths, for reference accuracy
    apart = _truths_apart(sample, truths) if truths else {}
    shared = (time.perf_counter() - t0) / max(1, len(items))  # decoding, candidates: split over methods
    node = _node_id()
    results = []
    for method_spec, key, want_png in items:
        rows, pngs = [], {}
        for name, s, _ in variants:
            t1 = time.perf_counter()
            out8, row = _harmonize_and_score(build(method_spec), method_spec, s, options["protocol"], not kinds)
            row.update({"node": node, "worker_seconds": time.perf_counter() - t1 + shared / len(variants)})
            if name is not None:
                row.update(_region_columns(name, s, out8, truths, apart))
            rows.append(row)
            if want_png:
                pngs[name] = png_bytes(out8)
        if kinds:
            results.append({"key": key, "row": rows, "png": pngs or None})
        else:
            results.append({"key": key, "row": rows[0], "png": pngs.get(None)})
    return results


def _harmonize_and_score(method, spec, sample, protocol: str, protocol_input: bool) -> tuple[np.ndarray, dict]:
    """Run and score one method on one sample. With `protocol_input`, a method working at a 256² protocol's
    resolution (any method under idih:longest1024: protocols.takes_protocol_input) is given the protocol's own
    input and its raw output is scored (scored as itself, as the peers' scripts do); otherwise it gets the
    sample and answers at the sample's resolution."""
    from harness.data.io import to_uint8
    from harness.methods.cost import measure
    from harness.scoring.protocols import takes_protocol_input
    from harness.scoring.score import protocol_input as resized_for
    from harness.scoring.score import score_prediction

    name, resolution = protocol.split(":")
    given = sample
    if protocol_input and takes_protocol_input(resolution, getattr(method, "resolution", None)):
        given = resized_for(name, resolution, sample)
    out, cost = measure(method, spec, given)
    out8 = to_uint8(checked_output(out, given, spec.label))
    row = score_prediction(out8, sample, resolution, protocol=name)
    way = method.way_up(given) if hasattr(method, "way_up") else "none"
    row.update({"method": spec.label, **cost, "upsample": way})
    return out8, row


def _region_columns(name: str, sample, out8: np.ndarray, truths: dict, apart: dict) -> dict[str, Any]:
    """What the robustness statistics (harness/scoring/robustness.py) need of one (method, reference) result:
    the output foreground's and the reference region's mean L*a*b* (responsiveness), and the foreground
    ΔE2000 to every per-reference truth and between the truths (reference accuracy; on every SUBSAMPLE-th
    foreground pixel — a decision between truths, not a reported metric)."""
    from harness.scoring.consistency import mean_lab

    out = out8.astype(np.float32) / 255.0
    cols: dict[str, Any] = {"reference": name, "fg_lab": mean_lab(out, sample.fg_mask),
                            "ref_lab": mean_lab(sample.composite, sample.ref_mask)}
    if truths:
        px = _fg_subsample(sample.fg_mask)
        cols["de2000_to"] = {other: _de2000(out[px], t[px]) for other, t in truths.items()}
        if name in apart:
            cols["truth_apart"] = apart[name]
    return cols


SUBSAMPLE = 4  # every 4th foreground pixel (raster order) for the reference-accuracy distances


def _fg_subsample(fg_mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    ys, xs = np.nonzero(fg_mask > 0.5)
    return ys[::SUBSAMPLE], xs[::SUBSAMPLE]


def _de2000(a: np.ndarray, b: np.ndarray) -> float:
    """Mean CIEDE2000 between two N×3 sRGB pixel lists (the metrics' conversion and formula)."""
    import torch

    from harness.scoring.metrics import delta_e2000, srgb_to_lab

    la = srgb_to_lab(torch.from_numpy(np.ascontiguousarray(a.T, dtype=np.float32)))
    lb = srgb_to_lab(torch.from_numpy(np.ascontiguousarray(b.T, dtype=np.float32)))
    return float(delta_e2000(lb, la).double().mean())


def _truths_apart(sample, truths: dict) -> dict[str, dict[str, float]]:
    """Foreground ΔE2000 between every two per-reference truths (once per sample, not per method)."""
    px = _fg_subsample(sample.fg_mask)
    return {a: {b: _de2000(ta[px], tb[px]) for b, tb in truths.items() if b != a} for a, ta in truths.items()}


def _threads_for_cpu_work() -> None:
    import torch

    if not torch.cuda.is_available():
        torch.set_num_threads(1)  # one core per worker; Ray gives each task/actor one CPU


def run_task(spec, items: list[tuple], options: dict[str, Any]) -> list[dict[str, Any]]:
    """Stateless Ray task (units with classical methods only): build each method, run the unit."""
    _threads_for_cpu_work()
    built: dict = {}  # a method is built once per unit, however many reference regions it runs with

    def build(method_spec):
        if method_spec not in built:
            built[method_spec] = method_spec.build()
        return built[method_spec]

    return run_unit(spec, items, options, build)


class MethodWorker:
    """Ray actor for units with learned (or external) methods: builds — loads the weights of — each method
    once, and keeps it for the next units."""

    def __init__(self, weights: dict | None = None) -> None:
        """`weights`: every learned method's checkpoint as bytes, by method spec (the driver read them)."""
        _threads_for_cpu_work()
        self.methods: dict = {}
        self.weights: dict = dict(weights or {})

    def _build(self, method_spec):
        method = self.methods.get(method_spec)
        if method is None:
            method = self.methods[method_spec] = method_spec.build(self.weights.get(method_spec))
            self.weights.pop(method_spec, None)  # loaded: the bytes are not needed again
        return method

    def hash(self, specs: list) -> list[str]:
        return hash_specs(specs)

    def run(self, spec, items: list[tuple], options: dict[str, Any]) -> list[dict[str, Any]]:
        return run_unit(spec, items, options, self._build)
