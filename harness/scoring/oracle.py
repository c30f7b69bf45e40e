"""The metrics computed the plain way: scikit-image and colour-science called directly, in float64, one image
at a time. Nothing here is shared with harness/scoring/metrics.py — this is the reference that the fast metrics are
tested (tests/) and benchmarked (benchmarks/bench_scoring.py) against, and a way for users to double-check a
number. About 10 s for one 2048² image on a 2-core machine."""

from __future__ import annotations

import numpy as np


def oracle_scores(pred: np.ndarray, real: np.ndarray, fg_mask: np.ndarray) -> dict[str, float]:
    """The 10 metrics of harness.scoring.metrics.METRICS, as the conventions in its docstring state them."""
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
    with np.errstate(divide="ignore"):
        return {"mse": mse, "fmse": fmse, "psnr": 10 * np.log10(255.0**2 / mse),
                "fpsnr": 10 * np.log10(255.0**2 / fmse), "ssim": ssim, "fssim": smap[fg].mean(),
                "de2000": e00.mean(), "fde2000": e00[fg].mean(), "de76": e76.mean(), "fde76": e76[fg].mean()}
