"""Reference regions the harness makes itself: `--reference auto` (run-benchmark), and the candidate regions
run-robustness tries one after the other (`--references suite,background,auto,boxes:K`; the kinds are named
in harness/data/candidates.py).

`--reference auto` chooses the reference region without the user, offline and with no learned weights.

The paper's appendix picks "the most salient person or object in the background" with a detector. We have
no weights to download, so we use a classical colour-contrast saliency instead:

1. Work at ≤ 128 px on the long side (saliency is a low-frequency cue; this keeps it fast and denoised).
2. Frequency-tuned saliency (Achanta et al., CVPR 2009): the CIELAB distance between each Gaussian-blurred
   pixel and the mean colour — here the mean over the *background only*, so the pasted foreground does not
   decide what counts as unusual.
3. Keep the background, minus a margin around the foreground (its edge halo is not a reference), threshold
   the saliency there with Otsu, fill holes, and take the connected component with the largest total
   saliency (size × strength: "the most salient object").
4. Fallback to the whole background when the background is flat (no contrast), or the best object is smaller
   than `min_fraction` of the image.

The result is resized back (nearest) and intersected with the background, so it never touches the foreground.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from harness.data.relight import truth_for
from harness.data.sample import INSIDE
from harness.errors import InputError

WORK_SIZE = 128


def _saliency(lab: np.ndarray, background: np.ndarray, sigma: float) -> np.ndarray:
    blurred = np.stack([ndimage.gaussian_filter(lab[..., c], sigma) for c in range(3)], axis=-1)
    mean = lab[background].mean(axis=0)
    return np.linalg.norm(blurred - mean, axis=-1)


def auto_reference(composite: np.ndarray, fg_mask: np.ndarray, min_fraction: float = 0.01,
                   margin: float = 0.02) -> np.ndarray:
    """H×W float32 mask in {0, 1}: the most salient background object, else the whole background.

    composite: H×W×3 RGB in [0, 1] (or uint8); fg_mask: H×W in [0, 1], > 0.5 inside. `margin` is the band
    kept clear around the foreground, as a fraction of the long side; `min_fraction` the smallest object
    (fraction of the image) accepted before falling back to the whole background.
    """
    from skimage.color import rgb2lab
    from skimage.filters import threshold_otsu
    from skimage.transform import resize

    img = np.asarray(composite)
    fg = np.asarray(fg_mask)
    if img.ndim != 3 or img.shape[2] != 3:
        raise InputError("auto reference", f"composite must be H×W×3, got shape {img.shape}")
    if fg.shape != img.shape[:2]:
        raise InputError("auto reference", f"foreground mask is {fg.shape}, the composite {img.shape[:2]}")
    if img.dtype == np.uint8:
        img = img.astype(np.float32) / 255.0
    if fg.dtype == np.uint8:  # same convention as harness.data.sample: uint8 masks are 0..255
        fg = fg.astype(np.float32) / 255.0
    background_full = fg <= INSIDE
    if not background_full.any():
        raise InputError("auto reference", "the foreground covers the whole image: no background to choose from")

    h, w = fg.shape
    scale = min(1.0, WORK_SIZE / max(h, w))
    small = (max(1, round(h * scale)), max(1, round(w * scale)))
    img_s = resize(img, small, order=1, anti_aliasing=scale < 1.0).clip(0.0, 1.0)
    fg_s = resize(fg.astype(np.float32), small, order=1, anti_aliasing=False) > INSIDE
    background = ~fg_s
    band = max(1, round(margin * max(small)))
    allowed = background & ~ndimage.binary_dilation(fg_s, iterations=band)
    if not allowed.any():
        allowed = background
    if not allowed.any():  # the foreground swallowed the tiny background at the working size
        return background_full.astype(np.float32)

    sal = _saliency(rgb2lab(img_s), background, sigma=max(small) / 128.0)
    values = sal[allowed]
    chosen = None
    if values.max() - values.min() > 1.0:  # < 1 ΔE76 of contrast: a flat background has no object
        candidates = ndimage.binary_fill_holes((sal > threshold_otsu(values)) & allowed) & allowed
        labels, n = ndimage.label(candidates)
        if n:
            strength = ndimage.sum(sal, labels, index=np.arange(1, n + 1))
            best = labels == (int(np.argmax(strength)) + 1)
            if best.mean() >= min_fraction:
                chosen = best
    if chosen is None:
        return background_full.astype(np.float32)
    full = resize(chosen.astype(np.float32), (h, w), order=0, anti_aliasing=False) > INSIDE
    full &= background_full
    return (full if full.any() else background_full).astype(np.float32)


# ------------------------------------------------------------------------------ candidates for run-robustness
def boxes(fg: np.ndarray, k: int) -> list[tuple[str, np.ndarray]]:
    """K boxes on a grid (the paper's Fig. 5): the image cut into g×g cells (g = ⌈√K⌉), the first K cells in
    reading order, each shrunk to its central half, minus the foreground; empty ones (< 0.5 % of the image)
    are left out."""
    h, w = fg.shape
    g = int(np.ceil(np.sqrt(k)))
    out = []
    for i in range(k):
        r, c = divmod(i, g)
        y0, y1 = int(h * (r + 0.25) / g), int(h * (r + 0.75) / g)
        x0, x1 = int(w * (c + 0.25) / g), int(w * (c + 0.75) / g)
        m = np.zeros((h, w), bool)
        m[y0:y1, x0:x1] = True
        m &= ~fg
        if m.mean() >= 0.005:
            out.append((f"box{i + 1}", m.astype(np.float32)))
    return out


def candidates(sample, kinds: list[str]) -> list[tuple[str, np.ndarray, np.ndarray | None]]:
    """(name, mask, truth or None) for each candidate reference region of `sample`, in the order asked; the
    truth is the suite's, or derived for any region when the suite knows its light (`relight` meta)."""
    fg = sample.fg_mask > INSIDE
    out: list[tuple[str, np.ndarray, np.ndarray | None]] = []
    for kind in kinds:
        name, _, arg = kind.partition(":")
        if name == "suite":
            refs = sample.references or ()
            out += [(r.name, r.mask, r.real) for r in refs] if refs else [("given", sample.ref_mask, None)]
        elif name == "background":
            out.append(("background", (~fg).astype(np.float32), None))
        elif name == "auto":
            out.append(("auto", auto_reference(sample.composite, sample.fg_mask), None))
        elif name == "boxes":
            out += [(n, m, None) for n, m in boxes(fg, int(arg))]
    seen: set[str] = set()
    unique = []
    for name, mask, truth in out:  # a suite region called "background" and the generated one: keep the first
        if name not in seen:
            seen.add(name)
            if truth is None and "relight" in sample.meta:
                truth = truth_for(sample, mask)
            unique.append((name, mask, truth))
    return unique
