"""The relighting model, the bundled `relit` suite and the relit training generator, against colour-science's
sRGB curves and values computed here: the composite and every truth differ only inside the foreground, the
truth under a region is the foreground under that region's mean light, regions on two sides of the light
differ, and evaluation photos never reach training."""

from __future__ import annotations

import colour
import numpy as np
import pytest

from harness.data import relight
from harness.data.photos import eval_photo
from harness.data.suites import load_spec, open_suite


def test_srgb_curves_are_colour_sciences():
    x = np.linspace(0, 1, 1001)
    np.testing.assert_allclose(relight.srgb_to_linear(x), colour.cctf_decoding(x, "sRGB"), atol=1e-12)
    np.testing.assert_allclose(relight.linear_to_srgb(x), colour.cctf_encoding(x, "sRGB"), atol=1e-12)


def test_ramp_and_region_light_by_hand():
    w = relight.ramp((50, 80), centre=(25.0, 40.0), direction=(0.0, 1.0))
    assert w[:, 0].max() < 1e-3 and w[:, -1].min() > 0.999 and w[25, 40] == pytest.approx(0.5)
    a, b = np.array([1.0, 0.9, 0.8]), np.array([0.6, 0.7, 1.2])
    field = relight.gain_field(w, a, b)
    left = np.zeros((50, 80), bool)
    left[:, :10] = True
    np.testing.assert_allclose(relight.region_light(field, left), a, atol=1e-3)
    np.testing.assert_allclose(relight.region_light(field, ~left), field[~left].mean(axis=0))


def test_drawn_lights_are_apart():
    lights = relight.draw_lights(np.random.default_rng(0), 3)
    grey = colour.cctf_decoding(np.full(3, 0.5), "sRGB")
    labs = [colour.XYZ_to_Lab(colour.sRGB_to_XYZ(colour.cctf_encoding(np.clip(grey * g, 0, 1), "sRGB")))
            for g in lights]
    for i in range(3):
        for j in range(i + 1, 3):
            assert np.linalg.norm(labs[i] - labs[j]) >= relight.MIN_APART - 1e-9


@pytest.fixture(scope="module")
def relit_sample():
    return load_spec(open_suite("relit").specs[0])


def test_each_reference_implies_the_foreground_under_its_light(relit_sample):
    s = relit_sample
    r = s.meta["relight"]
    photo = eval_photo(s.meta["photo"]).astype(np.float64) / 255
    fg = s.fg
    w = relight.ramp(fg.shape, r["centre"], r["direction"])
    field = (1 - w)[..., None] * np.array(r["light_a"]) + w[..., None] * np.array(r["light_b"])
    lin = colour.cctf_decoding(photo, "sRGB")
    assert len(s.references) >= 4 and s.references[-1].name == "background"
    for ref in s.references:
        np.testing.assert_array_equal(ref.real[~fg], s.composite[~fg])  # only the foreground differs
        light = field[ref.mask > 0.5].mean(axis=0)
        expected = colour.cctf_encoding(np.clip(lin[fg] * light, 0, 1), "sRGB")
        np.testing.assert_allclose(ref.real[fg], expected, atol=2e-6)
    expected_comp = colour.cctf_encoding(np.clip(lin[fg] * np.array(r["light_c"]), 0, 1), "sRGB")
    np.testing.assert_allclose(s.composite[fg], expected_comp, atol=2e-6)
    # the two regions the light ramp separates see different light, so their truths differ
    names = [x.name for x in s.references]
    a, b = s.references[names.index("flag")], s.references[names.index("shuttle")]
    assert np.abs(a.real[fg] - b.real[fg]).mean() > 0.02


def test_relit_is_held_out_of_training():
    from harness.errors import HarnessError
    from harness.train.suite import SuiteDataset

    assert open_suite("relit").held_out
    with pytest.raises(HarnessError, match="held out of training"):
        SuiteDataset("relit", None)


def test_region_pairs_share_the_composite_and_need_the_reference():
    from harness.data.photos import EVAL_PHOTOS
    from harness.train.relit import RelitDataset

    ds = RelitDataset(64, stage=2, seed=3, pairs="regions")
    assert not set(ds.photos) & set(EVAL_PHOTOS)
    differ = 0
    for k in range(6):
        a, b = ds[2 * k], ds[2 * k + 1]
        assert (a["composite"] == b["composite"]).all() and (a["fg_mask"] == b["fg_mask"]).all()
        assert not (a["ref_mask"] == b["ref_mask"]).all()
        assert ((a["ref_mask"] > 0.5) & (a["fg_mask"] > 0.5)).sum() == 0
        outside = (a["fg_mask"] <= 0.5).expand_as(a["real"])
        assert (a["real"][outside] == a["composite"][outside]).all()
        differ += int((a["real"] - b["real"]).abs().mean() > 1e-3)
    assert differ >= 5  # the truth depends on the reference: the foreground alone cannot predict it
    again = RelitDataset(64, stage=2, seed=3, pairs="regions")[5]
    assert all((again[k] == ds[5][k]).all() for k in again)  # a pure function of (seed, index)


def test_light_pairs_differ_only_in_the_reference_region_and_the_truth():
    """`lights` pairs: one region, two lights; the composites agree outside that region, the foreground
    input is identical, and the truths differ — only the region can tell the network which one is wanted."""
    from harness.train.relit import RelitDataset

    ds = RelitDataset(64, stage=2, seed=4, pairs="lights")
    for k in range(5):
        a, b = ds[2 * k], ds[2 * k + 1]
        assert (a["fg_mask"] == b["fg_mask"]).all() and (a["ref_mask"] == b["ref_mask"]).all()
        region = (a["ref_mask"] > 0.5).expand_as(a["composite"])
        fg = (a["fg_mask"] > 0.5).expand_as(a["composite"])
        assert (a["composite"][~region] == b["composite"][~region]).all()
        assert (a["composite"][region] - b["composite"][region]).abs().mean() > 1e-2
        assert (a["real"][fg] - b["real"][fg]).abs().mean() > 1e-2
    both = RelitDataset(64, stage=2, seed=4, pairs="both")
    kinds = {bool((both[2 * k]["composite"] == both[2 * k + 1]["composite"]).all()) for k in range(4)}
    assert kinds == {True, False}  # `both` alternates regions pairs and lights pairs


def test_named_regions_and_their_truths_travel_through_the_folder_layout(tmp_path, relit_sample):
    """export-suite writes references/<id>/<name>.png and references_real/<id>/<name>.png; the folder suite
    reads them back (8-bit: within half a level)."""
    from harness.cli import main

    assert main(["export-suite", "--suite", "relit", "--limit", "1", "--out", str(tmp_path)]) == 0
    back = load_spec(open_suite("folder", str(tmp_path)).specs[0])
    want = {r.name: r for r in relit_sample.references}
    assert sorted(r.name for r in back.references) == sorted(want)
    for r in back.references:
        np.testing.assert_array_equal(r.mask > 0.5, want[r.name].mask > 0.5)
        assert np.abs(r.real - want[r.name].real).max() <= 0.5 / 255 + 1e-6


def test_the_bundled_suite_offers_its_hand_drawn_regions():
    s = load_spec(open_suite("sample").specs[0])  # astronaut, person foreground
    assert [r.name for r in s.references] == ["flag", "shuttle"]
    assert all(r.real is None and not ((r.mask > 0.5) & s.fg).any() for r in s.references)
