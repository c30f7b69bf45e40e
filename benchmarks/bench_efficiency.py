"""How much run-efficiency's own measuring adds to what it measures: its median latency of `harmonize` for each
learned method at 256² (where `harmonize` is the network's call and two tensor conversions) against a bare
loop of the same call (`generate`, the official `predict`, or `model(x)`) on the same input, both in Ray worker processes with one torch thread, measured side by side:
rounds alternate run-efficiency and the bare loop, and the ratio is the median over rounds (a shared machine's
load drifts; alternating keeps both sides under the same). Target: ≤ 1.05.

    .venv/bin/python benchmarks/bench_efficiency.py [--repeat N] [--rounds R]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")


def bare_ms(name: str, repeat: int) -> float:
    import numpy as np
    import torch

    from harness.data.suites import load_spec, open_suite
    from harness.methods import registry
    from harness.methods.cost import square_input
    from harness.methods.spec import MethodSpec

    torch.set_num_threads(1)
    from harness.methods.learned import dithered

    model = MethodSpec(name).build().model
    # the network's call that harmonize makes: generate for a raw output, else the official predict if offered
    net = model.generate if registry.get(name).output == "raw" else getattr(model, "predict", model)
    s = square_input(load_spec(open_suite("sample").specs[0]), 256)
    fg = dithered(s.fg_mask) if getattr(model, "dither_mask", False) else s.fg_mask  # as its script reads the mask
    t = [torch.from_numpy(np.ascontiguousarray((a[..., None] if a.ndim == 2 else a).transpose(2, 0, 1)))[None]
         for a in (s.composite, fg, s.ref_mask)]
    times = []
    with torch.no_grad():
        net(*t)  # warm-up, as run-efficiency does
        for _ in range(repeat):
            t0 = time.perf_counter()
            net(*t)
            times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1e3


def main() -> None:
    import ray

    from harness.cluster import ray_session
    from harness.config import EfficiencyConfig
    from harness.engine.efficiency import run_efficiency
    from harness.methods import registry

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=30)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    names = registry.list_models()
    per: dict[str, list[tuple[float, float]]] = {n: [] for n in names}
    with ray_session(None, 2):
        bare_task = ray.remote(num_cpus=1)(bare_ms)
        for _ in range(args.rounds):
            result = run_efficiency(EfficiencyConfig(methods=names, sizes=[256], repeat=args.repeat, mlflow=False,
                                                     progress=False), log=lambda line: None)
            for name in names:
                harness_ms = float(result.summary.loc[result.summary["method"] == name, "latency_ms_median"].iloc[0])
                per[name].append((ray.get(bare_task.remote(name, args.repeat)), harness_ms))
    print(f"{'method':<14}{'bare call ms':>18}{'run-efficiency ms':>19}{'ratio':>8}  (target ≤ 1.05; "
          f"medians over {args.rounds} alternating rounds of {args.repeat} calls)")
    ratios = []
    for name in names:
        bare = statistics.median(b for b, _ in per[name])
        harness_ms = statistics.median(h for _, h in per[name])
        ratios.append(statistics.median(h / b for b, h in per[name]))
        print(f"{name:<14}{bare:>18.2f}{harness_ms:>19.2f}{ratios[-1]:>8.3f}")
    worst = max(ratios)
    print(f"worst ratio {worst:.3f}: {'ok' if worst <= 1.05 else 'MISSED'}")


if __name__ == "__main__":
    main()
