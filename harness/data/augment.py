"""The IntHarmony augmentations: how a foreground is made to disagree with the rest of the photo.

The IPH paper lists the families (its stage-2 data, IntHarmony, is built from MS-COCO with them): brightness /
contrast, colour jitter (hue, saturation), gamma, 3D LUTs, and *local* lighting changes — soft light, dodge,
grain merge and grain extract — applied through a soft local mask. Every function takes float64 pixels in
[0, 1] (N×3, or H×W×3 for the local ones) and returns new ones clipped to [0, 1]; `draw(family, rng, ...)`
draws a family's parameters from a numpy Generator and records them, so the manifest of a built set says
exactly what was done to every sample.

Definitions (I = the pixel, per channel):
- brightness_contrast: I' = μ + c·(I − μ) + b, μ = the foreground's mean per channel; c ∈ [0.6, 1.4], b ∈ ±[0.03, 0.2].
- colour_jitter: in HSV (scikit-image's rgb2hsv/hsv2rgb, the hexcone model): hue + h (mod 1), saturation × s
  (clipped to 1); h ∈ ±[0.04, 0.15] of the circle, s ∈ [0.5, 1.6].
- gamma: I' = I^g, log g uniform in [log 0.5, log 2].
- lut: a 3D colour lookup table applied with trilinear interpolation (colour-science's `LUT3D.apply`): a
  `.cube` file from `--luts`, or a seeded random smooth LUT (the identity plus a displacement drawn on a 3³
  lattice, ±0.12, and interpolated trilinearly to 17³).
- local lighting (GIMP's legacy layer modes; M = a flat colour layer, α = opacity × a soft local mask):
    soft light     B = (1 − I)·I·M + I·(1 − (1 − I)(1 − M))
    dodge          B = min(I / (1 − M), 1)          (M = 1 gives 1)
    grain merge    B = clip(I + M − 0.5, 0, 1)
    grain extract  B = clip(I − M + 0.5, 0, 1)
    I' = α·B + (1 − α)·I. The mask is a Gaussian blob, exp(−d²/2σ²), centred on a random foreground pixel,
    σ = a fraction in [0.15, 0.5] of the foreground's bounding-box diagonal; opacity ∈ [0.5, 1]; M's channels
    ∈ [0.2, 0.8] (dodge: [0.1, 0.5], so the layer does not saturate everything).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

FAMILIES = ("brightness_contrast", "colour_jitter", "gamma", "lut", "soft_light", "dodge", "grain_merge",
            "grain_extract")
LOCAL = ("soft_light", "dodge", "grain_merge", "grain_extract")
LUT_SIZE = 17


# ------------------------------------------------------------------------------------------- global changes
def brightness_contrast(pixels: np.ndarray, contrast: float, brightness: float) -> np.ndarray:
    mu = pixels.mean(axis=0)
    return np.clip(mu + contrast * (pixels - mu) + brightness, 0.0, 1.0)


def colour_jitter(pixels: np.ndarray, hue: float, saturation: float) -> np.ndarray:
    from skimage.color import hsv2rgb, rgb2hsv

    hsv = rgb2hsv(pixels[None])[0]
    hsv[:, 0] = np.mod(hsv[:, 0] + hue, 1.0)
    hsv[:, 1] = np.clip(hsv[:, 1] * saturation, 0.0, 1.0)
    return np.clip(hsv2rgb(hsv[None])[0], 0.0, 1.0)


def gamma(pixels: np.ndarray, g: float) -> np.ndarray:
    return np.clip(pixels, 0.0, 1.0) ** g


def apply_lut(pixels: np.ndarray, table: np.ndarray) -> np.ndarray:
    """Trilinear lookup in an N×N×N×3 table indexed [r, g, b] over [0, 1]³ (colour-science's convention)."""
    import colour

    return np.clip(colour.LUT3D(table=table).apply(pixels), 0.0, 1.0)


def random_lut(rng: np.random.Generator, size: int = LUT_SIZE, amplitude: float = 0.12) -> np.ndarray:
    """The identity plus a smooth displacement: random on a 3³ lattice, trilinearly interpolated."""
    import colour

    coarse = colour.LUT3D.linear_table(3) + rng.uniform(-amplitude, amplitude, (3, 3, 3, 3))
    fine = colour.LUT3D.linear_table(size)
    return np.clip(colour.LUT3D(table=coarse).apply(fine), 0.0, 1.0)


def read_cube(path: str | Path) -> np.ndarray:
    """A `.cube` file's 3D table ([r, g, b, 3], red fastest in the file), via colour-science."""
    import colour

    from harness.errors import InputError

    try:
        lut = colour.io.read_LUT(str(path))
    except Exception as err:  # noqa: BLE001 — colour raises several types for unreadable files
        raise InputError(path, f"not a readable .cube LUT ({type(err).__name__})") from None
    table = getattr(lut, "table", None)
    if table is None or np.asarray(table).ndim != 4:
        raise InputError(path, "not a 3D LUT (LUT_3D_SIZE)")
    domain = np.asarray(lut.domain, dtype=float)
    if not (np.allclose(domain[0], 0) and np.allclose(domain[1], 1)):
        raise InputError(path, f"domain {domain.tolist()} is not [0, 1]")
    return np.asarray(table, dtype=np.float64)


# ---------------------------------------------------------------------------------------- local lighting
def blend(mode: str, base: np.ndarray, layer: np.ndarray) -> np.ndarray:
    """GIMP's legacy blend `mode` of a layer M over the base I (both in [0, 1])."""
    if mode == "soft_light":
        return (1 - base) * base * layer + base * (1 - (1 - base) * (1 - layer))
    if mode == "dodge":
        with np.errstate(divide="ignore", invalid="ignore"):
            out = np.where(layer >= 1.0, 1.0, base / np.maximum(1.0 - layer, 1e-12))
        return np.minimum(out, 1.0)
    if mode == "grain_merge":
        return np.clip(base + layer - 0.5, 0.0, 1.0)
    if mode == "grain_extract":
        return np.clip(base - layer + 0.5, 0.0, 1.0)
    raise ValueError(f"unknown blend mode {mode!r}")


def soft_mask(shape: tuple[int, int], centre: tuple[float, float], sigma: float) -> np.ndarray:
    """exp(−d²/2σ²) around `centre` (row, column), H×W."""
    yy, xx = np.mgrid[0:shape[0], 0:shape[1]].astype(np.float64)
    d2 = (yy - centre[0]) ** 2 + (xx - centre[1]) ** 2
    return np.exp(-d2 / (2.0 * sigma * sigma))


def local_light(image: np.ndarray, fg: np.ndarray, mode: str, colour: list[float], opacity: float,
                centre: tuple[float, float], sigma: float) -> np.ndarray:
    """The image with `mode` applied inside the foreground through opacity × a Gaussian blob."""
    alpha = (opacity * soft_mask(fg.shape, centre, sigma))[..., None]
    blended = blend(mode, image, np.asarray(colour, dtype=np.float64)[None, None, :])
    out = image.copy()
    out[fg] = np.clip(alpha[fg] * blended[fg] + (1 - alpha[fg]) * image[fg], 0.0, 1.0)
    return out


# ------------------------------------------------------------------------------------- draw and apply
def _pm(rng: np.random.Generator, lo: float, hi: float) -> float:
    return float(rng.uniform(lo, hi) * (1 if rng.random() < 0.5 else -1))


def draw(family: str, rng: np.random.Generator, fg: np.ndarray, luts: list[Path] | None = None) -> dict[str, Any]:
    """The parameters of one augmentation of `family` for foreground `fg` (bool H×W): JSON-able."""
    if family == "brightness_contrast":
        return {"name": family, "contrast": float(rng.uniform(0.6, 1.4)), "brightness": _pm(rng, 0.03, 0.2)}
    if family == "colour_jitter":
        return {"name": family, "hue": _pm(rng, 0.04, 0.15), "saturation": float(rng.uniform(0.5, 1.6))}
    if family == "gamma":
        return {"name": family, "gamma": float(math.exp(rng.uniform(math.log(0.5), math.log(2.0))))}
    if family == "lut":
        if luts:
            return {"name": family, "file": Path(luts[int(rng.integers(len(luts)))]).name}
        return {"name": family, "random_seed": int(rng.integers(2**31))}
    if family in LOCAL:
        ys, xs = np.nonzero(fg)
        k = int(rng.integers(len(ys)))
        diag = math.hypot(ys.max() - ys.min() + 1, xs.max() - xs.min() + 1)
        lo, hi = (0.1, 0.5) if family == "dodge" else (0.2, 0.8)
        return {"name": family, "colour": [float(c) for c in rng.uniform(lo, hi, 3)],
                "opacity": float(rng.uniform(0.5, 1.0)), "centre": [int(ys[k]), int(xs[k])],
                "sigma": float(diag * rng.uniform(0.15, 0.5))}
    raise ValueError(f"unknown augmentation family {family!r}")


def apply(image: np.ndarray, fg: np.ndarray, params: dict[str, Any], luts_dir: Path | None = None) -> np.ndarray:
    """`image` (float64 H×W×3 in [0, 1]) with the augmentation `params` applied inside `fg` only."""
    name = params["name"]
    if name in LOCAL:
        return local_light(image, fg, name, params["colour"], params["opacity"], tuple(params["centre"]),
                           params["sigma"])
    pixels = image[fg]
    if name == "brightness_contrast":
        new = brightness_contrast(pixels, params["contrast"], params["brightness"])
    elif name == "colour_jitter":
        new = colour_jitter(pixels, params["hue"], params["saturation"])
    elif name == "gamma":
        new = gamma(pixels, params["gamma"])
    elif name == "lut":
        table = (read_cube(Path(luts_dir) / params["file"]) if "file" in params
                 else random_lut(np.random.default_rng(params["random_seed"])))
        new = apply_lut(pixels, table)
    else:
        raise ValueError(f"unknown augmentation {name!r}")
    out = image.copy()
    out[fg] = new
    return out
