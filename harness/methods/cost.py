"""What a method costs, measured like its quality: time per `harmonize` call, memory, parameters, FLOPs.

- **latency**: `harmonize` alone — decoding, resizing for the protocol and scoring excluded — on a warm method.
  The first call a process makes with a method is a warm-up (lazy initialisation, first-touch allocations,
  cuDNN autotuning) and is not timed; it runs on the same input. On a GPU the clock stops after
  `torch.cuda.synchronize()`.
- **memory**: on a GPU, `torch.cuda.max_memory_allocated` during the call (the weights included); on a CPU,
  how far the process's resident set grew during the warm-up call — the activations and buffers a call
  needs, the weights excluded (they are `params` × 4 bytes). Freed heap is handed back to the system first
  (glibc's `malloc_trim`), so the call cannot hide in memory an earlier call (or another method in the same
  worker) left behind; Linux's peak-RSS mark is reset before the call (`/proc/self/clear_refs`) and read after
  it (`VmHWM`). Where either cannot be done, the growth of `ru_maxrss`, which can only under-count. The timed
  calls are not trimmed before: they would pay page faults a warm process does not.
- **parameters** of the network (a classical method has none); **GFLOP** of the call's network forward —
  one forward at the working resolution for a 256² method; for a natively full-resolution one (Harmonizer) the
  network at its argument size, whatever the image's (its filters are elementwise: not network FLOPs) —
  counted by `torch.utils.flop_counter` during the warm-up call. A method without a torch network has no FLOP
  count (not zero: numpy's work is not counted).
- **device**: what ran it — "cpu: <model> ×<N> threads, torch <version>" or "cuda: <GPU name>, torch
  <version>" — with every row, so numbers from two machines are never pooled unnoticed.
"""

from __future__ import annotations

import platform
import time
from typing import Any

import numpy as np
import pandas as pd

_WARM: dict[Any, dict[str, Any]] = {}  # per process: method key → its params, gflop (from the warm-up call)
COLUMNS = ("seconds", "peak_mb", "params", "gflop", "device")


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def device_name(device: str = "cpu") -> str:
    import torch

    if str(device).startswith("cuda") and torch.cuda.is_available():
        return f"cuda: {torch.cuda.get_device_name()}, torch {torch.__version__}"
    return f"cpu: {_cpu_model()} ×{torch.get_num_threads()} threads, torch {torch.__version__}"


def _status_kb(key: str) -> int | None:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def _reset_peak_rss() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")  # Linux ≥ 4.0: the peak RSS mark becomes the current RSS
        return True
    except OSError:
        return False


def _model_of(method) -> Any:
    import torch

    model = getattr(method, "model", None)
    return model if isinstance(model, torch.nn.Module) else None


def _device_of(method) -> str:
    model = _model_of(method)
    if model is None:
        return "cpu"
    p = next(model.parameters(), None)
    return str(p.device) if p is not None else "cpu"


def measure(method, key: Any, sample) -> tuple[Any, dict[str, Any]]:
    """Run `method.harmonize(sample)` and measure it (module docstring); `key` names the method in this process
    (its spec), so its first call here is the warm-up. Returns (output, {seconds, peak_mb, params, gflop,
    device})."""
    import torch

    if key not in _WARM:
        _WARM[key] = _warm_up(method, sample)
    on_gpu = _device_of(method).startswith("cuda")
    if on_gpu:
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        t0 = time.perf_counter()
        out = method.harmonize(sample)
        torch.cuda.synchronize()
        seconds = time.perf_counter() - t0
        peak = torch.cuda.max_memory_allocated() / 2**20
    else:
        t0 = time.perf_counter()
        out = method.harmonize(sample)
        seconds = time.perf_counter() - t0
        peak = _WARM[key]["warm_mb"]
    return out, {"seconds": seconds, "peak_mb": peak, **{k: v for k, v in _WARM[key].items() if k != "warm_mb"}}


def _maxrss_kb() -> int:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _release_free_memory() -> None:
    import ctypes
    import gc

    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc: the growth may then under-count
        pass


def _rss_baseline() -> tuple[bool, int | None]:
    _release_free_memory()
    exact = _reset_peak_rss()
    return exact, _status_kb("VmRSS") if exact else _maxrss_kb()


def _rss_growth(baseline: tuple[bool, int | None]) -> float | None:
    exact, before = baseline
    after = _status_kb("VmHWM") if exact else _maxrss_kb()
    return max(0, after - before) / 1024 if before is not None and after is not None else None


def _warm_up(method, sample) -> dict[str, Any]:
    """The untimed first call; counts the network's parameters and the call's FLOPs."""
    from torch.utils.flop_counter import FlopCounterMode

    baseline = _rss_baseline()
    method.harmonize(sample)
    warm_mb = _rss_growth(baseline)
    model = _model_of(method)
    if model is None:
        return {"warm_mb": warm_mb, "params": getattr(method, "parameters", None), "gflop": None,
                "device": device_name()}
    with FlopCounterMode(display=False) as counter:  # a second untimed call: the counter adds its own memory
        method.harmonize(sample)
    return {"warm_mb": warm_mb, "params": int(sum(p.numel() for p in model.parameters())),
            "gflop": counter.get_total_flops() / 1e9, "device": device_name(_device_of(method))}


def cost_summary(rows: pd.DataFrame, by: str | list[str] = "method") -> pd.DataFrame:
    """Per method (or per `by` group): how many timed calls, latency median and P90 (ms), peak memory (MB, the
    largest call), parameters, GFLOP, and the device(s) that ran it."""
    keys = [by] if isinstance(by, str) else list(by)
    out = []
    for name, g in rows.groupby(keys if len(keys) > 1 else keys[0], sort=False):
        sec = g["seconds"].dropna().to_numpy(dtype=float) if "seconds" in g else np.array([])
        first = (lambda col: g[col].dropna().iloc[0] if col in g and g[col].notna().any() else None)
        out.append({**dict(zip(keys, name if len(keys) > 1 else (name,))), "n": int(sec.size),
                    "latency_ms_median": float(np.median(sec) * 1e3) if sec.size else float("nan"),
                    "latency_ms_p90": float(np.percentile(sec, 90) * 1e3) if sec.size else float("nan"),
                    "peak_mb": float(g["peak_mb"].max()) if "peak_mb" in g and g["peak_mb"].notna().any()
                    else float("nan"),
                    "params": first("params"), "gflop": first("gflop"),
                    "device": ", ".join(dict.fromkeys(g["device"].dropna())) if "device" in g else ""})
    return pd.DataFrame(out, columns=[*keys, "n", "latency_ms_median", "latency_ms_p90", "peak_mb", "params",
                                      "gflop", "device"])


def square_input(sample, side: int):
    """`sample` resized to side × side (the harness's resize: bicubic image, area or bilinear masks): the input
    of a timing at that size. Its truth is dropped — nothing is scored."""
    import dataclasses

    from harness.data.resize import resize_image, resize_mask

    return dataclasses.replace(sample, id=f"{sample.id}@{side}", composite=resize_image(sample.composite, side),
                               fg_mask=resize_mask(sample.fg_mask, side), ref_mask=resize_mask(sample.ref_mask, side),
                               real=None, references=(), fg_mask_file=None)


def time_method(spec, side: int, repeat: int, threads: int, sample, weights=None) -> list[dict[str, Any]]:
    """`repeat` timed calls of the method `spec` on `sample` resized to side² (after its warm-up), with
    `threads` torch threads on a CPU: one row per call (run-efficiency's unit of work, in a Ray task).
    `weights`: a learned method's checkpoint as bytes (harness/methods/weights.py)."""
    import torch

    torch.set_num_threads(max(1, threads))
    method = spec.build(weights)
    given = square_input(sample, side)
    rows = []
    for i in range(repeat):
        _, cost = measure(method, (spec, side), given)
        rows.append({"method": spec.label, "size": side, "call": i, **cost})
    return rows
