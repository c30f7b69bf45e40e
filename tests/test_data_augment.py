"""The IntHarmony augmentations against values computed by hand, the standard library's colorsys, and LUTs
built by hand (an identity, a channel swap written as a .cube file, a 2³ cube with known corners)."""

from __future__ import annotations

import colorsys

import numpy as np
import pytest

from harness.data import augment


def test_brightness_contrast_by_hand():
    px = np.array([[0.2, 0.4, 0.6], [0.6, 0.2, 0.2]])
    out = augment.brightness_contrast(px, contrast=1.5, brightness=0.05)
    # μ = (0.4, 0.3, 0.4); 0.4 + 1.5·(0.2 − 0.4) + 0.05 = 0.15, 0.3 + 1.5·0.1 + 0.05 = 0.5, ...
    np.testing.assert_allclose(out, [[0.15, 0.5, 0.75], [0.75, 0.2, 0.15]])


def test_colour_jitter_against_colorsys():
    rng = np.random.default_rng(0)
    px = rng.uniform(0.05, 0.95, (50, 3))
    out = augment.colour_jitter(px, hue=0.1, saturation=1.3)
    for p, o in zip(px, out):
        h, s, v = colorsys.rgb_to_hsv(*p)
        expected = colorsys.hsv_to_rgb((h + 0.1) % 1.0, min(1.0, s * 1.3), v)
        np.testing.assert_allclose(o, expected, atol=1e-9)


def test_gamma_by_hand():
    np.testing.assert_allclose(augment.gamma(np.array([[0.25, 0.5, 1.0]]), 2.0), [[0.0625, 0.25, 1.0]])


@pytest.mark.parametrize("mode, base, layer, expected", [
    # soft light: (1 − I)·I·M + I·(1 − (1 − I)(1 − M)) = 0.75·0.25·0.6 + 0.25·(1 − 0.75·0.4) = 0.1125 + 0.175
    ("soft_light", 0.25, 0.6, 0.2875),
    ("dodge", 0.25, 0.6, 0.625),  # 0.25 / 0.4
    ("dodge", 0.7, 0.5, 1.0),  # 1.4, clipped
    ("dodge", 0.3, 1.0, 1.0),  # M = 1
    ("grain_merge", 0.25, 0.6, 0.35),  # 0.25 + 0.6 − 0.5
    ("grain_extract", 0.25, 0.6, 0.15),  # 0.25 − 0.6 + 0.5
    ("grain_extract", 0.05, 0.9, 0.0),  # −0.35, clipped
])
def test_blend_modes_by_hand(mode, base, layer, expected):
    assert augment.blend(mode, np.array([base]), np.array([layer]))[0] == pytest.approx(expected)


def test_local_light_reaches_full_opacity_at_its_centre_and_nothing_outside_the_foreground():
    img = np.full((20, 30, 3), 0.25)
    fg = np.zeros((20, 30), bool)
    fg[5:15, 5:25] = True
    out = augment.local_light(img, fg, "grain_merge", [0.6, 0.6, 0.6], opacity=0.8, centre=(10, 10), sigma=3.0)
    # at the centre α = 0.8: 0.8·0.35 + 0.2·0.25 = 0.33; one sigma away α = 0.8·e^(−1/2)
    np.testing.assert_allclose(out[10, 10], 0.33)
    a = 0.8 * np.exp(-0.5)
    np.testing.assert_allclose(out[10, 13], a * 0.35 + (1 - a) * 0.25)
    np.testing.assert_array_equal(out[~fg], img[~fg])


def test_identity_and_hand_built_luts():
    rng = np.random.default_rng(1)
    px = rng.uniform(0, 1, (100, 3))
    n = 5
    g = np.linspace(0, 1, n)
    identity = np.stack(np.meshgrid(g, g, g, indexing="ij"), axis=-1)  # table[r, g, b] = (r, g, b)
    np.testing.assert_allclose(augment.apply_lut(px, identity), px, atol=1e-12)
    # a 2³ cube whose output is a known function at the corners: trilinear at the centre = the corners' mean
    corners = np.random.default_rng(2).uniform(0, 1, (2, 2, 2, 3))
    centre = augment.apply_lut(np.array([[0.5, 0.5, 0.5]]), corners)[0]
    np.testing.assert_allclose(centre, corners.reshape(-1, 3).mean(axis=0), atol=1e-12)


def test_cube_file_is_read_red_fastest(tmp_path):
    """A .cube written by hand that swaps red and blue: the file lists red fastest, so reading it wrongly
    would not give the swap back."""
    n = 3
    g = np.linspace(0, 1, n)
    lines = ["TITLE \"swap\"", f"LUT_3D_SIZE {n}"]
    for b in g:
        for gg in g:
            for r in g:  # red changes fastest
                lines.append(f"{b:.6f} {gg:.6f} {r:.6f}")
    path = tmp_path / "swap.cube"
    path.write_text("\n".join(lines) + "\n")
    table = augment.read_cube(path)
    px = np.random.default_rng(3).uniform(0, 1, (40, 3))
    np.testing.assert_allclose(augment.apply_lut(px, table), px[:, ::-1], atol=1e-6)


def test_random_luts_are_smooth_seeded_and_in_range():
    a = augment.random_lut(np.random.default_rng(7))
    b = augment.random_lut(np.random.default_rng(7))
    assert a.shape == (17, 17, 17, 3) and np.array_equal(a, b)
    assert a.min() >= 0 and a.max() <= 1
    assert np.abs(np.diff(a, axis=0)).max() < 0.2  # neighbouring lattice entries stay close
    g = np.linspace(0, 1, 17)
    identity = np.stack(np.meshgrid(g, g, g, indexing="ij"), axis=-1)
    assert 0.005 < np.abs(a - identity).mean() < 0.12


@pytest.mark.parametrize("family", augment.FAMILIES)
def test_every_family_changes_the_foreground_only_and_records_its_parameters(family):
    import json

    rng = np.random.default_rng(4)
    img = rng.uniform(0.1, 0.9, (24, 32, 3))
    fg = np.zeros((24, 32), bool)
    fg[4:20, 6:26] = True
    params = augment.draw(family, np.random.default_rng(5), fg)
    assert params["name"] == family and json.loads(json.dumps(params)) == params
    out = augment.apply(img, fg, params)
    np.testing.assert_array_equal(out[~fg], img[~fg])
    assert np.abs(out[fg] - img[fg]).mean() > 1e-3 and out.min() >= 0 and out.max() <= 1
