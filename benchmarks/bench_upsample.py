"""Which way up from a network's working resolution (256²) to the sample's should the harness take by default?

A method is scored as itself at its working resolution: run-benchmark `--protocol harness --resolution 256`
gives each 256² network the sample resized to 256² and scores its raw output there. At the native resolution
the harness must bring the output up (harness/methods/highres.py: mapping, residual, bicubic); the way that
changes the verdict least is the one that lets a method be judged by what it did. For every learned method
with a shipped checkpoint, on the bundled `sample` suite and on `relit`, this prints:

    raw@256                 fMSE and fΔE2000 of the raw output, scored at 256²
    <way>@native            the same at the native resolution, for each way up
    |Δ| to raw              how far each way moves the method's numbers (relative, fMSE and fΔE2000)
    verdict vs composite    sign and 95% CI of (method − composite) per image: does the way change it?

and the way with the smallest mean relative change over methods and suites. The composite is scored at both
resolutions too, so "better than doing nothing" is decided at the same resolution on both sides.

    .venv/bin/python benchmarks/bench_upsample.py [--suites sample,relit] [--limit N]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")

LEARNED = ("iph", "dovenet", "bargainnet", "bargainnet-r", "rainnet")
WAYS = ("mapping", "residual", "bicubic")
METRICS = ("fmse", "fde2000")


def run(suite: str, resolution: str, methods: list[str], limit, cache: str):
    from harness.config import BenchmarkConfig
    from harness.engine.benchmark import run_benchmark

    cfg = BenchmarkConfig(suite=suite, methods=methods, resolution=resolution, limit=limit, mlflow=False,
                          progress=False, bootstrap=1000, cache_dir=cache, resume=True)
    return run_benchmark(cfg, log=lambda line: None)


def main() -> None:
    import tempfile

    import numpy as np

    from harness.cluster import ray_session
    from harness.scoring.stats import bootstrap_ci

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--suites", default="sample,relit")
    ap.add_argument("--limit", type=int, default=None)
    args = ap.parse_args()
    cache = tempfile.mkdtemp(prefix="bench-upsample-")
    t0 = time.perf_counter()
    moved: dict[str, list[float]] = {w: [] for w in WAYS}
    with ray_session(None, None):
        for suite in args.suites.split(","):
            raw = run(suite, "256", ["composite", *LEARNED], args.limit, cache).rows
            native = run(suite, "native", ["composite", *[f"{m}:upsample={w}" for m in LEARNED for w in WAYS]],
                         args.limit, cache).rows
            print(f"\n== suite {suite} ({raw['id'].nunique()} images)")
            header = f"{'method':<14}{'way':<10}" + "".join(f"{m:>10}" for m in METRICS) + \
                "".join(f"{'|Δ| ' + m:>14}" for m in METRICS) + f"{'fmse − composite [95% CI]':>34}"
            print(header)

            def diff_ci(rows, label):
                a = rows[rows["method"] == label].set_index("id")["fmse"]
                b = rows[rows["method"] == "composite"].set_index("id")["fmse"]
                d = (a - b.reindex(a.index)).to_numpy(dtype=float)
                lo, hi = bootstrap_ci(d, n_boot=1000, seed=0)
                return f"{d.mean():+9.1f} [{lo:+8.1f}, {hi:+8.1f}]"

            for m in LEARNED:
                r = raw[raw["method"] == m]
                base = {k: float(r[k].mean()) for k in METRICS}
                print(f"{m:<14}{'raw@256':<10}" + "".join(f"{base[k]:>10.2f}" for k in METRICS) + " " * 28
                      + f"{diff_ci(raw, m):>34}")
                for w in WAYS:
                    n = native[native["method"] == f"{m}:upsample={w}"]
                    vals = {k: float(n[k].mean()) for k in METRICS}
                    rel = [abs(vals[k] - base[k]) / base[k] for k in METRICS]
                    moved[w].append(float(np.mean(rel)))
                    print(f"{'':<14}{w:<10}" + "".join(f"{vals[k]:>10.2f}" for k in METRICS)
                          + "".join(f"{x:>14.1%}" for x in rel) + f"{diff_ci(native, f'{m}:upsample={w}'):>34}")
            comp = {res: rows[rows["method"] == "composite"]["fmse"].mean() for res, rows in (("256", raw),
                                                                                          ("native", native))}
            print(f"composite fMSE: {comp['256']:.1f} at 256², {comp['native']:.1f} native")
    print("\nmean relative change of (fMSE, fΔE2000) from the raw output, over methods and suites:")
    for w in WAYS:
        print(f"  {w:<9} {np.mean(moved[w]):.1%}")
    best = min(WAYS, key=lambda w: np.mean(moved[w]))
    print(f"→ the way that moves a method's numbers least: {best}   ({time.perf_counter() - t0:.0f} s)")


if __name__ == "__main__":
    main()
