"""Reference consistency and the robustness statistics, against colour-science, numpy and values computed by
hand on rows written here."""

from __future__ import annotations

import colour
import numpy as np
import pandas as pd
import pytest

from harness.scoring.consistency import GAPS, mean_lab, reference_gaps
from harness.scoring.robustness import MIN_TRUTH_GAP, robustness_summary


def test_gaps_equal_colour_science_and_numpy_percentiles():
    rng = np.random.default_rng(0)
    img = rng.uniform(0, 1, (40, 50, 3)).astype(np.float32)
    fg = np.zeros((40, 50), np.float32)
    fg[5:25, 5:30] = 1
    ref = np.zeros((40, 50), np.float32)
    ref[28:38, 10:45] = 1
    lab = colour.XYZ_to_Lab(colour.sRGB_to_XYZ(img.astype(np.float64)))
    f, r = lab[fg > 0.5], lab[ref > 0.5]
    expected = [abs(np.percentile(f[:, 0], 90) - np.percentile(r[:, 0], 90)), abs(f[:, 0].mean() - r[:, 0].mean()),
                abs(np.percentile(f[:, 0], 10) - np.percentile(r[:, 0], 10)), abs(f[:, 1].mean() - r[:, 1].mean()),
                abs(f[:, 2].mean() - r[:, 2].mean())]
    got = reference_gaps(img, fg, ref)
    assert list(got) == list(GAPS)
    np.testing.assert_allclose([got[g] for g in GAPS], expected, atol=2e-4)
    np.testing.assert_allclose(mean_lab(img, fg), f.mean(axis=0), atol=2e-4)


def test_identical_regions_have_no_gap():
    img = np.full((20, 20, 3), 0.3, np.float32)
    fg, ref = np.zeros((20, 20)), np.zeros((20, 20))
    fg[:10], ref[10:] = 1, 1
    assert all(v == pytest.approx(0, abs=1e-9) for v in reference_gaps(img, fg, ref).values())


def _row(method, sid, ref, fg_lab, ref_lab, to=None, apart=None):
    row = {"method": method, "id": sid, "reference": ref, "fg_lab": fg_lab, "ref_lab": ref_lab}
    if to is not None:
        row["de2000_to"], row["truth_apart"] = to, apart
    return row


def test_responsiveness_and_accuracy_by_hand():
    truths = {"A": {"B": 10.0}, "B": {"A": 10.0}}
    rows = pd.DataFrame([
        # "follower": its foreground moves 5 when the regions' colours differ by 10, right truth both times
        _row("follower", "s1", "A", [50, 0, 0], [40, 0, 0], {"A": 1.0, "B": 6.0}, truths["A"]),
        _row("follower", "s1", "B", [55, 0, 0], [50, 0, 0], {"A": 6.0, "B": 1.0}, truths["B"]),
        # "still": the same output whatever the region: closer to truth A in both cases
        _row("still", "s1", "A", [50, 0, 0], [40, 0, 0], {"A": 2.0, "B": 3.0}, truths["A"]),
        _row("still", "s1", "B", [50, 0, 0], [50, 0, 0], {"A": 2.0, "B": 3.0}, truths["B"]),
    ])
    s = robustness_summary(rows, n_boot=50).set_index("method")
    assert s.loc["follower", "responsiveness"] == pytest.approx(0.5)
    assert s.loc["still", "responsiveness"] == 0
    assert s.loc["follower", "reference_accuracy"] == 1.0 and s.loc["follower", "pairs"] == 2
    assert s.loc["still", "reference_accuracy"] == 0.5  # chance


def test_truths_too_close_are_not_scored_and_no_truth_gives_nan():
    close = {"A": {"B": MIN_TRUTH_GAP / 2}, "B": {"A": MIN_TRUTH_GAP / 2}}
    rows = pd.DataFrame([
        _row("m", "s1", "A", [50, 0, 0], [40, 0, 0], {"A": 1.0, "B": 6.0}, close["A"]),
        _row("m", "s1", "B", [55, 0, 0], [50, 3, 4], {"A": 6.0, "B": 1.0}, close["B"]),
        _row("m", "s2", "A", [50, 0, 0], [40, 0, 0]),
        _row("m", "s2", "B", [50, 0, 0], [40, 0, 0]),
    ])
    s = robustness_summary(rows, n_boot=50).iloc[0]
    assert s["pairs"] == 0 and np.isnan(s["reference_accuracy"])
    # Σ output moves / Σ region differences over both samples: (5 + 0) / (‖(10, 3, 4)‖ + 0)
    assert s["responsiveness"] == pytest.approx(5 / np.sqrt(125))


def test_the_guide_option_is_refused_where_there_is_no_mask_to_replace():
    from harness.errors import HarnessError
    from harness.methods.spec import resolve_methods

    # the networks that read a background mask take it; the others refuse it in one line naming their options
    assert len(resolve_methods("bargainnet:guide=reference,rainnet:guide=reference")) == 2
    with pytest.raises(HarnessError) as err:
        resolve_methods("dovenet:guide=reference")
    assert str(err.value) == "method 'dovenet' has no option 'guide' (its options: checkpoint, terms, upsample)"
    with pytest.raises(HarnessError, match=r"^method 'iph' has no option 'guide' \(its options: [a-z0-9_, ]*\)$"):
        resolve_methods("iph:guide=reference")
    with pytest.raises(HarnessError, match="has no option 'guide'"):  # Bargain-Net (R) reads the reference already
        resolve_methods("bargainnet-r:guide=reference")
    with pytest.raises(HarnessError, match="guide must be background or reference"):
        resolve_methods("rainnet:guide=sky")
