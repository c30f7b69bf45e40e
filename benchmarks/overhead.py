"""bench_engine.py --overhead: the engine's per-row cost beside the bare work, and a fully cached --resume."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

METHODS = ["composite", "reinhard", "lum-match"]
SIDE = 256


def write_suite(root: str, n: int) -> None:
    """n samples at 256²: the bundled photos resized (composite, masks, truth), copied under distinct ids."""
    from PIL import Image

    from harness.data.io import id_to_stem, to_uint8, write_png
    from harness.data.suites import load_spec, open_suite

    base = [load_spec(s) for s in open_suite("sample").specs]
    for i in range(n):
        s = base[i % len(base)]
        stem = f"c{i // len(base)}-{id_to_stem(s.id)}"
        for folder, img in (("composite", s.composite), ("mask", s.fg_mask), ("reference", s.ref_mask),
                            ("real", s.real)):
            small = Image.fromarray(to_uint8(img)).resize((SIDE, SIDE), Image.BILINEAR)
            write_png(os.path.join(root, folder, f"{stem}.png"), np.asarray(small))


def bare(root: str) -> tuple[float, int]:
    """Seconds for decode → harmonize → 8-bit → score of every (sample, method), in this process, warm."""
    import torch

    from harness.data.io import to_uint8
    from harness.data.suites import load_spec, open_suite
    from harness.methods.spec import MethodSpec
    from harness.scoring.score import score_prediction

    torch.set_num_threads(1)  # as in a worker: one core each
    specs = open_suite("folder", root).specs
    methods = [MethodSpec.parse(m).build() for m in METHODS]
    warm = load_spec(specs[0])
    for m in methods:  # warm-up: imports, first-touch allocations
        score_prediction(to_uint8(m.harmonize(warm)), warm, "native")
    t0 = time.perf_counter()
    rows = 0
    for spec in specs:
        sample = load_spec(spec)
        for m in methods:
            score_prediction(to_uint8(m.harmonize(sample)), sample, "native")
            rows += 1
    return time.perf_counter() - t0, rows


def engine(root: str, cache: str) -> dict:
    from harness.config import BenchmarkConfig
    from harness.engine.benchmark import run_benchmark

    cfg = BenchmarkConfig(suite="folder", data_root=root, methods=METHODS, num_cpus=2, mlflow=False,
                          progress=False, cache_dir=cache, bootstrap=200)
    t0 = time.perf_counter()
    result = run_benchmark(cfg, log=lambda _msg: None)
    return {"wall": time.perf_counter() - t0, "rows": len(result.rows), **result.timings}


def cached_resume(root: str, cache: str, mlflow: str | None) -> float:
    """Wall seconds of `harness run-benchmark … --resume` in a fresh process, every row already cached."""
    harness = str(Path(sys.executable).with_name("harness"))
    cmd = [harness, "run-benchmark", "--suite", "folder", "--data-root", root, "--methods", ",".join(METHODS),
           "--num-cpus", "2", "--cache-dir", cache, "--resume", "--json"]
    cmd += ["--tracking-uri", mlflow] if mlflow else ["--no-mlflow"]
    t0 = time.perf_counter()
    done = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if done.returncode:
        raise SystemExit(f"{' '.join(cmd)}: exit {done.returncode}\n{done.stderr[-3000:]}")
    return time.perf_counter() - t0


def overhead(n: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root, cache = os.path.join(tmp, "suite"), os.path.join(tmp, "cache")
        write_suite(root, n)
        t_bare, rows = bare(root)
        e = engine(root, cache)
        assert e["rows"] == rows, (e["rows"], rows)
        per_bare = t_bare / rows
        print(f"{rows} rows ({n} samples at {SIDE}² × {', '.join(METHODS)})")
        print(f"bare, one process:  {t_bare:.1f} s = {1000 * per_bare:.2f} ms per row")
        print(f"engine, 2 workers:  whole call {e['wall']:.1f} s (Ray start {e['ray_start']:.1f}, compute "
              f"{e['compute']:.1f} = hash {e['hash']:.1f} + work {e['work']:.1f}, summary {e['summary']:.1f})")
        for name, secs in (("compute phase", e["compute"]), ("whole call", e["wall"])):
            print(f"  per row, CPU-time (2 × wall / rows) ÷ bare, {name}: {2 * secs / rows / per_bare:.2f}x "
                  f"(aim ≤ 1.3x)")
        plain = cached_resume(root, cache, None)
        tracked = cached_resume(root, cache, f"sqlite:///{tmp}/mlflow.db")
        tracked2 = cached_resume(root, cache, f"sqlite:///{tmp}/mlflow.db")
        print(f"fully cached --resume, a fresh `harness` process: {plain:.2f} s with --no-mlflow (aim < 2 s); "
              f"with MLflow {tracked:.2f} s (new store), {tracked2:.2f} s (existing store)")
