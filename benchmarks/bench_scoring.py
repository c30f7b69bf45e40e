"""Scoring speed: `harness.metrics.score_images` vs a plain per-image skimage + colour-science loop.

Both pipelines score the same 2048² images made from real photographs (skimage's astronaut and coffee,
resized): the 'foreground' cases paste a colour-shifted, noisy foreground back with a soft elliptical mask, as a
harmonization method's output would be (background untouched); the 'global' case changes every pixel, the
worst case for the harness (no unchanged pixels to skip). The script checks that every metric agrees within
1e-5 (relative) and prints the time of each pipeline and the speed-up ratio.

    .venv/bin/python benchmarks/bench_scoring.py            # 3 foreground cases + 1 global case, 2048²
    .venv/bin/python benchmarks/bench_scoring.py --size 512 # quicker
"""

from __future__ import annotations

import argparse
import time

import numpy as np


def oracle_score(pred: np.ndarray, real: np.ndarray, fg_mask: np.ndarray) -> dict[str, float]:
    """The reference pipeline: the libraries called directly, in float64, one image at a time."""
    import colour
    from skimage.metrics import structural_similarity

    p, q, fg = pred.astype(np.float64), real.astype(np.float64), fg_mask > 0.5
    sq = ((p - q) * 255.0) ** 2
    mse, fmse = sq.mean(), sq[fg].sum() / (3 * fg.sum())
    ssim, smap = structural_similarity(p, q, channel_axis=-1, data_range=1.0, gaussian_weights=True,
                                       sigma=1.5, use_sample_covariance=False, full=True)
    lab_p = colour.XYZ_to_Lab(colour.sRGB_to_XYZ(p))
    lab_q = colour.XYZ_to_Lab(colour.sRGB_to_XYZ(q))
    e00 = colour.delta_E(lab_q, lab_p, method="CIE 2000")
    e76 = colour.delta_E(lab_q, lab_p, method="CIE 1976")
    return {"mse": mse, "fmse": fmse, "psnr": 10 * np.log10(255.0**2 / mse),
            "fpsnr": 10 * np.log10(255.0**2 / fmse), "ssim": ssim, "fssim": smap[fg].mean(),
            "de2000": e00.mean(), "fde2000": e00[fg].mean(), "de76": e76.mean(), "fde76": e76[fg].mean()}


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

    from harness.metrics import METRICS, score_image, score_images

    cases = make_cases(args.size)
    print(f"{len(cases)} images of {args.size}², torch intra-op threads: {torch.get_num_threads()}")
    score_image(*cases[0][1:])  # warm-up (torch kernels, first-call allocations)

    t0 = time.perf_counter()
    fast = score_images([c[1] for c in cases], [c[2] for c in cases], [c[3] for c in cases])
    t_fast = time.perf_counter() - t0

    slow, t_each = [], []
    for _, pred, real, mask in cases:
        t = time.perf_counter()
        slow.append(oracle_score(pred, real, mask))
        t_each.append(time.perf_counter() - t)
    t_slow = sum(t_each)

    worst = 0.0
    for (name, *_), a, b in zip(cases, fast, slow):
        rel = {m: abs(a[m] - b[m]) / max(abs(b[m]), 1e-12) for m in METRICS}
        worst = max(worst, *rel.values())
        m_max = max(rel, key=rel.get)
        print(f"  {name:22s} fg {a['fg_ratio']:.3f}  psnr {a['psnr']:.3f}  ssim {a['ssim']:.5f}  "
              f"de2000 {a['de2000']:.4f}  max rel diff {rel[m_max]:.1e} ({m_max})")
    # per-image harness times, measured separately so the table says where the time goes
    t_one = []
    for _, pred, real, mask in cases:
        t = time.perf_counter()
        score_image(pred, real, mask)
        t_one.append(time.perf_counter() - t)
    for (name, *_), tf, ts in zip(cases, t_one, t_each):
        print(f"  {name:22s} harness {tf:6.2f} s   skimage+colour {ts:6.2f} s   ×{ts / tf:5.1f}")
    print(f"total: harness {t_fast:.2f} s, skimage+colour loop {t_slow:.2f} s → speed-up ×{t_slow / t_fast:.1f}")
    print(f"max relative difference over all metrics: {worst:.2e} ({'OK' if worst <= 1e-5 else 'FAIL'} at 1e-5)")
    if worst > 1e-5:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
