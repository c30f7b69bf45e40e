"""Classical reference-guided harmonization: `composite`, `reinhard`, `lum-match` (numpy + scikit-image only).

Every method is `fn(composite, fg_mask, ref_mask, **options) -> image`: composite float32 H×W×3 in [0, 1],
masks float32 H×W in [0, 1] (inside = > 0.5). Statistics are taken over the *inside* pixels of each region; the
result is blended with the soft foreground mask, out = m·harmonized + (1−m)·composite, so every pixel with
m == 0 is returned bit-identical. They work at any resolution (no fixed working size).

Colour space: **CIELAB** (skimage `rgb2lab`/`lab2rgb`, sRGB, D65) for both colour methods, not Reinhard's lαβ:
the issue asks for Lab transfer, the benchmark's ΔE is measured in CIELAB so the methods move exactly the
quantities that are scored, and lαβ takes log(LMS), which is undefined at black pixels. Like lαβ, CIELAB is an
opponent space (lightness, red–green, yellow–blue) with weakly correlated channels, which is what makes
per-channel transfer sensible. Only the pixels that are needed (foreground, reference) are converted.
"""

from __future__ import annotations

import warnings

import numpy as np
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from scipy.interpolate import PchipInterpolator

from harness.data.sample import INSIDE
from harness.errors import InputError

STD_EPS = 1e-3  # a foreground channel flatter than this (Lab units) is only shifted, never scaled by σ_r/σ_f
MIN_GAP = 0.5  # curve anchors closer than this in L* are merged (keeps the interpolant's x strictly increasing)


def _check(composite: np.ndarray, fg_mask: np.ndarray, ref_mask: np.ndarray,
           need_ref: bool = True) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    if composite.ndim != 3 or composite.shape[2] != 3:
        raise InputError("composite", f"must be H×W×3, got shape {composite.shape}")
    for name, m in (("foreground mask", fg_mask), ("reference mask", ref_mask)):
        if m.shape != composite.shape[:2]:
            raise InputError(name, f"is {m.shape} but the composite is {composite.shape[:2]}")
    fg, ref = fg_mask > INSIDE, ref_mask > INSIDE
    if not fg.any():
        raise InputError("foreground mask", "is empty (no pixel > 0.5)")
    if need_ref and not ref.any():
        raise InputError("reference mask", "is empty (no pixel > 0.5)")
    return composite.astype(np.float32, copy=False), fg, ref


def rgb2lab(rgb: np.ndarray) -> np.ndarray:
    from skimage.color import rgb2lab as convert  # here, not at import: building a method only checks options

    return convert(rgb)


def _lab2rgb(lab: np.ndarray) -> np.ndarray:
    from skimage.color import lab2rgb

    with warnings.catch_warnings():  # out-of-gamut Lab is expected after a transfer; we clip it below
        warnings.simplefilter("ignore")
        return np.clip(lab2rgb(lab), 0.0, 1.0)


def _blend(composite: np.ndarray, fg_mask: np.ndarray, new_rgb: np.ndarray) -> np.ndarray:
    """Put harmonized pixels back with the soft mask; only pixels with m > 0 are written at all."""
    out = composite.astype(np.float32, copy=True)
    touched = fg_mask > 0
    m = fg_mask[touched][:, None].astype(np.float32)
    out[touched] = np.clip(m * new_rgb.astype(np.float32) + (1.0 - m) * composite[touched], 0.0, 1.0)
    return out


def composite(composite: np.ndarray, fg_mask: np.ndarray, ref_mask: np.ndarray) -> np.ndarray:
    """The lower bound: the composite itself, unchanged."""
    _check(composite, fg_mask, ref_mask, need_ref=False)
    return composite.astype(np.float32, copy=True)


def reinhard(composite: np.ndarray, fg_mask: np.ndarray, ref_mask: np.ndarray) -> np.ndarray:
    """Reinhard et al. 2001 colour transfer in CIELAB: match the fg's per-channel mean/std to the reference's."""
    img, fg, ref = _check(composite, fg_mask, ref_mask)
    lab_f = rgb2lab(img[fg])
    lab_r = rgb2lab(img[ref])
    mu_f, sd_f = lab_f.mean(axis=0), lab_f.std(axis=0)
    mu_r, sd_r = lab_r.mean(axis=0), lab_r.std(axis=0)
    # A flat foreground channel carries no contrast to rescale: shift it only (no division by ~0).
    scale = np.where(sd_f > STD_EPS, sd_r / np.maximum(sd_f, STD_EPS), 1.0)
    touched = fg_mask > 0  # soft edge pixels (0 < m ≤ 0.5) get the same transform, blended by m
    lab_t = (rgb2lab(img[touched]) - mu_f) * scale + mu_r
    return _blend(img, fg_mask, _lab2rgb(lab_t))


def _tone_curve(x_pts: list[float], y_pts: list[float]) -> tuple["PchipInterpolator", list[float], list[float]]:
    """Monotone curve through (0,0), the usable anchors and (100,100), in L* units.

    Anchors are added in priority order (shadow, highlight, mid-tone); one is dropped when it would make x not
    strictly increasing (closer than MIN_GAP to a kept one) or y decreasing, e.g. a skewed histogram whose
    mean lies below its p10. Black and white stay fixed, as in an editor's curves dialogue.
    Returns the curve and the kept anchors (x, y), endpoints included.
    """
    from scipy.interpolate import PchipInterpolator

    xs, ys = [0.0, 100.0], [0.0, 100.0]
    for x, y in zip(x_pts, y_pts):
        if not (MIN_GAP <= x <= 100.0 - MIN_GAP):
            continue
        i = int(np.searchsorted(xs, x))
        if x - xs[i - 1] < MIN_GAP or xs[i] - x < MIN_GAP:
            continue
        y = float(np.clip(y, 0.0, 100.0))
        if not (ys[i - 1] <= y <= ys[i]):
            continue
        xs.insert(i, float(x))
        ys.insert(i, y)
    return PchipInterpolator(xs, ys), xs, ys


def lum_match(composite: np.ndarray, fg_mask: np.ndarray, ref_mask: np.ndarray, *,
              chroma: float = 1.0, mean_iters: int = 4) -> np.ndarray:
    """Map the fg's L* shadow/mid-tone/highlight (p10/mean/p90) onto the reference's; shift mean a*, b*.

    The tone curve is a monotone piecewise cubic (PCHIP) on CIELAB L*, which changes lightness only; each
    pixel's a*, b* are kept and then moved by `chroma` × (reference mean − foreground mean) (1 = full shift,
    0 = tone only). A monotone map sends the fg's p10/p90 exactly onto the reference's, but not its mean (the
    curve is nonlinear): the mid-tone anchor's output is nudged `mean_iters` times so the mapped mean lands
    on the reference's mean too.
    """
    img, fg, ref = _check(composite, fg_mask, ref_mask)
    if not 0.0 <= chroma <= 1.0:
        raise InputError("lum-match", f"chroma must be in [0, 1], got {chroma}")
    lab_f = rgb2lab(img[fg])
    lab_r = rgb2lab(img[ref])
    lf, lr = lab_f[:, 0], lab_r[:, 0]
    pf = np.percentile(lf, [10, 90])
    pr = np.percentile(lr, [10, 90])
    mean_f, mean_r = float(lf.mean()), float(lr.mean())

    xs = [pf[0], pf[1], mean_f]
    ys = [pr[0], pr[1], mean_r]
    curve, kx, ky = _tone_curve(xs, ys)
    if mean_f in kx:  # the mid-tone anchor was usable: nudge its output so the mapped mean hits mean_r
        i = kx.index(mean_f)
        lo, hi = ky[i - 1], ky[i + 1]  # stay between the neighbours' outputs, so the curve stays monotone
        for _ in range(int(mean_iters)):  # fixed point: the mapped mean moves roughly 1:1 with the mid anchor
            err = mean_r - float(curve(lf).mean())
            if abs(err) < 1e-3:
                break
            ys[2] = float(np.clip(ys[2] + err, lo, hi))
            curve, kx, ky = _tone_curve(xs, ys)

    touched = fg_mask > 0
    lab_t = rgb2lab(img[touched])
    lab_t[:, 0] = curve(lab_t[:, 0])
    lab_t[:, 1:] += chroma * (lab_r[:, 1:].mean(axis=0) - lab_f[:, 1:].mean(axis=0))
    return _blend(img, fg_mask, _lab2rgb(lab_t))


class ClassicalMethod:
    """A registered classical function behind the Method interface; its options (declared in its registry
    entry) are its keyword-only arguments, typed by their defaults (`lum-match:chroma=0.5`)."""

    resolution = None  # works at the sample's own resolution
    parameters = 0  # no network (harness/methods/cost.py: what a method costs)

    def __init__(self, spec) -> None:
        import inspect

        from harness.errors import HarnessError
        from harness.methods import registry

        self.spec = spec
        info = registry.get(spec.name)
        self._fn = registry.load(info.target)
        self.uses_reference = bool(info.uses_reference)
        registry.check_options(info, spec.opts)
        allowed = inspect.signature(self._fn).parameters
        try:
            self._kwargs = {k: type(allowed[k].default)(v) for k, v in spec.options}
        except ValueError:
            raise HarnessError(f"method '{spec.label}': an option value is not a number") from None

    def harmonize(self, sample) -> np.ndarray:
        return self._fn(sample.composite, sample.fg_mask, sample.ref_mask, **self._kwargs)
