"""Scoring one prediction against its sample, under either evaluation protocol (harness/config.py: PROTOCOLS).

- `full` (default): metrics at the sample's own resolution.
- `256`: prediction, ground truth and mask resized to 256×256 first (bicubic for images, area for the mask,
  thresholded at 0.5 by the metrics; harness/data/resize.py).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from harness.config import PROTOCOLS, check_choice
from harness.data.sample import Sample
from harness.errors import InputError

BREAKDOWNS = ("subset", "augmentation")  # sample meta copied into every row (iHarmony4 subsets, IntHarmony)


def score_prediction(pred: np.ndarray, sample: Sample, resolution: str = "full",
                     where: str | None = None) -> dict[str, Any]:
    """One row: id, the metrics of harness.scoring.metrics, fg_ratio, the reference-consistency gaps
    (harness/scoring/consistency.py), `source`, and the BREAKDOWNS it has."""
    from harness.data.resize import resize_image, resize_mask
    from harness.scoring.metrics import score_image

    check_choice("--resolution", resolution, PROTOCOLS)
    where = where or sample.id
    if sample.real is None:
        raise InputError(sample.meta.get("path", sample.id), "no ground truth (real/) to score against")
    if pred.shape != sample.composite.shape:
        raise InputError(where, f"prediction is {pred.shape[1]}×{pred.shape[0]} but the sample is "
                                f"{sample.size[1]}×{sample.size[0]}")
    real, mask, full_pred = sample.real, sample.fg_mask, pred
    if resolution == "256":
        pred, real, mask = resize_image(pred, 256), resize_image(real, 256), resize_mask(mask, 256)
    from harness.scoring.consistency import reference_gaps

    row: dict[str, Any] = {"id": sample.id}
    row.update(score_image(pred, real, mask))
    # against the reference region, at the sample's own resolution (no ground truth needed)
    row.update(reference_gaps(full_pred, sample.fg_mask, sample.ref_mask))
    row["source"] = sample.source  # every record says where its data came from (bundled vs real)
    for key in BREAKDOWNS:  # what results can be broken down by, when the suite says
        if key in sample.meta:
            row[key] = sample.meta[key]
    return row
