"""`run-efficiency`: what each method costs on inputs of each size — the speed side of the papers' tables
(PCT-Net and Harmonizer argue at full resolution, iDIH prints its average prediction time).

    methods × sizes ──► one Ray task per (method, size), one at a time (timings never share the machine): the
                        method built, the first bundled sample resized to size², a warm-up call, then
                        `repeat` timed calls of `harmonize` (batch 1, `threads` torch threads, CUDA synchronised)
                        (harness/methods/cost.py: time_method, measure)
    rows ──► per method × size: latency median and P90, peak memory, parameters, GFLOP ──► table / JSON /
             MLflow (a parent, one child per method: `latency_ms_median/<size>`, …)

Same skeleton as run-benchmark (harness/engine/session.py): Ray, the tracker, FAILED on any error.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import pandas as pd

from harness.config import EfficiencyConfig
from harness.engine.results import closing_lines
from harness.formatting import count, sig, table


@dataclass
class EfficiencyResult:
    sizes: list[int]
    rows: pd.DataFrame  # one per timed call: method, size, call, seconds, peak_mb, params, gflop, device
    summary: pd.DataFrame  # per method × size (harness/methods/cost.py: cost_summary)
    cluster: dict[str, Any]
    mlflow_run_id: str | None = None
    mlflow_url: str | None = None
    report: str | None = None
    timings: dict[str, float] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        methods: dict[str, Any] = {}
        for r in self.summary.to_dict(orient="records"):
            m = methods.setdefault(r["method"], {"params": r["params"], "sizes": {}})
            m["sizes"][str(r["size"])] = {k: r[k] for k in ("n", "latency_ms_median", "latency_ms_p90", "peak_mb",
                                                            "gflop", "device")}
        return {"sizes": self.sizes, "methods": methods, "per_call": self.rows.to_dict(orient="records"),
                "ray": self.cluster, "mlflow_run_id": self.mlflow_run_id, "mlflow_url": self.mlflow_url,
                "report": self.report}

    def to_text(self) -> str:
        s = self.summary
        cell = {(r["method"], r["size"]): r for r in s.to_dict(orient="records")}
        methods = list(dict.fromkeys(s["method"]))
        body = []
        for m in methods:
            first = cell[m, self.sizes[0]]
            row = [m, count(first["params"])]
            row += ["-" if cell.get((m, z), {}).get("gflop") is None else sig(cell[m, z]["gflop"], 3)
                    for z in self.sizes[:1]]
            for z in self.sizes:
                r = cell.get((m, z))
                row.append("-" if r is None else f"{sig(r['latency_ms_median'], 3)} ({sig(r['latency_ms_p90'], 3)})")
            row.append(sig(cell[m, self.sizes[-1]]["peak_mb"], 3) if (m, self.sizes[-1]) in cell else "-")
            body.append(row)
        devices = "; ".join(dict.fromkeys(str(d) for d in s["device"] if d))
        n = int(s["n"].max()) if len(s) else 0
        lines = [f"run-efficiency: {len(methods)} method{'s' if len(methods) != 1 else ''} × sizes "
                 f"{', '.join(f'{z}²' for z in self.sizes)}, {n} timed calls each after a warm-up, batch 1",
                 "", f"latency of harmonize alone in ms: median (P90); GFLOP of one call at {self.sizes[0]}²; peak "
                     f"memory in MB at {self.sizes[-1]}² (GPU: max allocated; CPU: resident growth of the first "
                     "call)",
                 table(["method", "params", f"GFLOP@{self.sizes[0]}", *[f"ms @{z}" for z in self.sizes],
                        f"MB @{self.sizes[-1]}"], body),
                 f"device: {devices}"]
        return "\n".join(lines + closing_lines(self))


def run_efficiency(cfg: EfficiencyConfig, log: Callable[[str], None] | None = None) -> EfficiencyResult:
    """Time every method of `cfg` on every size (module docstring)."""
    import time

    import ray

    from harness.data.suites import load_spec, open_suite
    from harness.engine.session import command_session
    from harness.methods.cost import cost_summary, time_method
    from harness.methods.spec import resolve_methods
    from harness.tracking.efficiency import EfficiencyTracker
    from harness.tracking.training import download_registered_checkpoint

    cfg.check()
    with command_session(cfg, log) as session:
        methods = resolve_methods(cfg.methods, lambda ref: download_registered_checkpoint(ref, cfg.tracking_uri))
        if cfg.upsample:
            methods = [m.with_option("upsample", cfg.upsample) if "upsample" in m.info.options
                       and "upsample" not in m.opts else m for m in methods]
        sample = load_spec(open_suite("sample").specs[0])
        session.track(lambda log_path: EfficiencyTracker(cfg, methods, log_path=log_path))
        t0 = time.perf_counter()
        rows: list[dict] = []
        with session.ray() as cluster:
            task = ray.remote(time_method).options(num_cpus=cfg.threads, num_gpus=1 if cluster["gpus"] else 0,
                                                   max_retries=0)
            jobs = [(m, z) for m in methods for z in cfg.sizes]
            # weights as bytes through the object store, read here: a worker never opens a driver's path
            weights = {m: ray.put(m.weights()) for m in methods if m.info.kind == "learned"}
            bar = _bar(len(jobs), cfg.progress, session.progress_stream)
            try:
                for m, z in jobs:  # one at a time: timings never share the machine
                    rows += ray.get(task.remote(m, z, cfg.repeat, cfg.threads, sample, weights.get(m)))
                    bar.update(1)
            finally:
                bar.close()
        df = pd.DataFrame(rows)
        result = EfficiencyResult(list(cfg.sizes), df, cost_summary(df, by=["method", "size"]), cluster,
                                  timings={"total": time.perf_counter() - t0})
        session.finish(result)
    return result


def _bar(total: int, enabled: bool, stream):
    from tqdm import tqdm

    return tqdm(total=total, desc="method × size", unit="timing", file=stream, disable=not enabled,
                dynamic_ncols=True)
