"""The GPU paths, end to end, on a machine with NVIDIA GPUs — in under 8 minutes on one modern GPU:

1. torch sees the GPU(s) (names, memory, CUDA and cuDNN versions; nvidia-smi's view);
2. run-benchmark with every learned method as Ray GPU actors (several per GPU, engine/dispatch.py), then the
   same on the CPU (CUDA_VISIBLE_DEVICES hidden), and every per-image metric compared: equal to 1e-3
   (relative, or absolute below 1);
3. `harness train --method iph --size full` on relit pairs with Ray Train, one worker per GPU (NCCL when there
   are several), a few hundred steps: images/s from the MLflow step timestamps (steady state, the first
   logged step excluded) and GPU utilisation sampled by nvidia-smi while it trains;
4. run-efficiency of the learned methods on the GPU at 256², 1024² and 2048².

    make gpu-check                  # or: .venv/bin/python benchmarks/gpu_check.py [--steps 300] [--limit 8]

Prints one section per step and ends on `gpu-check: ok` or the failed steps (exit 1). On a machine without a
GPU it says so and exits 2 before doing anything. Everything it writes goes to a temporary folder (`--keep`
keeps it); nothing touches the user's MLflow store or cache.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HARNESS = [sys.executable, "-m", "harness.cli"]
TOLERANCE = 1e-3


def section(title: str) -> None:
    print(f"\n== {title}", flush=True)


def harness(args: list[str], env: dict[str, str] | None = None, timeout: int = 300) -> subprocess.CompletedProcess:
    """One `harness` command in its own process (as a user runs it), stdout captured, stderr passed through."""
    return subprocess.run([*HARNESS, *args], cwd=ROOT, env={**os.environ, **(env or {})}, text=True,
                          stdout=subprocess.PIPE, timeout=timeout, check=False)


def see_gpus() -> int:
    import torch

    section("1. torch and the GPUs")
    print(f"torch {torch.__version__}, CUDA {torch.version.cuda}, cuDNN {torch.backends.cudnn.version()}")
    n = torch.cuda.device_count() if torch.cuda.is_available() else 0
    for i in range(n):
        p = torch.cuda.get_device_properties(i)
        print(f"cuda:{i} {p.name}, {p.total_memory / 2**30:.0f} GiB, compute capability {p.major}.{p.minor}")
    if shutil.which("nvidia-smi"):
        print(subprocess.run(["nvidia-smi", "-L"], text=True, capture_output=True).stdout.strip())
    return n


def learned_methods() -> list[str]:
    from harness.methods import registry

    return registry.list_models()


def rows_by_key(doc: dict) -> dict[tuple[str, str], dict]:
    return {(r["method"], r["id"]): r for r in doc["per_image"]}


def compare_benchmarks(gpu: dict, cpu: dict, metrics: list[str]) -> list[str]:
    """Lines naming every (method, image, metric) where the GPU's value is not the CPU's to TOLERANCE."""
    a, b = rows_by_key(gpu), rows_by_key(cpu)
    problems = [f"rows differ: {sorted(set(a) ^ set(b))[:5]}"] if set(a) != set(b) else []
    worst = {}
    for key in sorted(set(a) & set(b)):
        for m in metrics:
            x, y = a[key].get(m), b[key].get(m)
            if x is None or y is None or (isinstance(y, float) and math.isnan(y)):
                continue
            dev = abs(x - y) / max(1.0, abs(y))
            worst[key[0]] = max(worst.get(key[0], 0.0), dev)
            if dev > TOLERANCE:
                problems.append(f"{key[0]} {key[1]} {m}: gpu {x:.6g} vs cpu {y:.6g}")
    for method, dev in worst.items():
        print(f"{method:<14} largest deviation GPU vs CPU {dev:.2e}")
    return problems


def benchmark_equals_cpu(out: Path, limit: int) -> list[str]:
    from harness.scoring.metrics import METRICS

    section(f"2. run-benchmark, learned methods as Ray GPU actors, vs the CPU ({limit} images)")
    methods = ",".join(learned_methods())
    common = ["run-benchmark", "--suite", "sample", "--methods", methods, "--limit", str(limit), "--json",
              "--no-mlflow", "--no-progress"]
    docs = {}
    for where, env in (("gpu", {}), ("cpu", {"CUDA_VISIBLE_DEVICES": ""})):
        t0 = time.perf_counter()
        p = harness([*common, "--cache-dir", str(out / f"cache-{where}")], env=env, timeout=420)
        if p.returncode != 0:
            return [f"run-benchmark on the {where} exited {p.returncode}"]
        docs[where] = json.loads(p.stdout)
        ray = docs[where]["ray"]
        print(f"{where}: {time.perf_counter() - t0:.1f} s, Ray {ray.get('gpus')} GPU(s), {ray.get('cpus')} CPUs")
    devices = {r["method"]: r.get("device") for r in docs["gpu"]["per_image"]}
    print("devices:", "; ".join(sorted({str(d) for d in devices.values()})))
    problems = compare_benchmarks(docs["gpu"], docs["cpu"], list(METRICS))
    if not docs["gpu"]["ray"].get("gpus"):
        problems.append("run-benchmark's Ray cluster has no GPU")
    return problems + [f"{m} ran on {d}" for m, d in devices.items() if d and not str(d).startswith("cuda")]


def sample_utilisation(path: Path) -> subprocess.Popen | None:
    if not shutil.which("nvidia-smi"):
        return None
    return subprocess.Popen(["nvidia-smi", "--query-gpu=index,utilization.gpu,memory.used", "--format=csv,noheader,nounits",
                             "-lms", "500"], stdout=path.open("w"), stderr=subprocess.DEVNULL)


def utilisation_summary(path: Path) -> str:
    samples = [line.split(",") for line in path.read_text().splitlines() if line.count(",") == 2]
    if not samples:
        return "no nvidia-smi samples"
    busy = [float(u) for _, u, _ in samples]
    mem = max(float(m) for _, _, m in samples)
    return (f"GPU utilisation over {len(busy)} samples: median {sorted(busy)[len(busy) // 2]:.0f} %, "
            f"mean {sum(busy) / len(busy):.0f} %; memory used up to {mem:.0f} MiB")


def images_per_second(store: str, batch: int, workers: int) -> str:
    """Steady-state throughput from the training run's logged steps: (last − first logged step) × batch ×
    workers over the time between them (the first step carries compilation and warm-up)."""
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=store)
    runs = [r for e in client.search_experiments() for r in client.search_runs([e.experiment_id])]
    for run in runs:
        for key in run.data.metrics:
            history = sorted(client.get_metric_history(run.info.run_id, key), key=lambda m: m.step)
            if len(history) >= 3:
                first, last = history[0], history[-1]
                seconds = (last.timestamp - first.timestamp) / 1e3
                images = (last.step - first.step) * batch * workers
                return f"{images / seconds:.1f} images/s ({images} images in {seconds:.1f} s, steps {first.step}–{last.step})"
    return "no step history logged"


def train_full_iph(out: Path, steps: int, gpus: int) -> list[str]:
    section(f"3. harness train --method iph --size full on relit pairs, {gpus} worker(s) × 1 GPU, {steps} steps")
    store = f"sqlite:///{out / 'mlflow.db'}"
    batch = 8
    util = out / "nvidia-smi.csv"
    sampler = sample_utilisation(util)
    t0 = time.perf_counter()
    try:
        p = harness(["train", "--method", "iph", "--stage", "1", "--size", "full", "--data", "relit", "--resolution", "256",
                     "--batch-size", str(batch), "--steps", str(steps), "--workers", str(gpus), "--gpus-per-worker", "1",
                     "--log-every", "10", "--checkpoint-every", str(steps), "--validate-every", str(steps),
                     "--no-progress", "--out", str(out / "iph-full"), "--tracking-uri", store], timeout=420)
    finally:
        if sampler:
            sampler.terminate()
            sampler.wait()
    print(f"wall {time.perf_counter() - t0:.1f} s (Ray start, data, {steps} steps, checkpoint)")
    if p.returncode != 0:
        return [f"train exited {p.returncode}"]
    print(images_per_second(store, batch, gpus))
    if sampler:
        print(utilisation_summary(util))
    return []


def efficiency_on_gpu() -> list[str]:
    section("4. run-efficiency on the GPU")
    p = harness(["run-efficiency", "--methods", ",".join(learned_methods()), "--sizes", "256,1024,2048", "--repeat", "10",
                 "--no-mlflow", "--no-progress"], timeout=300)
    print(p.stdout)
    if p.returncode != 0:
        return [f"run-efficiency exited {p.returncode}"]
    return [] if "cuda" in p.stdout else ["run-efficiency did not run on a GPU"]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=300, help="training steps of step 3")
    ap.add_argument("--limit", type=int, default=8, help="images of step 2")
    ap.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = ap.parse_args()
    t0 = time.perf_counter()
    gpus = see_gpus()
    if not gpus:
        print("gpu-check: torch sees no GPU on this machine; nothing to check", file=sys.stderr)
        return 2
    out = Path(tempfile.mkdtemp(prefix="gpu-check-"))
    failed: dict[str, list[str]] = {}
    try:
        for name, step in (("benchmark", lambda: benchmark_equals_cpu(out, args.limit)),
                           ("train", lambda: train_full_iph(out, args.steps, gpus)),
                           ("efficiency", efficiency_on_gpu)):
            try:
                problems = step()
            except subprocess.TimeoutExpired as e:
                problems = [f"timed out after {e.timeout} s"]
            if problems:
                failed[name] = problems
    finally:
        if not args.keep:
            shutil.rmtree(out, ignore_errors=True)
    print(f"\n{time.perf_counter() - t0:.0f} s in all")
    for name, problems in failed.items():
        print(f"gpu-check: {name} FAILED: " + "; ".join(problems[:10]))
    if not failed:
        print("gpu-check: ok")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
