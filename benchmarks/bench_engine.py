"""run-benchmark scaling: the same benchmark with a local Ray of 1 CPU vs 2 CPUs, side by side in one run.

Prints wall times and the speed-up, both for the whole invocation (Ray start-up included: a fixed cost of a
few seconds) and for the compute phase (hash + harmonize + score, which is what more workers speed up),
and the time spent inside the workers: on a 2-core machine the driver and Ray's own processes share the two
cores with the workers, so per-image time grows when both cores run workers.
Fresh result caches each time, no MLflow, the full bundled suite, all classical methods (plus every learned
method that has a checkpoint).

    .venv/bin/python benchmarks/bench_engine.py [--limit N]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time


def run(num_cpus: int, limit: int | None) -> tuple[float, dict, int, float]:
    from harness.config import BenchmarkConfig
    from harness.engine.run import run_benchmark

    with tempfile.TemporaryDirectory() as cache:
        cfg = BenchmarkConfig(suite="sample", limit=limit, num_cpus=num_cpus, mlflow=False, progress=False,
                              cache_dir=cache, n_boot=200)
        t0 = time.perf_counter()
        result = run_benchmark(cfg, log=lambda _msg: None)
        return time.perf_counter() - t0, result.timings, len(result.rows), float(result.rows["worker_seconds"].sum())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--limit", type=int, default=None)
    args = ap.parse_args()
    os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
    results = {}
    for n in (1, 2):
        wall, timings, rows, busy = run(n, args.limit)
        results[n] = (wall, timings)
        print(f"{n} worker(s): {rows} images in {wall:.1f} s  (ray start {timings['ray_start']:.1f} s, "
              f"compute {timings['compute']:.1f} s, summary {timings['summary']:.1f} s); time inside workers "
              f"{busy:.1f} s, utilisation {busy / (n * timings['compute']):.0%}")
    (w1, t1), (w2, t2) = results[1], results[2]
    print(f"speed-up 2 vs 1 workers: whole run {w1 / w2:.2f}x, compute phase {t1['compute'] / t2['compute']:.2f}x "
          f"(aim >= 1.8x)")


if __name__ == "__main__":
    main()
