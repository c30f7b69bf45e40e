"""run-benchmark scaling: the same benchmark on 1 worker, 2 workers, and 2 one-CPU Ray nodes, side by side.

The suite is the bundled one exported `--copies` times into a folder suite (distinct ids, the same pixels), so
the run is large enough (default 3 × 26 samples × 8 methods = 624 items) that start-up does not dominate.
Fresh caches each time, no MLflow. For each configuration it prints:

- wall times: Ray start, the compute phase (hashing + harmonize/score), and its `work` part (after hashing);
- time inside the workers (the rows' worker_seconds) and utilisation = that / (workers × work phase);
- where the machine's CPU went during the work phase, sampled from /proc every 0.2 s: Ray worker processes,
  the driver, Ray's daemons (raylet, GCS, the rest), other processes, and idle;
- the speed-up of 2 workers (one node, and two nodes) over 1 on the compute phase. Aim: ≥ 1.8×.

`--overhead` measures instead what the engine costs per row beside the bare work, at 256²: N samples (the
bundled photos resized to 256², copied) × composite, reinhard, lum-match, computed

- bare: in one process, a loop of decode → harmonize → 8-bit → score (the worker's own functions, warm);
- by the engine: `run_benchmark` with 2 workers, fresh cache, no MLflow — the compute phase (hashing + work)
  and the whole call (Ray start and summary included);

and prints engine CPU-time per row ÷ bare time per row (2 × wall ÷ bare: 1.0 would be perfect; aim ≤ 1.3),
then times the fully cached `harness run-benchmark … --resume` as a new user runs it (a fresh process, its
start-up included), without and with MLflow (aim < 2 s without MLflow).

    .venv/bin/python benchmarks/bench_engine.py [--copies 3] [--methods composite,reinhard,...]
    .venv/bin/python benchmarks/bench_engine.py --overhead [--samples 1000]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import threading
import time

HZ = os.sysconf("SC_CLK_TCK")


def _classify(pid: int, cmd: str) -> str:
    if pid == os.getpid():
        return "driver"
    if cmd.startswith("ray::"):
        return "ray workers"
    if "raylet" in cmd or "gcs_server" in cmd or "/ray/" in cmd:
        return "ray daemons"
    return "other"


def _snapshot() -> tuple[float, float, dict[int, tuple[str, float]]]:
    """(time, idle core-seconds of the machine, pid → (class, CPU seconds)) now, from /proc."""
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    idle = (fields[3] + fields[4]) / HZ
    procs: dict[int, tuple[str, float]] = {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/stat") as f:
                stat = f.read().rsplit(")", 1)[1].split()
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        procs[int(pid)] = (_classify(int(pid), cmd), (int(stat[11]) + int(stat[12])) / HZ)  # utime + stime
    return time.perf_counter(), idle, procs


class Sampler(threading.Thread):
    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.samples: list = []
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            self.samples.append(_snapshot())
            self.stop.wait(0.2)

    def window(self, t0: float, t1: float) -> dict[str, float]:
        """CPU seconds per process class (and idle) between t0 and t1: per process, its last value seen in
        the window minus its value at the start (0 for a process started inside it), so a process that ends
        in the window (an actor killed at the end) still counts, to within one sampling interval."""
        inside = [s for s in self.samples if t0 <= s[0] <= t1]
        first, last = inside[0], inside[-1]
        seen: dict[int, tuple[str, float]] = {}
        for _, _, procs in inside:
            for pid, (cls, cpu) in procs.items():  # a process keeps the most specific class it showed
                keep = seen[pid][0] if pid in seen and seen[pid][0] != "other" else cls
                seen[pid] = (keep, cpu)
        out: dict[str, float] = {}
        for pid, (cls, cpu) in seen.items():
            out[cls] = out.get(cls, 0.0) + cpu - first[2].get(pid, (cls, 0.0))[1]
        out["idle"] = last[1] - first[1]
        out["seconds"] = last[0] - first[0]
        return out



def run(label: str, data_root: str, methods: list[str] | None, num_cpus: int | None, address: str | None) -> dict:
    from harness.config import BenchmarkConfig
    from harness.engine.benchmark import run_benchmark

    with tempfile.TemporaryDirectory() as cache:
        cfg = BenchmarkConfig(suite="folder", data_root=data_root, methods=methods, num_cpus=num_cpus,
                              ray_address=address, mlflow=False, progress=False, cache_dir=cache, bootstrap=200)
        sampler = Sampler()
        sampler.start()
        t0 = time.perf_counter()
        result = run_benchmark(cfg, log=lambda _msg: None)
        wall = time.perf_counter() - t0
        sampler.stop.set()
        sampler.join()
    t = result.timings
    work_start = t0 + t["ray_start"] + t["hash"]
    cpu = sampler.window(work_start, work_start + t["work"])
    return {"label": label, "n": len(result.rows), "wall": wall, **t, "cpu": cpu,
            "workers_busy": float(result.rows["worker_seconds"].sum()),
            "nodes": result.cluster["nodes"], "cpus": result.cluster["cpus"]}


def show(r: dict) -> None:
    workers = r["cpus"]
    print(f"{r['label']}: {r['n']} items, {r['nodes']} node(s), {workers} CPU(s): wall {r['wall']:.1f} s "
          f"(ray start {r['ray_start']:.1f}, compute {r['compute']:.1f} = hash {r['hash']:.1f} + work "
          f"{r['work']:.1f}, summary {r['summary']:.1f})")
    print(f"    inside workers {r['workers_busy']:.1f} s, utilisation {r['workers_busy'] / (workers * r['work']):.0%} "
          f"of the work phase; per item {1000 * r['workers_busy'] / r['n']:.0f} ms")
    c = r["cpu"]
    parts = ", ".join(f"{k} {c.get(k, 0.0):.1f}" for k in ("ray workers", "driver", "ray daemons", "other", "idle"))
    print(f"    machine CPU in the work phase ({2 * c['seconds']:.1f} core-s on this 2-core machine): {parts}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--copies", type=int, default=3, help="copies of the bundled suite (26 samples each)")
    ap.add_argument("--methods", help="comma-separated methods (default: every available method)")
    ap.add_argument("--skip-cluster", action="store_true", help="no two-node run")
    ap.add_argument("--overhead", action="store_true", help="the engine's per-row overhead and a cached --resume "
                                                            "(see above)")
    ap.add_argument("--samples", type=int, default=1000, help="--overhead: 256² samples (× 3 methods = rows)")
    args = ap.parse_args()
    os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
    if args.overhead:
        from overhead import overhead  # benchmarks/overhead.py

        overhead(args.samples)
        return
    from harness.data.suites import open_suite

    methods = args.methods.split(",") if args.methods else None
    with tempfile.TemporaryDirectory() as root:
        from harness.data.io import id_to_stem, write_png
        from harness.data.suites import load_spec

        for spec in open_suite("sample").specs:  # k copies: distinct ids, same pixels — real photos, more of them
            s = load_spec(spec)
            for k in range(args.copies):
                stem = f"c{k}-{id_to_stem(s.id)}"
                for folder, img in (("composite", s.composite), ("mask", s.fg_mask), ("reference", s.ref_mask),
                                    ("real", s.real)):
                    write_png(os.path.join(root, folder, f"{stem}.png"), img)
        results = [run("1 worker", root, methods, 1, None), run("2 workers", root, methods, 2, None)]
        if not args.skip_cluster:
            import ray
            from ray.cluster_utils import Cluster

            cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "include_dashboard": False})
            cluster.add_node(num_cpus=1)
            cluster.wait_for_nodes()
            try:
                results.append(run("2 nodes × 1 CPU", root, methods, None, cluster.address))
            finally:
                if ray.is_initialized():
                    ray.shutdown()
                cluster.shutdown()
    for r in results:
        show(r)
    one = results[0]
    for r in results[1:]:
        print(f"speed-up {r['label']} vs 1 worker: compute phase {one['compute'] / r['compute']:.2f}x, work phase "
              f"{one['work'] / r['work']:.2f}x, whole run {one['wall'] / r['wall']:.2f}x (aim >= 1.8x)")


if __name__ == "__main__":
    main()
