"""The bundled suite: real photos from installed packages, documented perturbations, identical bytes."""

import numpy as np
import pytest
import skimage.data

from harness.data.loaders import bundled
from harness.data.suites import load_spec, open_suite


@pytest.fixture(scope="module")
def samples():
    return [load_spec(s) for s in open_suite("sample").specs]


def test_size_and_coverage(samples):
    assert len(samples) >= 24
    photos = {s.meta["photo"] for s in samples}
    assert photos == {"astronaut", "coffee", "chelsea", "rocket", "grace_hopper"}
    for p in photos:  # at least two distinct regions (fg and a reference) per photo
        regions = {s.meta["fg_region"] for s in samples if s.meta["photo"] == p} | {
            s.meta["ref_region"] for s in samples if s.meta["photo"] == p}
        assert len(regions) >= 2
    kinds = {s.meta["perturbation"] for s in samples}
    assert {"brightness", "contrast", "gamma", "hue-sat"} <= kinds
    assert len({s.id for s in samples}) == len(samples)
    assert all(s.size[0] >= 300 for s in samples)  # native resolution, not pre-shrunk to 256


def test_ground_truth_is_the_photo_and_background_is_untouched(samples):
    astro = skimage.data.astronaut().astype(np.float32) / 255
    for s in samples:
        if s.meta["photo"] == "astronaut":
            np.testing.assert_array_equal(s.real, astro)
        bg = ~s.fg
        np.testing.assert_array_equal(s.composite[bg], s.real[bg])
        assert np.abs(s.composite[s.fg] - s.real[s.fg]).mean() > 0.01  # the foreground really moved
        assert not (s.ref & s.fg).any()


def test_brightness_perturbation_matches_hand_computation(samples):
    s = next(x for x in samples if x.meta["perturbation"] == "brightness")
    b = s.meta["params"]["brightness"]
    real8 = np.rint(s.real * 255).astype(np.float64)
    expected = np.clip(np.rint(np.clip(real8[s.fg] / 255 + b, 0, 1) * 255), 0, 255) / 255
    np.testing.assert_allclose(s.composite[s.fg], expected, atol=1e-6)


def test_gamma_perturbation_matches_hand_computation(samples):
    s = next(x for x in samples if x.meta["perturbation"] == "gamma")
    g = s.meta["params"]["gamma"]
    real8 = np.rint(s.real * 255).astype(np.float64)
    expected = np.rint((real8[s.fg] / 255) ** g * 255) / 255
    np.testing.assert_allclose(s.composite[s.fg], expected, atol=1e-6)


def test_identical_bytes_to_the_committed_manifest(samples):
    manifest = bundled.manifest()
    assert set(manifest) == {s.id for s in samples}
    for s in samples:
        assert bundled.sample_digest(s) == manifest[s.id], f"{s.id} differs from the committed bytes"
