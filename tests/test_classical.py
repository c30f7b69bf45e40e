"""Classical methods on real photos with made-up masks.

Oracles: skimage's rgb2lab on the output and the reference region, and numpy percentiles / moments, computed
here independently of the methods' own code. Regions were picked where the transfer stays (almost) inside the
sRGB gamut, since clipping to [0, 1] is the one thing that legitimately moves the statistics.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from skimage import data
from skimage.color import lab2rgb, rgb2lab

from harness.errors import InputError
from harness.methods import registry
from harness.methods.classical import composite, lum_match, reinhard

CLASSICAL = {n: m for n, m in registry.BUILTIN.items() if m.kind == "classical"}


def _rect(shape: tuple[int, int], y: int, x: int, h: int, w: int) -> np.ndarray:
    m = np.zeros(shape, np.float32)
    m[y:y + h, x:x + w] = 1.0
    return m


# (image, fg top-left, reference top-left); rectangles of a third of the image's height and width
CASES = {
    "coffee-a": ("coffee", (133, 194), (31, 392)),
    "coffee-b": ("coffee", (171, 219), (22, 11)),
    "coffee-c": ("coffee", (193, 64), (86, 387)),
    "astronaut-a": ("astronaut", (298, 157), (125, 21)),
    "astronaut-b": ("astronaut", (211, 93), (314, 2)),
}


def _case(name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(image, hard fg mask, hard reference mask) on a skimage photo."""
    photo, (fy, fx), (ry, rx) = CASES[name]
    img = getattr(data, photo)().astype(np.float32) / 255
    h, w = img.shape[0] // 3, img.shape[1] // 3
    return img, _rect(img.shape[:2], fy, fx, h, w), _rect(img.shape[:2], ry, rx, h, w)


@pytest.fixture(scope="module")
def soft_case() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Astronaut with a feathered elliptical foreground (a made-up cut-out) and a rectangular reference."""
    img = data.astronaut().astype(np.float32) / 255
    yy, xx = np.mgrid[:512, :512]
    d = np.sqrt(((yy - 330) / 150.0) ** 2 + ((xx - 300) / 110.0) ** 2)
    fg = np.clip((1.0 - d) * 30.0, 0.0, 1.0).astype(np.float32)
    return img, fg, _rect((512, 512), 20, 20, 150, 150)


def test_composite_returns_its_input_bit_identically(soft_case):
    img, fg, ref = soft_case
    out = composite(img, fg, ref)
    assert out.dtype == np.float32 and np.array_equal(out, img)


@pytest.mark.parametrize("name", sorted(CLASSICAL))
def test_no_method_alters_pixels_outside_the_foreground(soft_case, name):
    img, fg, ref = soft_case
    out = registry.load(CLASSICAL[name].target)(img.copy(), fg, ref)
    assert out.shape == img.shape and out.dtype == np.float32
    assert out.min() >= 0.0 and out.max() <= 1.0
    assert np.array_equal(out[fg == 0], img[fg == 0])  # bit-identical outside
    changed = np.abs(out - img).max(axis=-1) > 1e-3
    if CLASSICAL[name].uses_reference:
        assert changed[fg == 1].mean() > 0.9  # it does harmonize the foreground
    else:
        assert not changed.any()


@pytest.mark.parametrize("case", ["coffee-a", "coffee-b"])
def test_reinhard_matches_reference_lab_mean_and_std(case):
    img, fg, ref = _case(case)
    out = reinhard(img, fg, ref)
    lab_out, lab_ref = rgb2lab(out[fg > 0.5]), rgb2lab(img[ref > 0.5])
    lab_in = rgb2lab(img[fg > 0.5])
    assert np.abs(lab_in.mean(0) - lab_ref.mean(0)).max() > 5  # there was a real mismatch to fix
    np.testing.assert_allclose(lab_out.mean(0), lab_ref.mean(0), atol=0.05)
    np.testing.assert_allclose(lab_out.std(0), lab_ref.std(0), atol=0.05)


def test_reinhard_per_pixel_where_in_gamut():
    """Where the transfer leaves the sRGB gamut the output is clipped; everywhere else it is exact."""
    img, fg, ref = _case("astronaut-b")
    lab_in, lab_ref = rgb2lab(img[fg > 0.5]).astype(np.float64), rgb2lab(img[ref > 0.5]).astype(np.float64)
    expected = (lab_in - lab_in.mean(0)) / lab_in.std(0) * lab_ref.std(0) + lab_ref.mean(0)
    with warnings.catch_warnings():  # skimage warns about out-of-gamut Lab: that is what we look for here
        warnings.simplefilter("ignore")
        rgb_expected = lab2rgb(expected)
    in_gamut = ((rgb_expected > 0.002) & (rgb_expected < 0.998)).all(axis=1)
    assert 0.5 < in_gamut.mean() < 1.0  # both kinds present
    out = reinhard(img, fg, ref)[fg > 0.5]
    np.testing.assert_allclose(rgb2lab(out[in_gamut]), expected[in_gamut], atol=0.02)


def test_reinhard_flat_foreground_is_shifted_not_divided_by_zero():
    img, _, ref = _case("astronaut-a")
    img = img.copy()
    fg = _rect(img.shape[:2], 300, 300, 60, 60)
    img[fg > 0.5] = [0.2, 0.4, 0.3]  # a flat patch: zero std in every Lab channel
    out = reinhard(img, fg, ref)
    assert np.isfinite(out).all()
    lab_out = rgb2lab(out[fg > 0.5])
    np.testing.assert_allclose(lab_out, np.broadcast_to(rgb2lab(img[ref > 0.5]).mean(0), lab_out.shape),
                               atol=0.05)


def _l_stats(lab: np.ndarray) -> np.ndarray:
    l = lab[:, 0]
    return np.array([np.percentile(l, 10), l.mean(), np.percentile(l, 90)])


@pytest.mark.parametrize("case", ["coffee-a", "coffee-c", "astronaut-a"])
def test_lum_match_brings_p10_mean_p90_to_the_reference(case):
    img, fg, ref = _case(case)
    out = lum_match(img, fg, ref)
    lab_out, lab_ref, lab_in = rgb2lab(out[fg > 0.5]), rgb2lab(img[ref > 0.5]), rgb2lab(img[fg > 0.5])
    assert np.abs(_l_stats(lab_in) - _l_stats(lab_ref)).max() > 4
    np.testing.assert_allclose(_l_stats(lab_out), _l_stats(lab_ref), atol=0.1)


def test_lum_match_chroma_shift_and_tone_only():
    img, fg, ref = _case("coffee-c")
    lab_ref, lab_in = rgb2lab(img[ref > 0.5]), rgb2lab(img[fg > 0.5])
    full = rgb2lab(lum_match(img, fg, ref)[fg > 0.5])
    np.testing.assert_allclose(full[:, 1:].mean(0), lab_ref[:, 1:].mean(0), atol=0.1)
    tone = rgb2lab(lum_match(img, fg, ref, chroma=0.0)[fg > 0.5])
    np.testing.assert_allclose(tone[:, 1:].mean(0), lab_in[:, 1:].mean(0), atol=0.5)


def test_lum_match_curve_is_monotone_on_a_grey_photo():
    """On grey pixels (a* = b* = 0) nothing leaves the gamut, so L*_out = curve(L*_in) exactly."""
    img, fg, ref = _case("astronaut-b")
    grey = np.repeat(img.mean(axis=2, keepdims=True), 3, axis=2)
    out = lum_match(grey, fg, ref, chroma=0.0)
    l_in, l_out = rgb2lab(grey[fg > 0.5])[:, 0], rgb2lab(out[fg > 0.5])[:, 0]
    order = np.argsort(l_in, kind="stable")
    assert np.diff(l_out[order]).min() > -1e-3  # darker in → not lighter out
    np.testing.assert_allclose(_l_stats(rgb2lab(out[fg > 0.5])), _l_stats(rgb2lab(grey[ref > 0.5])), atol=0.1)


def test_lum_match_skewed_histogram_mean_below_p10():
    img, fg, ref = _case("coffee-a")
    img = img.copy()
    ys, xs = np.nonzero(fg > 0.5)
    rng = np.random.default_rng(0)
    dark = rng.choice(len(ys), int(0.09 * len(ys)), replace=False)
    img[ys, xs] = img[ys, xs] * 0.1 + 0.6  # a bright, low-contrast cut-out ...
    img[ys[dark], xs[dark]] = 0.0  # ... with 9% black pixels: its mean L* falls below its p10
    l_in = rgb2lab(img[fg > 0.5])[:, 0]
    assert l_in.mean() < np.percentile(l_in, 10)  # the anchors are out of order, as intended
    out = lum_match(img, fg, ref)
    assert np.isfinite(out).all()
    lab_out, lab_ref = rgb2lab(out[fg > 0.5]), rgb2lab(img[ref > 0.5])
    np.testing.assert_allclose(_l_stats(lab_out)[[0, 2]], _l_stats(lab_ref)[[0, 2]], atol=1.0)
    # the curve keeps (0, 0): black stays black (tone only; the a*b* shift would tint it)
    tone = rgb2lab(lum_match(img, fg, ref, chroma=0.0)[fg > 0.5])
    assert np.abs(tone[dark, 0]).max() < 1e-3  # np.nonzero order == boolean-index order, so `dark` indexes it


def test_bad_masks_are_input_errors():
    img, fg, ref = _case("coffee-a")
    with pytest.raises(InputError, match="reference mask"):
        reinhard(img, fg, np.zeros_like(ref))
    with pytest.raises(InputError, match="foreground mask"):
        lum_match(img, fg[:-1], ref)
    with pytest.raises(InputError, match="chroma"):
        lum_match(img, fg, ref, chroma=2.0)


def test_declared_reference_use_matches_behaviour(soft_case):
    """A method that declares it uses the reference responds to a different reference region; one that
    declares it does not, gives the same output whatever the reference."""
    img, fg, ref = soft_case
    other = np.zeros_like(ref)
    other[: ref.shape[0] // 4, : ref.shape[1] // 4] = 1.0  # a different region of a different colour
    other[fg > 0] = 0.0
    assert set(CLASSICAL) == {"composite", "reinhard", "lum-match"}
    for name, info in CLASSICAL.items():
        fn = registry.load(info.target)
        a, b = fn(img.copy(), fg, ref), fn(img.copy(), fg, other)
        assert info.uses_reference == bool(np.abs(a - b).max() > 1e-3), name
