"""Reference consistency — does the harmonized foreground agree with the reference region? — measurable with no
ground truth, so on in-the-wild composites too, and for every run-benchmark and robustness row.

In CIE L*a*b* (the metrics' conversion: colour-science's sRGB → XYZ → Lab, D65; harness/scoring/metrics.py),
over the pixels of each region (mask > 0.5), the absolute differences between the foreground's and the
reference region's statistics — the quantities IPH's luminance-matching loss and the classical `lum-match`
aim at:

    gap_highlight = |P90(L*_fg) − P90(L*_ref)|      (percentiles with linear interpolation, numpy's default)
    gap_midtone   = |mean(L*_fg) − mean(L*_ref)|
    gap_shadow    = |P10(L*_fg) − P10(L*_ref)|
    gap_a, gap_b  = |mean(a*_fg) − mean(a*_ref)|, |mean(b*_fg) − mean(b*_ref)|   (chroma)

All in L*a*b* units (L* 0–100). Lower means closer to the reference; a foreground of another material than
the reference (skin vs a flag) need not reach 0 — compare methods on the same samples, not with zero.
run-robustness also needs each region's mean L*a*b* (`mean_lab`).
"""

from __future__ import annotations

import numpy as np

GAPS: tuple[str, ...] = ("gap_highlight", "gap_midtone", "gap_shadow", "gap_a", "gap_b")


def lab_pixels(image: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """N×3 L*a*b* of the pixels of `image` (H×W×3 sRGB in [0, 1]) where mask > 0.5, in float64."""
    import torch

    from harness.scoring.metrics import srgb_to_lab

    px = np.ascontiguousarray(image[mask > 0.5], dtype=np.float64).T
    return srgb_to_lab(torch.from_numpy(px)).numpy().T


def region_stats(lab: np.ndarray) -> np.ndarray:
    """(P90 L*, mean L*, P10 L*, mean a*, mean b*)."""
    hi, lo = np.percentile(lab[:, 0], [90, 10])
    return np.array([hi, lab[:, 0].mean(), lo, lab[:, 1].mean(), lab[:, 2].mean()])


def reference_gaps(image: np.ndarray, fg_mask: np.ndarray, ref_mask: np.ndarray) -> dict[str, float]:
    """The GAPS of `image`'s foreground against its reference region."""
    fg, ref = region_stats(lab_pixels(image, fg_mask)), region_stats(lab_pixels(image, ref_mask))
    return {name: float(abs(a - b)) for name, a, b in zip(GAPS, fg, ref)}


def mean_lab(image: np.ndarray, mask: np.ndarray) -> list[float]:
    return [float(v) for v in lab_pixels(image, mask).mean(axis=0)]
