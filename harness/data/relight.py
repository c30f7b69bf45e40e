"""Scenes under spatially varying light, and the truth each reference region implies — the data that tests
(suite `relit`) and teaches (the relit training generator) what IPH promises: pick another region, get another,
correct result.

The model, in linear RGB (the stored sRGB values decoded with the IEC 61966-2-1 curve, encoded back after):

- a *light* is an RGB gain g = intensity × colour; a surface lit by it is photo_linear · g;
- a *scene under two lights* is lit by g(x) = (1 − w(x))·g_A + w(x)·g_B, w(x) = σ(⟨x − c, n⟩ / τ): a soft ramp
  across the direction n through c, τ = 4 % of the image diagonal;
- the *light of a region R* is the mean of g(x) over R;
- the *truth under reference R*: the scene, with the foreground lit by the light of R (uniformly);
- the *composite*: the scene, with the foreground lit by a third light g_C — pasted in from elsewhere.

So the foreground alone never tells what the truth is: only the chosen reference does. Lights are drawn with
intensity log-uniform in [0.45, 2.0] and a colour from warm to cool, (1 + 0.4t, 1, 1 − 0.4t) with t uniform in
[−1, 1], times a green–magenta tint (1, 1 + 0.08u, 1), u in [−1, 1]; the two scene lights and the composite's
are redrawn until each pair is at least MIN_APART apart (CIE ΔE76 between a mid-grey lit by each): lights
as different as sun and shade, so that which region is picked matters more than what it is made of.
"""

from __future__ import annotations

import math

import numpy as np

from harness.data.photos import eval_photo

MIN_APART = 16.0  # ΔE76 between a mid-grey (sRGB 0.5) lit by two lights that must look different
RAMP = 0.04  # τ as a fraction of the image diagonal


def srgb_to_linear(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    return np.where(x <= 0.04045, x / 12.92, ((x + 0.055) / 1.055) ** 2.4)


def linear_to_srgb(x: np.ndarray) -> np.ndarray:
    x = np.clip(np.asarray(x, dtype=np.float64), 0.0, 1.0)
    return np.where(x <= 0.0031308, 12.92 * x, 1.055 * np.power(x, 1 / 2.4) - 0.055)


def draw_light(rng: np.random.Generator) -> np.ndarray:
    intensity = math.exp(rng.uniform(math.log(0.45), math.log(2.0)))
    t, u = rng.uniform(-1, 1, 2)
    return intensity * np.array([1 + 0.4 * t, 1 + 0.08 * u, 1 - 0.4 * t])


def light_distance(a: np.ndarray, b: np.ndarray) -> float:
    """ΔE76 between a mid-grey surface lit by `a` and by `b`."""
    import colour

    grey = srgb_to_linear(np.full(3, 0.5))
    labs = [colour.XYZ_to_Lab(colour.sRGB_to_XYZ(linear_to_srgb(grey * g))) for g in (a, b)]
    return float(np.linalg.norm(labs[0] - labs[1]))


def draw_lights(rng: np.random.Generator, n: int = 3) -> list[np.ndarray]:
    """`n` lights, each pair at least MIN_APART apart (whole sets are redrawn: a greedy draw can paint itself
    into a corner where no further light fits)."""
    for _ in range(10_000):
        lights: list[np.ndarray] = []
        for _ in range(20 * n):
            g = draw_light(rng)
            if all(light_distance(g, other) >= MIN_APART for other in lights):
                lights.append(g)
                if len(lights) == n:
                    return lights
    raise RuntimeError(f"no {n} lights {MIN_APART} apart in the drawing ranges")


def ramp(shape: tuple[int, int], centre: tuple[float, float], direction: tuple[float, float]) -> np.ndarray:
    """w(x) in [0, 1]: 0 on the A side, 1 on the B side of the line through `centre` (row, col) normal to
    `direction` (row, col)."""
    h, w = shape
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    n = np.asarray(direction, dtype=np.float64)
    n = n / (np.linalg.norm(n) or 1.0)
    tau = RAMP * math.hypot(h, w)
    d = ((yy - centre[0]) * n[0] + (xx - centre[1]) * n[1]) / tau
    return 1.0 / (1.0 + np.exp(-np.clip(d, -60, 60)))


def gain_field(w: np.ndarray, light_a: np.ndarray, light_b: np.ndarray) -> np.ndarray:
    """H×W×3 gains of the scene."""
    return (1.0 - w)[..., None] * light_a + w[..., None] * light_b


def region_light(field: np.ndarray, region: np.ndarray) -> np.ndarray:
    """The mean gain over a region (bool H×W)."""
    return field[region].mean(axis=0)


def relight(photo_srgb: np.ndarray, field: np.ndarray, fg: np.ndarray, fg_light: np.ndarray) -> np.ndarray:
    """The photo under `field`, its foreground under the uniform `fg_light`; sRGB float in [0, 1]."""
    lin = srgb_to_linear(photo_srgb)
    gains = field.copy()
    gains[fg] = fg_light
    return linear_to_srgb(lin * gains)


def separating_ramp(a: np.ndarray, b: np.ndarray) -> tuple[tuple[float, float], tuple[float, float]]:
    """(centre, direction) of a ramp that puts region `a` on the A side and `b` on the B side: through the
    midpoint of their centroids, along the line joining them."""
    ca = np.argwhere(a).mean(axis=0)
    cb = np.argwhere(b).mean(axis=0)
    mid = (ca + cb) / 2
    d = cb - ca
    if not np.any(d):
        d = np.array([0.0, 1.0])
    return (float(mid[0]), float(mid[1])), (float(d[0]), float(d[1]))


def truth_for(sample, region: np.ndarray) -> np.ndarray:
    """The truth a relit sample (its `relight` meta: the lights and the ramp) implies for any region — the
    foreground under that region's light; used for generated candidates (auto, boxes)."""
    r = sample.meta["relight"]
    photo = eval_photo(sample.meta["photo"]).astype(np.float64) / 255.0
    fg = sample.fg_mask > 0.5
    field = gain_field(ramp(fg.shape, r["centre"], r["direction"]), np.array(r["light_a"]), np.array(r["light_b"]))
    return relight(photo, field, fg, region_light(field, region > 0.5)).astype(np.float32)
