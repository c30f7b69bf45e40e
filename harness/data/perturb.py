"""Colour and luminance perturbations of a foreground's pixels — how the bundled suite's composites and the
training generator's are made (harness/data/loaders/bundled.py, harness/train/perturb.py).

`perturb(pixels, kind, rng)` takes float64 N×3 pixels in [0, 1] and a numpy Generator, draws the strength
within the ranges below, and returns the new pixels (not clipped) with the parameters drawn:

- brightness:  x + b,                           |b| ∈ [0.06, 0.16]
- contrast:    μ + c·(x − μ), μ = fg mean,      c ∈ [0.65, 0.8] ∪ [1.25, 1.45]
- gamma:       x ** g,                          g ∈ [0.6, 0.8] ∪ [1.3, 1.7]
- hue-sat:     rotate about the grey axis by h, |h| ∈ [15°, 40°]; saturation × s, s ∈ [0.6, 0.85] ∪ [1.2, 1.5]
- cast:        per-channel gains,               each ∈ [0.85, 1.15], at least one 0.08 away from 1
- mixed:       brightness, then contrast, then hue-sat

Everything is elementwise IEEE arithmetic (no BLAS, no colour-space library), so the results are identical on
every machine.
"""

from __future__ import annotations

import math

import numpy as np

PERTURBATIONS = ("brightness", "contrast", "gamma", "hue-sat", "cast", "mixed")


def _sign(rng: np.random.Generator) -> float:
    return 1.0 if rng.random() < 0.5 else -1.0


def _two_sided(rng: np.random.Generator, low: tuple[float, float], high: tuple[float, float]) -> float:
    lo, hi = low if rng.random() < 0.5 else high
    return lo + (hi - lo) * rng.random()


def _hue_sat(x: np.ndarray, degrees: float, sat: float) -> np.ndarray:
    # Rodrigues rotation about the grey axis k = (1,1,1)/√3, written out elementwise (no BLAS).
    t = math.radians(degrees)
    c, s = math.cos(t), math.sin(t)
    a, b = c + (1 - c) / 3, (1 - c) / 3 - s / math.sqrt(3)
    d = (1 - c) / 3 + s / math.sqrt(3)
    r, g, bl = x[..., 0], x[..., 1], x[..., 2]
    rot = np.stack([a * r + b * g + d * bl, d * r + a * g + b * bl, b * r + d * g + a * bl], axis=-1)
    luma = 0.2126 * rot[..., 0] + 0.7152 * rot[..., 1] + 0.0722 * rot[..., 2]
    return luma[..., None] + sat * (rot - luma[..., None])


def perturb(pixels: np.ndarray, kind: str, rng: np.random.Generator) -> tuple[np.ndarray, dict]:
    """Perturb foreground pixels (float64 N×3 in [0, 1]); returns the new pixels and the parameters drawn."""
    if kind == "brightness":
        b = _sign(rng) * (0.06 + 0.10 * rng.random())
        return pixels + b, {"brightness": b}
    if kind == "contrast":
        c = _two_sided(rng, (0.65, 0.8), (1.25, 1.45))
        mu = pixels.mean(axis=0)
        return mu + c * (pixels - mu), {"contrast": c}
    if kind == "gamma":
        g = _two_sided(rng, (0.6, 0.8), (1.3, 1.7))
        return np.power(np.clip(pixels, 0.0, 1.0), g), {"gamma": g}
    if kind == "hue-sat":
        h = _sign(rng) * (15.0 + 25.0 * rng.random())
        s = _two_sided(rng, (0.6, 0.85), (1.2, 1.5))
        return _hue_sat(pixels, h, s), {"hue_degrees": h, "saturation": s}
    if kind == "cast":
        gains = 0.85 + 0.30 * rng.random(3)
        k = int(rng.integers(3))
        gains[k] = 1.0 + _sign(rng) * (0.08 + 0.07 * rng.random())
        return pixels * gains, {"gains": gains.tolist()}
    if kind == "mixed":
        params: dict = {}
        for step in ("brightness", "contrast", "hue-sat"):
            pixels, p = perturb(np.clip(pixels, 0.0, 1.0), step, rng)
            params.update(p)
        return pixels, params
    raise ValueError(f"unknown perturbation {kind!r}")
