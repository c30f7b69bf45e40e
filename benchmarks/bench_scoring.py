"""Scoring speed: `harness.scoring.metrics.score_images` vs a plain per-image skimage + colour-science loop.

Both pipelines score the same 2048² images made from real photographs (skimage's astronaut, coffee and
chelsea, resized): the 'foreground' cases paste a colour-shifted, noisy foreground back with a soft
elliptical mask, as a harmonization method's output would be (background untouched); the 'global' case
changes every pixel, the worst case for the harness (no unchanged pixels to skip). The script checks that every metric agrees within
1e-5 (relative) and prints the time of each pipeline and the speed-up ratio.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_scoring.py             # 3 foreground + 1 global, 2048²
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_scoring.py --size 512  # quicker

Measured one image at a time with one torch thread, as each of the engine's Ray workers scores (the engine
uses both cores by running two workers; harness/scoring/metrics.py says why more intra-op threads can hurt on shared
cores). CPU time is printed beside wall time because the cores here are shared with other work.
"""

from __future__ import annotations

import argparse
import time

import numpy as np


def oracle_score(pred: np.ndarray, real: np.ndarray, fg_mask: np.ndarray) -> dict[str, float]:
    """The reference pipeline: the libraries called directly, in float64, one image at a time."""
    from harness.scoring.oracle import oracle_scores

    return oracle_scores(pred, real, fg_mask)


def make_cases(size: int, seed: int = 0) -> list[tuple[str, np.ndarray, np.ndarray, np.ndarray]]:
    """(name, pred, real, fg_mask) float32 cases at size×size from skimage's sample photographs."""
    from scipy.ndimage import gaussian_filter
    from skimage import data, transform

    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:size, :size] / size
    cases = []
    specs = [("astronaut", (0.45, 0.50, 0.28, 0.22)), ("coffee", (0.55, 0.45, 0.22, 0.30)),
             ("chelsea", (0.50, 0.55, 0.30, 0.25))]
    for name, (cy, cx, ry, rx) in specs:
        real = transform.resize(getattr(data, name)(), (size, size), anti_aliasing=True).astype(np.float32)
        hard = (((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 < 1).astype(np.float32)
        mask = np.clip(gaussian_filter(hard, sigma=size / 256), 0, 1).astype(np.float32)  # soft edge
        gain = rng.uniform(0.85, 1.15, 3)
        shifted = np.clip(real * gain + 0.02 * rng.normal(size=real.shape), 0, 1)
        pred = (mask[..., None] * shifted + (1 - mask[..., None]) * real).astype(np.float32)
        cases.append((f"{name}-foreground", pred, real, mask))
    name, _, real, mask = cases[0]
    pred = np.clip(real ** 0.9 + 0.01 * rng.normal(size=real.shape), 0, 1).astype(np.float32)
    cases.append(("astronaut-global", pred, real, mask))
    return cases


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=2048)
    args = ap.parse_args()

    import torch

    from harness.scoring.metrics import METRICS, score_image, score_images

    cases = make_cases(args.size)
    print(f"{len(cases)} images of {args.size}², torch intra-op threads: {torch.get_num_threads()} "
          f"(the skimage + colour loop is single-threaded numpy)")
    score_image(*cases[0][1:])  # warm-up: torch kernels, first-call allocations
    c = args.size // 2
    oracle_score(*(a[c - 16:c + 16, c - 16:c + 16] for a in cases[0][1:]))  # warm-up: imports

    # interleaved, image by image, so that load from other processes hits both pipelines alike; CPU time
    # (process_time, summed over threads) is reported beside wall time because the 2 cores are shared
    fast, slow, t_fast, t_slow, c_fast, c_slow = [], [], [], [], [], []
    for _, pred, real, mask in cases:
        t, c = time.perf_counter(), time.process_time()
        fast += score_images([pred], [real], [mask])
        t_fast.append(time.perf_counter() - t)
        c_fast.append(time.process_time() - c)
        t, c = time.perf_counter(), time.process_time()
        slow.append(oracle_score(pred, real, mask))
        t_slow.append(time.perf_counter() - t)
        c_slow.append(time.process_time() - c)

    worst = 0.0
    print(f"  {'image':22s} {'fg':>5s} {'changed':>7s}   wall: harness    libs  speed-up   "
          f"cpu: harness    libs  speed-up   max rel diff")
    for (name, pred, real, _), a, b, tf, ts, cf, cs in zip(cases, fast, slow, t_fast, t_slow, c_fast, c_slow):
        rel = {m: abs(a[m] - b[m]) / max(abs(b[m]), 1e-12) for m in METRICS}
        worst = max(worst, *rel.values())
        m_max = max(rel, key=rel.get)
        changed = (pred != real).any(axis=-1).mean()
        print(f"  {name:22s} {a['fg_ratio']:5.3f} {changed:7.3f}   {tf:12.2f}s {ts:6.2f}s  ×{ts / tf:6.1f}   "
              f"{cf:11.2f}s {cs:6.2f}s  ×{cs / cf:6.1f}   {rel[m_max]:.1e} ({m_max})")
    print(f"total wall: harness {sum(t_fast):.2f} s, skimage+colour loop {sum(t_slow):.2f} s → "
          f"speed-up ×{sum(t_slow) / sum(t_fast):.1f}")
    print(f"total cpu:  harness {sum(c_fast):.2f} s, skimage+colour loop {sum(c_slow):.2f} s → "
          f"speed-up ×{sum(c_slow) / sum(c_fast):.1f}")
    print(f"max relative difference over all metrics and images: {worst:.2e} "
          f"({'OK' if worst <= 1e-5 else 'FAIL'} at 1e-5)")
    if worst > 1e-5:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
