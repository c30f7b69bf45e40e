"""Polynomial colour mapping for full-resolution output, and the resize helpers.

Oracles: a known colour transform applied at full resolution; colour-science's `colour_correction`; a
hand-built Afifi 11-term kernel solved with numpy's lstsq; torch's
antialiased bicubic (a reimplementation of PIL's); block means in numpy.
"""

from __future__ import annotations

import colour
import numpy as np
import pytest
from skimage import data

from harness.errors import InputError
from harness.data.resize import resize_image, resize_mask
from harness.methods.highres import apply_color_mapping, fit_color_mapping, upsample_by_color_mapping


@pytest.fixture(scope="module")
def photo() -> tuple[np.ndarray, np.ndarray]:
    """The 512² astronaut photo and a soft-edged elliptical foreground (a made-up cut-out)."""
    img = data.astronaut().astype(np.float32) / 255.0
    yy, xx = np.mgrid[:512, :512]
    d = np.sqrt(((yy - 260) / 170.0) ** 2 + ((xx - 250) / 120.0) ** 2)
    fg = np.clip((1.0 - d) * 40.0, 0.0, 1.0).astype(np.float32)  # ~3 px feathered edge
    return img, fg


def _known(c: np.ndarray) -> np.ndarray:
    """A known colour transform inside the 11-term span: cross-channel mixing, rg / b² / rb terms, offsets."""
    r, g, b = c[..., 0], c[..., 1], c[..., 2]
    return np.clip(np.stack([0.85 * r + 0.1 * g + 0.05 + 0.1 * r * g,
                             0.9 * g + 0.05 * b ** 2 + 0.02,
                             0.7 * b + 0.1 * r + 0.15 - 0.05 * r * b], axis=-1), 0.0, 1.0)


def _apply_in_fg(img: np.ndarray, fg: np.ndarray, fn) -> np.ndarray:
    out = img.copy()
    m = fg[..., None]
    return np.where(m > 0, m * fn(img) + (1 - m) * img, out).astype(np.float32)


@pytest.mark.parametrize("terms", [11, 17])
def test_known_transform_reproduced_at_full_resolution(photo, terms):
    img, fg = photo
    target = _apply_in_fg(img, fg, _known)  # the transform applied at full resolution: the oracle
    comp_low, out_low, fg_low = resize_image(img, 256), resize_image(target, 256), resize_mask(fg, 256)
    result = upsample_by_color_mapping(img, fg, comp_low, out_low, fg_low, terms=terms)

    inside = fg > 0.5
    err = np.abs(result - target)[inside]
    untouched = np.abs(img - target)[inside]
    assert untouched.mean() > 0.03  # the transform is not a near no-op
    assert err.mean() < 2e-3 and np.percentile(err, 99) < 0.02
    # what a naive bicubic enlargement of the low-res output would give: the mapping keeps full-res detail
    naive = np.abs(resize_image(out_low, 512) - target)[inside]
    assert err.mean() < 0.5 * naive.mean()
    assert np.array_equal(result[fg == 0], img[fg == 0])  # outside the foreground: bit-identical


def test_eleven_terms_is_afifi_kernel_least_squares(photo):
    img, fg = photo
    rng = np.random.default_rng(1)
    src = img[fg > 0.5][rng.choice(int((fg > 0.5).sum()), 4000, replace=False)].astype(np.float64)
    dst = np.clip(src ** 1.3 * [0.9, 1.0, 1.1] + 0.02, 0, 1)
    r, g, b = src.T
    phi = np.stack([r, g, b, r * g, r * b, g * b, r * r, g * g, b * b, r * g * b, np.ones_like(r)], 1)
    coef, *_ = np.linalg.lstsq(phi, dst, rcond=None)
    probe = rng.uniform(0.05, 0.95, (500, 3))
    pr, pg, pb = probe.T
    phi_p = np.stack([pr, pg, pb, pr * pg, pr * pb, pg * pb, pr * pr, pg * pg, pb * pb, pr * pg * pb,
                      np.ones_like(pr)], 1)
    expected = np.clip(phi_p @ coef, 0, 1)
    mapping = fit_color_mapping(src, dst)  # default: 11 terms
    assert mapping.terms == 11
    np.testing.assert_allclose(apply_color_mapping(mapping, probe), expected, atol=1e-4)


def test_seventeen_terms_agrees_with_colour_science(photo):
    img, fg = photo
    src = resize_image(img, 128)[resize_mask(fg, 128) > 0.5].astype(np.float64)
    dst = np.clip(src[:, [1, 2, 0]] * 0.3 + src * 0.6 + 0.05 * src ** 2, 0, 1)
    direct = np.clip(colour.colour_correction(src, src, dst, method="Cheung 2004", terms=17), 0, 1)
    mapping = fit_color_mapping(src, dst, terms=17)
    assert mapping.terms == 17
    np.testing.assert_allclose(apply_color_mapping(mapping, src), direct, atol=1e-4)


def test_few_colours_fall_back_to_affine_and_reproduce_it():
    rng = np.random.default_rng(2)
    src = rng.uniform(0.1, 0.9, (20, 3))  # 20 distinct colours: too few for 11 terms (3 per term), enough for 4
    affine = lambda c: c @ np.array([[0.8, 0.1, 0.0], [0.1, 0.7, 0.1], [0.0, 0.1, 0.9]]) + [0.05, 0.02, 0.0]
    mapping = fit_color_mapping(np.repeat(src, 50, axis=0), np.repeat(affine(src), 50, axis=0), terms=17)
    assert mapping.terms == 4
    probe = rng.uniform(0.1, 0.9, (100, 3))
    np.testing.assert_allclose(apply_color_mapping(mapping, probe), affine(probe), atol=1e-5)


def test_flat_foreground_is_an_offset():
    src = np.tile([[0.3, 0.5, 0.2]], (1000, 1))
    mapping = fit_color_mapping(src, src * 0.5)
    assert mapping.terms == 0  # one distinct colour: only a shift is determined
    np.testing.assert_allclose(apply_color_mapping(mapping, np.array([[0.3, 0.5, 0.2], [0.6, 0.6, 0.6]])),
                               [[0.15, 0.25, 0.1], [0.45, 0.35, 0.5]], atol=1e-6)


def test_rank_deficient_grey_fit_stays_finite_and_correct_on_grey():
    g = np.linspace(0.1, 0.9, 300)[:, None]
    src = np.repeat(g, 3, axis=1)  # r == g == b: the kernel's columns are linearly dependent
    mapping = fit_color_mapping(src, 0.8 * src + 0.1, terms=17)
    assert np.isfinite(mapping.matrix).all()
    probe = np.repeat(np.linspace(0.15, 0.85, 11)[:, None], 3, axis=1)
    np.testing.assert_allclose(apply_color_mapping(mapping, probe), 0.8 * probe + 0.1, atol=1e-3)


def test_foreground_vanishing_at_low_res(photo):
    img, _ = photo
    fg = np.zeros((512, 512), np.float32)
    fg[100, 100] = 1.0  # one full-res pixel: a quarter of a 256² pixel, so no low-res pixel is > 0.5
    low_fg = resize_mask(fg, 256)
    assert low_fg.max() == pytest.approx(0.25)
    comp_low = resize_image(img, 256)
    out_low = np.clip(comp_low + 0.1, 0, 1)
    result = upsample_by_color_mapping(img, fg, comp_low, out_low, low_fg)
    # the partly covered low-res pixel is used: a single colour → an offset of +0.1 (where not clipped)
    np.testing.assert_allclose(result[100, 100], np.clip(img[100, 100] + 0.1, 0, 1), atol=1e-5)
    outside = np.ones_like(fg, bool)
    outside[100, 100] = False
    assert np.array_equal(result[outside], img[outside])

    with pytest.warns(UserWarning, match="identity"):
        same = upsample_by_color_mapping(img, fg, comp_low, out_low, np.zeros_like(low_fg))
    assert np.array_equal(same, img)


def test_bad_arguments_are_input_errors():
    with pytest.raises(InputError, match="terms"):
        fit_color_mapping(np.zeros((5, 3)), np.zeros((5, 3)), terms=10)
    with pytest.raises(InputError, match="N×3"):
        fit_color_mapping(np.zeros((5, 3)), np.zeros((4, 3)))
    with pytest.raises(InputError, match="sizes differ"):
        upsample_by_color_mapping(np.zeros((8, 8, 3)), np.zeros((8, 8)), np.zeros((4, 4, 3)),
                                  np.zeros((4, 4, 3)), np.zeros((5, 5)))


def test_resize_image_is_antialiased_bicubic(photo):
    """Oracle: torch's antialiased bicubic, which reimplements PIL's kernel (a = -0.5, widened when shrinking).

    PIL's own uint8 path is not used as the oracle: it rounds and clips between its horizontal and vertical
    passes, so it differs from the float result by up to ~4/255 at overshooting edges.
    """
    import torch

    img, _ = photo
    for hw in [(256, 200), (700, 600)]:  # shrink (non-square) and enlarge
        ours = resize_image(img, hw)  # (height, width)
        ref = torch.nn.functional.interpolate(torch.from_numpy(img).permute(2, 0, 1)[None], size=hw,
                                              mode="bicubic", antialias=True, align_corners=False)
        ref = ref[0].permute(1, 2, 0).clamp(0, 1).numpy()
        assert ours.shape == (*hw, 3) and ours.dtype == np.float32
        np.testing.assert_allclose(ours, ref, atol=1e-4)


def test_resize_mask_area_down_bilinear_up():
    rng = np.random.default_rng(3)
    mask = (rng.uniform(size=(64, 64)) > 0.5).astype(np.float32)
    down = resize_mask(mask, 16)
    np.testing.assert_allclose(down, mask.reshape(16, 4, 16, 4).mean(axis=(1, 3)), atol=1e-6)
    # enlarging is bilinear with pixel-centre alignment: 2 → 4 samples at -0.25, 0.25, 0.75, 1.25 (clamped)
    up = resize_mask(np.array([[0.0, 1.0], [0.0, 1.0]], np.float32), 4)
    np.testing.assert_allclose(up, np.tile([0.0, 0.25, 0.75, 1.0], (4, 1)), atol=1e-6)
    assert np.array_equal(resize_mask(mask, (64, 64)), mask)
