"""From a method's working resolution up to the sample's own, in one place: the three ways up (`UPSAMPLE`).

A method that works at 256² (the learned ones) is run on the resized sample; its low-res output becomes a
native-resolution one by one of (`upsample`):

- `mapping` — a per-image polynomial colour mapping, IPH's own way up (the paper's §4 high-res output; Afifi et
  al. 2019, Deep WB, the SSH demo), detailed below: the native foreground recoloured by the mapping the network
  applied at low resolution; composited over the input by construction;
- `residual` — the network's change, out_low − composite_low, resized bicubically (signed, unclipped) and
  added to the native composite: the network's colours at low frequency, the photo's own detail;
- `bicubic` — the network's output itself resized bicubically (its detail is the working resolution's).

For a network whose official output is composited (IPH, Rain-Net) residual and bicubic are composited over the
input with the native soft mask; for one whose official output is its whole image (Dove-Net, Bargain-Net) they
are not. At the working resolution itself no way up is taken: the method is scored as itself.

The colour mapping:

1. fit   Φ(low-res composite) · M ≈ low-res output   on the low-res foreground pixels (mask > 0.5);
2. apply Φ(full-res composite) · M  on the full-res foreground, clip to [0, 1];
3. composite with the full-res soft mask: out = m·mapped + (1−m)·composite (pixels with m == 0 untouched).

Kernels (the expansion is colour-science's `matrix_augmented_Cheung2004`, so one definition serves all):
- 11 terms (default, Afifi's WB_sRGB kernel, identical to Cheung's 11): [r, g, b, rg, rb, gb, r², g², b², rgb, 1];
- 17 terms (Cheung 2004, as `colour.colour_correction(..., method="Cheung 2004", terms=17)`): adds
  r²g, g²b, b²r, r³, g³, b³;
- 4 terms (affine): [r, g, b, 1] — the fallback for tiny foregrounds.
The fit is done in the stored (sRGB-encoded) values, as Afifi's kernel is; the SSH demo fits in linear RGB.

Robustness:
- tiny foreground: a kernel is used only with at least `MIN_COLOURS_PER_TERM` × terms distinct fit colours;
  otherwise 17 → 11 → 4 (affine) → a pure colour offset (mean shift) for a handful of colours (or a flat
  foreground). If no low-res pixel has
  mask > 0.5 (the foreground vanished when shrinking) the partially covered pixels (mask > 0) are used; if there
  are none either, the mapping is the identity and the composite comes back unchanged (with a warning).
- ill-conditioning (few distinct colours, r³ ≈ r²...): least squares with a small ridge that shrinks toward the
  *identity* mapping rather than toward zero, so directions the data cannot pin down leave colours unchanged
  instead of sending them to black. The ridge is relative (`RIDGE` × mean diagonal of ΦᵀΦ/N), so on
  well-spread data the fit matches plain least squares (colour-science's Moore-Penrose) to ~1e-5.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from harness.data.sample import INSIDE
from harness.errors import InputError
from harness.methods.registry import UPSAMPLE  # named once, with the methods that use them

KERNELS = (17, 11, 4)  # supported polynomial kernels, largest first (the fallback chain)
MIN_COLOURS_PER_TERM = 3  # fewer distinct fit colours than this × terms → a smaller kernel
RIDGE = 1e-9  # relative ridge toward the identity mapping (agrees with plain least squares to ~1e-5)
_CHUNK = 1 << 18  # pixels per chunk when applying at full resolution (bounded memory at 2048²+)


@dataclass(frozen=True)
class ColorMapping:
    """A fitted mapping: rgb ↦ clip(Φ_terms(rgb) · matrix). `terms == 0` is a pure offset (rgb + offset)."""

    terms: int
    matrix: np.ndarray  # (terms, 3); for terms == 0: (1, 3) offset
    n_pixels: int  # how many pixels the fit used


def _expand(rgb: np.ndarray, terms: int) -> np.ndarray:
    from colour.characterisation import matrix_augmented_Cheung2004

    return np.asarray(matrix_augmented_Cheung2004(np.asarray(rgb, dtype=np.float64), terms), dtype=np.float64)


def _identity_matrix(terms: int) -> np.ndarray:
    # Every kernel starts with r, g, b: the identity map puts 1 on those and 0 elsewhere.
    m = np.zeros((terms, 3))
    m[:3, :3] = np.eye(3)
    return m


def _pick_terms(requested: int, n: int) -> int:
    for t in KERNELS:
        if t <= requested and n >= MIN_COLOURS_PER_TERM * t:
            return t
    return 0  # too few pixels even for an affine map: offset only


def fit_color_mapping(src: np.ndarray, dst: np.ndarray, terms: int = 11) -> ColorMapping:
    """Least-squares polynomial map src (N×3) → dst (N×3), both in [0, 1]. See the module docstring."""
    src = np.asarray(src, dtype=np.float64)
    dst = np.asarray(dst, dtype=np.float64)
    if terms not in KERNELS:
        raise InputError("color mapping", f"terms must be one of {sorted(KERNELS)}, got {terms}")
    if src.shape != dst.shape or (src.size and src.shape[-1] != 3):
        raise InputError("color mapping", f"src and dst must both be N×3, got {src.shape} and {dst.shape}")
    src, dst = src.reshape(-1, 3), dst.reshape(-1, 3)
    n = src.shape[0]
    if n == 0:
        return ColorMapping(0, np.zeros((1, 3)), 0)
    # Kernel size follows the number of *distinct* colours: 10⁴ copies of one colour pin down only an offset.
    used = _pick_terms(terms, len(np.unique(src, axis=0)))
    if used == 0:
        return ColorMapping(0, (dst - src).mean(axis=0, keepdims=True), n)
    phi = _expand(src, used)
    gram = phi.T @ phi / n
    lam = RIDGE * float(np.trace(gram)) / used
    m0 = _identity_matrix(used)
    # argmin ||ΦM − Y||²/N + λ||M − M0||²  ⇔  (ΦᵀΦ/N + λI) M = ΦᵀY/N + λM0
    matrix = np.linalg.solve(gram + lam * np.eye(used), phi.T @ dst / n + lam * m0)
    return ColorMapping(used, matrix, n)


def apply_color_mapping(mapping: ColorMapping, rgb: np.ndarray) -> np.ndarray:
    """Map an (..., 3) array with a fitted mapping; returns float32 clipped to [0, 1], same shape."""
    rgb = np.asarray(rgb)
    flat = rgb.reshape(-1, 3)
    out = np.empty(flat.shape, dtype=np.float32)
    for i in range(0, flat.shape[0], _CHUNK):
        block = flat[i:i + _CHUNK].astype(np.float64)
        if mapping.terms == 0:
            mapped = block + mapping.matrix
        else:
            mapped = _expand(block, mapping.terms) @ mapping.matrix
        out[i:i + _CHUNK] = np.clip(mapped, 0.0, 1.0)
    return out.reshape(rgb.shape)


def upsample_by_color_mapping(composite_full: np.ndarray, fg_mask_full: np.ndarray, composite_low: np.ndarray,
                              output_low: np.ndarray, fg_mask_low: np.ndarray, terms: int = 11) -> np.ndarray:
    """Full-resolution result from a low-res one: fit on the low-res foreground, apply to the full-res one."""
    if composite_low.shape != output_low.shape or composite_low.shape[:2] != fg_mask_low.shape:
        raise InputError("color mapping", "low-res composite, output and mask sizes differ: "
                         f"{composite_low.shape}, {output_low.shape}, {fg_mask_low.shape}")
    if composite_full.shape[:2] != fg_mask_full.shape:
        raise InputError("color mapping", f"full-res composite {composite_full.shape} and mask "
                         f"{fg_mask_full.shape} sizes differ")
    sel = fg_mask_low > INSIDE
    if not sel.any():
        sel = fg_mask_low > 0  # foreground too small to survive shrinking: use the partly covered pixels
    if not sel.any():
        warnings.warn("no foreground pixel at low resolution: colour mapping is the identity", stacklevel=2)
    mapping = fit_color_mapping(composite_low[sel], output_low[sel], terms=terms)

    out = composite_full.astype(np.float32, copy=True)
    touched = fg_mask_full > 0
    m = fg_mask_full[touched][:, None].astype(np.float32)
    mapped = apply_color_mapping(mapping, composite_full[touched])
    out[touched] = np.clip(m * mapped + (1.0 - m) * composite_full[touched], 0.0, 1.0)
    return out


def upsample(way: str, composite_full: np.ndarray, fg_mask_full: np.ndarray, composite_low: np.ndarray,
             output_low: np.ndarray, fg_mask_low: np.ndarray, *, composited: bool = True,
             terms: int = 11) -> np.ndarray:
    """The native-resolution result of a low-res one, the `way` given (module docstring); float32 in [0, 1]."""
    from harness.data.resize import resize_image

    if way == "mapping":
        return upsample_by_color_mapping(composite_full, fg_mask_full, composite_low, output_low, fg_mask_low,
                                         terms=terms)
    hw = composite_full.shape[:2]
    if way == "residual":
        change = resize_image(output_low.astype(np.float32) - composite_low.astype(np.float32), hw, clip=False)
        out = np.clip(composite_full.astype(np.float32) + change, 0.0, 1.0)
    elif way == "bicubic":
        out = resize_image(output_low, hw)
    else:
        raise InputError("upsample", f"must be {' or '.join(UPSAMPLE)}, not '{way}'")
    if composited:
        m = fg_mask_full.astype(np.float32)[..., None]
        out = np.clip(m * out + (1.0 - m) * composite_full, 0.0, 1.0)
    return out.astype(np.float32, copy=False)
