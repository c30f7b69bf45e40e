"""Per-image harmonization metrics: one definition, checked against scikit-image and colour-science.

Inputs follow `harness.data.sample`: `pred` and `real` are float32 H×W×3 sRGB in [0, 1]; `fg_mask` is H×W in
[0, 1] and the foreground is `fg = fg_mask > 0.5` (binary; a soft mask is *thresholded*, not used as weights).
Other float dtypes are cast to float32 first; uint8 images are rejected as out of range (divide by 255 first).

Conventions (n = H·W, n_fg = Σ fg, diff = 255·(pred − real)):
- `mse`   = Σ diff² / (3n), on the 0–255 scale of the published leaderboards.
- `fmse`  = Σ_fg diff² / (3·n_fg) over the *binary* foreground: the iHarmony4 definition (bcmi's
  evaluation.py writes it mse(out·m, real·m)·H·W/Σm with a 0/1 mask — the same number). iDIH's fMSE is a
  different one: Σ m·diff² / (3·Σm + 1e-6) with the resized mask's *soft* values as weights
  (iharm/inference/metrics.py); `--protocol idih` computes that one (harness/scoring/peers.py).
- `psnr`  = 10·log10(255² / mse), `fpsnr` = 10·log10(255² / fmse): a **fixed peak of 255** (1.0 on [0, 1]).
  The bcmi / iHarmony4 / DoveNet scripts call skimage's PSNR with `data_range = out.max() − out.min()`, a
  per-image peak ≤ 255, so their PSNR is lower by 20·log10(255 / (max − min)) dB on images that do not span
  the full range; iDIH uses gt.max() as the peak (and mse + 1e-6). `--protocol bcmi|idih` reproduce those.
  Identical images (mse = 0) give `inf`, reported as such.
- `ssim`  = skimage `structural_similarity(pred, real, channel_axis=-1, data_range=1.0,
  gaussian_weights=True, sigma=1.5, use_sample_covariance=False)`: Gaussian window σ = 1.5 truncated at
  3.5σ (radius 5, 11×11), 'reflect' (half-sample symmetric) borders, and — as skimage does — the mean is
  taken over the map with 5 pixels cropped from every side. `fssim` = mean of the *full* (uncropped) SSIM map
  over foreground pixels and the three channels.
- `de2000`, `de76` = mean CIEDE2000 / CIE 1976 ΔE over all pixels, `fde2000`, `fde76` over foreground
  pixels, on Lab = `colour.XYZ_to_Lab(colour.sRGB_to_XYZ(rgb))`: IEC 61966-2-1 decoding, the IEC sRGB matrix
  (colour's CAT02 adaptation D65→D65 is the identity), D65 white (x, y) = (0.3127, 0.3290).
  skimage's `rgb2lab` uses a different matrix and white (Lab differs by up to ~2e-2): we follow colour-science.
- `fg_ratio` = n_fg / n. With an empty foreground the f-metrics are NaN.

Speed (the plain skimage + colour-science pipeline costs ~10 s per 2048² image on 2 cores): SSIM and the
sRGB→Lab→ΔE chain run in torch float32; the squared errors in numpy float64. Two exact shortcuts do most of
the work: where `pred` and `real` agree on a pixel its ΔE is exactly 0, and where they agree on a whole 11×11
window the SSIM map is exactly 1 (ux = uy and vx = vy = vxy make numerator and denominator bit-identical),
so ΔE is computed on the changed pixels only and SSIM on row strips × column spans that reach a change.
Methods alter the foreground only, so this is usually a fraction of the image; the result is the same as a
dense computation (the tests check both cases against the libraries).

Threads: nothing here sets a thread count. One image is meant to be scored on one core (the engine's Ray
workers run torch with 1 thread; parallelism comes from scoring images in separate workers). With more torch
intra-op threads the SSIM strips run in OpenMP parallel regions: a little faster on idle cores, but on cores
shared with other busy processes OpenMP's spinning barriers made scoring 10× *slower* here (measured).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

import numpy as np

from harness.data.sample import INSIDE

if TYPE_CHECKING:  # torch is imported inside the functions: `from harness.scoring.metrics import METRICS` stays light
    import torch

METRICS: tuple[str, ...] = (
    "mse", "fmse", "psnr", "fpsnr", "ssim", "fssim", "de2000", "fde2000", "de76", "fde76",
)
HIGHER_IS_BETTER: dict[str, bool] = {
    "mse": False, "fmse": False, "psnr": True, "fpsnr": True, "ssim": True, "fssim": True,
    "de2000": False, "fde2000": False, "de76": False, "fde76": False,
}

PEAK = 255.0
SSIM_SIGMA = 1.5
SSIM_RADIUS = int(3.5 * SSIM_SIGMA + 0.5)  # skimage: truncate = 3.5, r = int(truncate·σ + 0.5) = 5 → 11×11
_K1, _K2, _DATA_RANGE = 0.01, 0.03, 1.0
# Pixels per ΔE chunk: the intermediates (64 KiB each) stay in cache (~3× faster than whole-image tensors),
# and each op stays under torch's parallel grain (32768), so ΔE never opens an OpenMP region (see below).
_CHUNK = 1 << 14
_STRIP = 32  # output rows per SSIM strip: bounds memory (~15 maps × strip) and skips unchanged strips

# colour-science 0.4.7 constants (see module docstring); the tests compare against colour itself.
_M_SRGB_TO_XYZ = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]])
_D65_XY = (0.3127, 0.3290)
_WHITE_XYZ = np.array([_D65_XY[0] / _D65_XY[1], 1.0, (1.0 - _D65_XY[0] - _D65_XY[1]) / _D65_XY[1]])
_SRGB_LINEAR_MAX = 0.0031308 * 12.92  # colour: eotf_inverse_sRGB(0.0031308) >= V → V / 12.92


def _f32_at_most(x: float) -> float:
    """Largest float32 ≤ x, so that `v <= it` on float32 v decides exactly like `v <= x` in float64."""
    y = np.float32(x)
    return float(y if y <= x else np.nextafter(y, np.float32(-np.inf)))


_SRGB_LINEAR_MAX_F32 = _f32_at_most(_SRGB_LINEAR_MAX)


def _gauss_weights() -> list[float]:
    # scipy.ndimage._gaussian_kernel1d: exp(−x²/2σ²) normalised to sum 1, in float64
    x = np.arange(-SSIM_RADIUS, SSIM_RADIUS + 1, dtype=np.float64)
    w = np.exp(-0.5 / SSIM_SIGMA**2 * x**2)
    return (w / w.sum()).tolist()


_GAUSS = _gauss_weights()


# ---------------------------------------------------------------- validation


def _check(pred: np.ndarray, real: np.ndarray, fg_mask: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    for name, arr in (("pred", pred), ("real", real)):
        if not isinstance(arr, np.ndarray) or arr.ndim != 3 or arr.shape[2] != 3:
            raise ValueError(f"{name} must be an H×W×3 array, got shape {getattr(arr, 'shape', type(arr))}")
    if pred.shape != real.shape:
        raise ValueError(f"pred is {pred.shape[1]}×{pred.shape[0]} but real is {real.shape[1]}×{real.shape[0]}")
    fg_mask = np.asarray(fg_mask)
    if fg_mask.ndim == 3 and fg_mask.shape[2] == 1:
        fg_mask = fg_mask[..., 0]
    if fg_mask.shape != pred.shape[:2]:
        raise ValueError(f"fg_mask has shape {fg_mask.shape}, expected {pred.shape[:2]} (H×W, like the images)")
    win = 2 * SSIM_RADIUS + 1
    if min(pred.shape[:2]) < win:
        raise ValueError(f"images must be at least {win}×{win} for the SSIM window, got {pred.shape[1]}×{pred.shape[0]}")
    pred = pred.astype(np.float32, copy=False)
    real = real.astype(np.float32, copy=False)
    for name, arr in (("pred", pred), ("real", real)):
        lo, hi = float(arr.min()), float(arr.max())
        if not (np.isfinite(lo) and np.isfinite(hi)) or lo < 0.0 or hi > 1.0:
            raise ValueError(f"{name} values must be finite and in [0, 1], got range [{lo}, {hi}]")
    return pred, real, fg_mask > INSIDE


# ---------------------------------------------------------------- colour (torch float32)


def srgb_to_lab(rgb: torch.Tensor) -> torch.Tensor:
    """(3, ...) sRGB in [0, 1], channel first → CIE Lab (D65), as `colour.XYZ_to_Lab(colour.sRGB_to_XYZ(rgb))`."""
    import torch

    lin = torch.where(rgb <= _SRGB_LINEAR_MAX_F32, rgb / 12.92, ((rgb + 0.055) / 1.055).pow(2.4))
    m = torch.as_tensor(_M_SRGB_TO_XYZ / _WHITE_XYZ[:, None], dtype=rgb.dtype)  # fold the white division in
    t = torch.tensordot(m, lin, dims=1)
    f = torch.where(t > (24 / 116) ** 3, t.pow(1 / 3), (841 / 108) * t + 16 / 116)
    return torch.stack((116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])))


def delta_e76(lab1: torch.Tensor, lab2: torch.Tensor) -> torch.Tensor:
    """Euclidean distance in Lab (colour.delta_E_CIE1976); channel-first (3, ...) inputs."""
    import torch

    d = lab1 - lab2
    return torch.sqrt(d[0] * d[0] + d[1] * d[1] + d[2] * d[2])  # vector_norm(dim=0) is ~10× slower here


def _pow7(x: torch.Tensor) -> torch.Tensor:
    x2 = x * x
    return x2 * x2 * x2 * x  # 4 multiplies: a generic pow is ~3× slower and no more accurate here


def delta_e2000(lab1: torch.Tensor, lab2: torch.Tensor) -> torch.Tensor:
    """CIEDE2000 (kL = kC = kH = 1), step for step as colour.difference.delta_E_CIE2000; (3, ...) inputs."""
    import torch

    L1, a1, b1 = lab1
    L2, a2, b2 = lab2
    c_bar7 = _pow7((torch.hypot(a1, b1) + torch.hypot(a2, b2)) / 2)
    g = 0.5 * (1 - torch.sqrt(c_bar7 / (c_bar7 + 25.0**7)))
    ap1, ap2 = (1 + g) * a1, (1 + g) * a2
    cp1, cp2 = torch.hypot(ap1, b1), torch.hypot(ap2, b2)

    def hue(ap: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        h = torch.remainder(torch.rad2deg(torch.atan2(b, ap)), 360.0)
        return torch.where((b == 0) & (ap == 0), 0.0, h)

    hp1, hp2 = hue(ap1, b1), hue(ap2, b2)
    dh = hp2 - hp1
    cp12 = cp1 * cp2
    zero_c = cp12 == 0
    dhp = torch.where(dh > 180, dh - 360, torch.where(dh < -180, dh + 360, dh))
    dhp = torch.where(zero_c, 0.0, dhp)
    dHp = 2 * torch.sqrt(cp12) * torch.sin(torch.deg2rad(dhp / 2))
    dLp, dCp = L2 - L1, cp2 - cp1

    l_bar = (L1 + L2) / 2
    c_bar = (cp1 + cp2) / 2
    hsum = hp1 + hp2
    far = torch.abs(hp1 - hp2) > 180
    h_bar = torch.where(far, torch.where(hsum < 360, (hsum + 360) / 2, (hsum - 360) / 2), hsum / 2)
    h_bar = torch.where(zero_c, hsum, h_bar)
    hr = torch.deg2rad(h_bar)
    t = (1 - 0.17 * torch.cos(hr - np.deg2rad(30)) + 0.24 * torch.cos(2 * hr)
         + 0.32 * torch.cos(3 * hr + np.deg2rad(6)) - 0.20 * torch.cos(4 * hr - np.deg2rad(63)))
    d_theta = 30 * torch.exp(-(((h_bar - 275) / 25) ** 2))
    c_bar7p = _pow7(c_bar)
    r_c = 2 * torch.sqrt(c_bar7p / (c_bar7p + 25.0**7))
    l2 = (l_bar - 50) ** 2
    s_l = 1 + 0.015 * l2 / torch.sqrt(20 + l2)
    s_c = 1 + 0.045 * c_bar
    s_h = 1 + 0.015 * c_bar * t
    r_t = -torch.sin(torch.deg2rad(2 * d_theta)) * r_c
    tl, tc, th = dLp / s_l, dCp / s_c, dHp / s_h
    return torch.sqrt(tl**2 + tc**2 + th**2 + r_t * tc * th)


def _delta_e_sums(p: np.ndarray, q: np.ndarray, on_fg: np.ndarray) -> tuple[float, float, float, float]:
    """(Σ ΔE2000, Σ_fg ΔE2000, Σ ΔE76, Σ_fg ΔE76) over N×3 pixel lists, in cache-sized chunks."""
    import torch

    sums = np.zeros(4)
    for i in range(0, len(p), _CHUNK):
        x = torch.from_numpy(np.ascontiguousarray(p[i:i + _CHUNK].T))
        y = torch.from_numpy(np.ascontiguousarray(q[i:i + _CHUNK].T))
        lx, ly = srgb_to_lab(x), srgb_to_lab(y)
        m = torch.from_numpy(on_fg[i:i + _CHUNK])
        for j, e in ((0, delta_e2000(ly, lx)), (2, delta_e76(ly, lx))):
            sums[j] += float(e.sum(dtype=torch.float64))
            sums[j + 1] += float(e[m].sum(dtype=torch.float64))
    return tuple(sums)


# ---------------------------------------------------------------- SSIM (torch float32)


def _blur_valid(x: torch.Tensor) -> torch.Tensor:
    """Separable 11×11 Gaussian over the last two dims, 'valid' (input already padded by the radius).
    Shifted multiply-adds: on CPU this is >10× faster than conv2d with a depthwise kernel."""
    r2 = 2 * SSIM_RADIUS
    h, w = x.shape[-2] - r2, x.shape[-1] - r2
    y = x[..., 0:h, :] * _GAUSS[0]
    for k in range(1, r2 + 1):
        y.add_(x[..., k:k + h, :], alpha=_GAUSS[k])
    z = y[..., 0:w] * _GAUSS[0]
    for k in range(1, r2 + 1):
        z.add_(y[..., k:k + w], alpha=_GAUSS[k])
    return z


def ssim_map_valid(xp: torch.Tensor, yp: torch.Tensor) -> torch.Tensor:
    """SSIM map of (C, h+10, w+10) padded float32 inputs → (C, h, w), skimage's formula with population
    covariance. Inputs are shifted by −0.5 before the second moments to halve float32 cancellation in
    E[x²] − E[x]²; the shift cancels in every variance and is added back to the means."""
    import torch

    xs, ys = xp - 0.5, yp - 0.5
    n = xs.shape[0]
    mom = _blur_valid(torch.cat((xs, ys, xs * xs, ys * ys, xs * ys), dim=0))
    mx, my, sxx, syy, sxy = mom.split(n, dim=0)
    vx, vy, vxy = sxx - mx * mx, syy - my * my, sxy - mx * my
    ux, uy = mx + 0.5, my + 0.5
    c1, c2 = (_K1 * _DATA_RANGE) ** 2, (_K2 * _DATA_RANGE) ** 2
    a1, a2 = 2 * ux * uy + c1, 2 * vxy + c2
    b1, b2 = ux * ux + uy * uy + c1, vx + vy + c2
    return (a1 * a2) / (b1 * b2)


def _window(img: np.ndarray, top: int, bottom: int, left: int, right: int) -> torch.Tensor:
    """img[top:bottom, left:right] channel-first, the parts outside the image filled as scipy.ndimage mode
    'reflect' does (half-sample symmetric: d c b a | a b c d = numpy's 'symmetric'); overhang < image size."""
    import torch

    h, w = img.shape[:2]
    rows = slice(top, bottom) if top >= 0 and bottom <= h else _reflect(np.arange(top, bottom), h)
    cols = slice(left, right) if left >= 0 and right <= w else _reflect(np.arange(left, right), w)
    block = img[rows][:, cols]  # basic slicing (a view) where possible; a one-axis gather at the borders
    return torch.from_numpy(block).permute(2, 0, 1).contiguous()  # from_numpy takes the strided view: 1 copy


def _reflect(idx: np.ndarray, n: int) -> np.ndarray:
    """Indices −k−1 → k and n+k → n−1−k (one reflection suffices: the overhang is ≤ 5 < n)."""
    idx = np.where(idx < 0, -idx - 1, idx)
    return np.where(idx >= n, 2 * n - idx - 1, idx)


def _ssim_sums(pred: np.ndarray, real: np.ndarray, changed: np.ndarray, fg: np.ndarray) -> tuple[float, float]:
    """Σ (S − 1) over skimage's cropped region and over the foreground (all channels), visiting only row
    strips and column spans whose window can reach a changed pixel (elsewhere S = 1 exactly). Each strip is
    cut out with its halo (reflected at the image border) directly: no padded copy of the whole image."""
    import torch

    r = SSIM_RADIUS
    h, w = changed.shape
    rows_changed = changed.any(axis=1)
    crop_sum = fg_sum = 0.0
    for r0 in range(0, h, _STRIP):
        r1 = min(h, r0 + _STRIP)
        lo, hi = max(0, r0 - r), min(h, r1 + r)  # image rows that windows of output rows r0..r1 touch
        if not rows_changed[lo:hi].any():
            continue
        cols = np.flatnonzero(changed[lo:hi].any(axis=0))
        c0, c1 = max(0, cols[0] - r), min(w, cols[-1] + r + 1)
        x, y = (_window(img, r0 - r, r1 + r, c0 - r, c1 + r) for img in (pred, real))
        s = ssim_map_valid(x, y) - 1.0
        # skimage's mean crops r pixels from every side
        cr0, cr1, cc0, cc1 = max(r0, r), min(r1, h - r), max(c0, r), min(c1, w - r)
        if cr1 > cr0 and cc1 > cc0:
            crop_sum += float(s[:, cr0 - r0:cr1 - r0, cc0 - c0:cc1 - c0].sum(dtype=torch.float64))
        m = torch.from_numpy(fg[r0:r1, c0:c1])
        if bool(m.any()):
            fg_sum += float(s[:, m].sum(dtype=torch.float64))
    return crop_sum, fg_sum


# ---------------------------------------------------------------- public API


def _psnr(mse: float) -> float:
    if np.isnan(mse):
        return float("nan")
    return float("inf") if mse == 0 else float(10.0 * np.log10(PEAK**2 / mse))


def score_image(pred: np.ndarray, real: np.ndarray, fg_mask: np.ndarray) -> dict[str, float]:
    """The 10 metrics of `METRICS` plus `fg_ratio` for one prediction against its ground truth.
    Raises ValueError on mismatched shapes, non-finite or out-of-range values."""
    pred, real, fg = _check(pred, real, fg_mask)
    h, w, _ = pred.shape
    n, n_fg = h * w, int(fg.sum())
    nan = float("nan")
    d = pred != real
    changed = d[..., 0] | d[..., 1] | d[..., 2]  # ~8× faster than d.any(axis=-1)
    idx = np.flatnonzero(changed)  # every metric below is exactly 0 (or S = 1) off these pixels
    p = pred.reshape(-1, 3)[idx]
    q = real.reshape(-1, 3)[idx]
    on_fg = fg.reshape(-1)[idx]

    sq = ((p.astype(np.float64) - q.astype(np.float64)) * PEAK) ** 2
    sq_px = sq.sum(axis=1)
    mse = float(sq_px.sum() / (3 * n))
    fmse = float(sq_px[on_fg].sum() / (3 * n_fg)) if n_fg else nan

    e00, f_e00, e76, f_e76 = _delta_e_sums(p, q, on_fg)
    s_crop, s_fg = _ssim_sums(pred, real, changed, fg) if idx.size else (0.0, 0.0)
    r = SSIM_RADIUS
    return {
        "mse": mse,
        "fmse": fmse,
        "psnr": _psnr(mse),
        "fpsnr": _psnr(fmse),
        "ssim": 1.0 + s_crop / (3 * (h - 2 * r) * (w - 2 * r)),
        "fssim": 1.0 + s_fg / (3 * n_fg) if n_fg else nan,
        "de2000": e00 / n,
        "fde2000": f_e00 / n_fg if n_fg else nan,
        "de76": e76 / n,
        "fde76": f_e76 / n_fg if n_fg else nan,
        "fg_ratio": n_fg / n,
    }


def score_images(preds: Sequence[np.ndarray], reals: Sequence[np.ndarray],
                 fg_masks: Sequence[np.ndarray]) -> list[dict[str, float]]:
    """`score_image` over aligned sequences (one result per image, in order)."""
    if not (len(preds) == len(reals) == len(fg_masks)):
        raise ValueError(f"got {len(preds)} predictions, {len(reals)} ground truths and {len(fg_masks)} masks")
    return [score_image(p, q, m) for p, q, m in zip(preds, reals, fg_masks)]
