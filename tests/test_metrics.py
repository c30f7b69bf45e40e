"""harness.metrics against scikit-image / colour-science called directly (float64), and hand-computed cases."""

from __future__ import annotations

import math
import zlib

import colour
import numpy as np
import pytest
import torch
from skimage import data, transform

from harness.scoring import metrics
from harness.scoring.metrics import HIGHER_IS_BETTER, METRICS, score_image, score_images
from harness.scoring.oracle import oracle_scores

EXACT = {"mse", "fmse", "psnr", "fpsnr"}  # float64 path: ≤ 1e-6 relative; the float32 ones ≤ 1e-5


# The libraries, used exactly as the metric conventions state, in float64.
oracle = oracle_scores


def assert_matches_oracle(pred, real, mask) -> None:
    got, want = score_image(pred, real, mask), oracle(pred, real, mask)
    for m in METRICS:
        tol = 1e-6 if m in EXACT else 1e-5
        assert got[m] == pytest.approx(want[m], rel=tol, abs=1e-12), m
    assert got["fg_ratio"] == pytest.approx((mask > 0.5).mean(), rel=1e-12)


def ellipse(h: int, w: int, cy: float, cx: float, ry: float, rx: float) -> np.ndarray:
    yy, xx = np.mgrid[:h, :w]
    return ((((yy - cy * h) / (ry * h)) ** 2 + ((xx - cx * w) / (rx * w)) ** 2) < 1).astype(np.float32)


def paste(real: np.ndarray, mask: np.ndarray, rng: np.random.Generator, noise: float = 0.03) -> np.ndarray:
    """A harmonization-like output: the foreground colour-shifted and noisy, the background untouched."""
    fg = mask > 0.5
    pred = real.copy()
    pred[fg] = np.clip(real[fg] * np.array([1.1, 0.95, 0.9]) + noise * rng.normal(size=(fg.sum(), 3)), 0, 1)
    return pred


def photo(name: str, shape: tuple[int, int] | None = None) -> np.ndarray:
    img = getattr(data, name)().astype(np.float32) / 255.0
    if shape is not None:
        img = transform.resize(img, shape, anti_aliasing=True).astype(np.float32)
    return img


# ------------------------------------------------------------------ against the libraries


@pytest.mark.parametrize("case", ["random-fg", "random-dense", "astronaut-fg", "astronaut-global",
                                  "odd-size-corners", "soft-mask"])
def test_matches_skimage_and_colour(case: str) -> None:
    rng = np.random.default_rng(zlib.crc32(case.encode()))
    if case.startswith("random"):
        real = rng.random((64, 72, 3), dtype=np.float32)
        mask = ellipse(64, 72, 0.5, 0.45, 0.3, 0.25)
        pred = paste(real, mask, rng) if case == "random-fg" else rng.random((64, 72, 3), dtype=np.float32)
    elif case.startswith("astronaut"):
        real = photo("astronaut", (256, 256))
        mask = ellipse(256, 256, 0.45, 0.5, 0.3, 0.22)
        pred = paste(real, mask, rng) if case == "astronaut-fg" else \
            np.clip(real ** 0.9 + 0.01 * rng.normal(size=real.shape), 0, 1).astype(np.float32)
    elif case == "odd-size-corners":  # changes touching every border: exercises the reflected halo
        real = photo("chelsea", (47, 61))
        mask = np.zeros((47, 61), np.float32)
        mask[:6, :4] = mask[-3:, -7:] = mask[20:23, -1:] = 1
        pred = paste(real, mask, rng)
    else:  # soft mask: fg is mask > 0.5, the paste uses the soft weights
        real = photo("coffee", (96, 128))
        soft = np.clip(ellipse(96, 128, 0.5, 0.5, 0.3, 0.3) * 1.5 - 0.25 + 0.1 * rng.normal(size=(96, 128)), 0, 1)
        shifted = np.clip(real * 1.2, 0, 1)
        pred = (soft[..., None] * shifted + (1 - soft[..., None]) * real).astype(np.float32)
        mask = soft.astype(np.float32)
    assert_matches_oracle(pred.astype(np.float32), real, mask)


def test_real_photograph_full_size() -> None:
    """One moderate real image at its native 400×600, with a made-up mask and a perturbed foreground."""
    real = photo("coffee")
    mask = ellipse(*real.shape[:2], 0.55, 0.45, 0.25, 0.3)
    assert_matches_oracle(paste(real, mask, np.random.default_rng(3)), real, mask)


@pytest.mark.parametrize("strip", [1, 7, 1000])
def test_strip_size_does_not_change_ssim(monkeypatch: pytest.MonkeyPatch, strip: int) -> None:
    """SSIM is computed strip by strip with reflected halos; any strip height gives skimage's numbers."""
    monkeypatch.setattr(metrics, "_STRIP", strip)
    rng = np.random.default_rng(1)
    real = photo("astronaut", (70, 90))
    mask = np.zeros((70, 90), np.float32)
    mask[3:20, 60:88] = mask[50:66, 10:30] = 1
    assert_matches_oracle(paste(real, mask, rng), real, mask)


def test_lab_matches_colour() -> None:
    rng = np.random.default_rng(2)
    # random colours plus values around the sRGB linear-segment threshold and the Lab cube-root threshold
    edge = np.array([0.0, 0.04044, 0.040449936, 0.04045, 0.0405, 0.08, 0.0807, 1.0], dtype=np.float32)
    rgb = np.concatenate([rng.random((4000, 3), dtype=np.float32), np.stack([edge] * 3, axis=1),
                          np.stack([edge, np.zeros_like(edge), edge[::-1]], axis=1)])
    want = colour.XYZ_to_Lab(colour.sRGB_to_XYZ(rgb.astype(np.float64)))
    got = metrics.srgb_to_lab(torch.from_numpy(rgb.T.copy())).double().numpy().T
    np.testing.assert_allclose(got, want, rtol=0, atol=5e-5)


# Sharma, Wu & Dalal (2005), CIEDE2000 test data: pairs 1, 7, 17, 25, 34 and two hue-wrap cases
SHARMA = [((50.0, 2.6772, -79.7751), (50.0, 0.0, -82.7485), 2.0425),
          ((50.0, 0.0, 0.0), (50.0, -1.0, 2.0), 2.3669),
          ((50.0, 2.5, 0.0), (73.0, 25.0, -18.0), 27.1492),
          ((60.2574, -34.0099, 36.2677), (60.4626, -34.1751, 39.4387), 1.2644),
          ((22.7233, 20.0904, -46.6940), (23.0331, 14.9730, -42.5619), 2.0373),
          ((50.0, 2.5, 0.0), (50.0, 0.0, -2.5), 4.3065),
          ((50.0, -0.001, 2.49), (50.0, 0.0009, -2.49), 4.8045)]


def test_delta_e2000_published_pairs() -> None:
    lab1 = torch.tensor([p[0] for p in SHARMA], dtype=torch.float32).T
    lab2 = torch.tensor([p[1] for p in SHARMA], dtype=torch.float32).T
    got = metrics.delta_e2000(lab1, lab2).double().numpy()
    np.testing.assert_allclose(got, [p[2] for p in SHARMA], atol=6e-5)  # table given to 4 decimals
    np.testing.assert_allclose(metrics.delta_e2000(lab2, lab1).double().numpy(), got, rtol=1e-6)  # symmetric


def test_delta_e_matches_colour_on_random_lab() -> None:
    rng = np.random.default_rng(4)
    lab1 = np.stack([rng.uniform(0, 100, 5000), rng.uniform(-90, 90, 5000), rng.uniform(-90, 90, 5000)], 1)
    lab2 = lab1 + rng.normal(scale=[5, 10, 10], size=lab1.shape)
    lab2[:100, 1:] = 0  # achromatic: the C'1·C'2 = 0 branches
    t1, t2 = (torch.from_numpy(x.T.astype(np.float32)) for x in (lab1, lab2))
    l1, l2 = t1.double().numpy().T, t2.double().numpy().T  # the same float32-rounded inputs for colour
    np.testing.assert_allclose(metrics.delta_e2000(t1, t2).double().numpy(),
                               colour.delta_E(l1, l2, method="CIE 2000"), rtol=1e-4, atol=2e-5)
    np.testing.assert_allclose(metrics.delta_e76(t1, t2).double().numpy(),
                               colour.delta_E(l1, l2, method="CIE 1976"), rtol=1e-5, atol=2e-5)


# ------------------------------------------------------------------ hand-computed


def test_constant_offset_closed_form() -> None:
    """real on a 1/256 grid, pred = real + 1/16 on a 10×10 foreground: every diff is 255/16 exactly."""
    rng = np.random.default_rng(5)
    real = (rng.integers(0, 200, size=(40, 50, 3)) / 256).astype(np.float32)
    mask = np.zeros((40, 50), np.float32)
    mask[10:20, 20:30] = 1
    pred = real + mask[..., None] / 16
    k = 255 / 16
    r = score_image(pred, real, mask)
    assert r["fmse"] == pytest.approx(k**2, rel=1e-12)
    assert r["mse"] == pytest.approx(k**2 * 100 / 2000, rel=1e-12)
    assert r["fpsnr"] == pytest.approx(20 * math.log10(255 / k), rel=1e-12)  # = 20·log10(16)
    assert r["psnr"] == pytest.approx(10 * math.log10(255**2 * 2000 / (k**2 * 100)), rel=1e-12)
    assert r["fg_ratio"] == pytest.approx(0.05)


def test_identical_images() -> None:
    img = photo("astronaut", (32, 32))
    mask = ellipse(32, 32, 0.5, 0.5, 0.3, 0.3)
    r = score_image(img, img.copy(), mask)
    assert r["mse"] == r["fmse"] == 0.0
    assert r["psnr"] == r["fpsnr"] == math.inf
    assert r["ssim"] == r["fssim"] == 1.0
    assert r["de2000"] == r["fde2000"] == r["de76"] == r["fde76"] == 0.0


def test_black_to_white_foreground_is_delta_e_100() -> None:
    """Lab(black) = (0, 0, 0) and Lab(white) ≈ (100, 0, 0): ΔE76 = ΔE2000 = 100 (S_L = 1 at L̄ = 50)."""
    real = np.zeros((20, 20, 3), np.float32)
    mask = np.zeros((20, 20), np.float32)
    mask[5:10, 5:13] = 1  # 40 pixels of 400
    pred = real + mask[..., None]
    r = score_image(pred, real, mask)
    for m in ("fde2000", "fde76"):
        assert r[m] == pytest.approx(100.0, rel=1e-5)
    for m in ("de2000", "de76"):
        assert r[m] == pytest.approx(10.0, rel=1e-5)
    assert r["fmse"] == pytest.approx(255.0**2) and r["mse"] == pytest.approx(255.0**2 / 10)


def test_single_pixel_ssim_closed_form() -> None:
    """Constant image c, one pixel of one channel raised by δ: with window weight w at a neighbour,
    μx = c + δw, μy = c, σx² = δ²w(1 − w), σy² = σxy = 0, so
    S = (2(c + δw)c + C1)·C2 / (((c + δw)² + c² + C1)(δ²w(1 − w) + C2)); S = 1 outside the 11×11 window."""
    c, delta, h, w = 0.4, 0.25, 31, 33
    y0, x0 = 15, 16
    real = np.full((h, w, 3), c, np.float32)
    pred = real.copy()
    pred[y0, x0, 0] = c + delta
    mask = np.zeros((h, w), np.float32)
    mask[y0 - 1:y0 + 3, x0 - 2:x0 + 1] = 1  # 12 foreground pixels around (and including) the change
    g = np.exp(-0.5 * np.arange(-5, 6) ** 2 / 1.5**2)
    g /= g.sum()
    c1, c2 = 0.01**2, 0.03**2
    s_map = np.ones((h, w))
    for dy in range(-5, 6):
        for dx in range(-5, 6):
            wt = g[dy + 5] * g[dx + 5]
            mx = c + delta * wt
            s_map[y0 + dy, x0 + dx] = ((2 * mx * c + c1) * c2) / ((mx**2 + c**2 + c1) * (delta**2 * wt * (1 - wt) + c2))
    fg = mask > 0.5
    r = score_image(pred, real, mask)
    assert r["fssim"] == pytest.approx((s_map[fg].sum() + 2 * fg.sum()) / (3 * fg.sum()), rel=1e-5)
    assert r["ssim"] == pytest.approx(1 + (s_map - 1)[5:-5, 5:-5].sum() / (3 * (h - 10) * (w - 10)), rel=1e-5)
    assert r["fssim"] < r["ssim"] < 1


# ------------------------------------------------------------------ API and validation


def test_api_names() -> None:
    assert len(METRICS) == 10 and len(set(METRICS)) == 10
    assert set(HIGHER_IS_BETTER) == set(METRICS)
    assert [m for m in METRICS if HIGHER_IS_BETTER[m]] == ["psnr", "fpsnr", "ssim", "fssim"]
    img = photo("astronaut", (16, 16))
    assert set(score_image(img, img, np.ones((16, 16)))) == {*METRICS, "fg_ratio"}


def test_score_images_is_score_image_per_item() -> None:
    rng = np.random.default_rng(6)
    reals = [rng.random((24, 24, 3), dtype=np.float32) for _ in range(3)]
    masks = [ellipse(24, 24, 0.5, 0.5, 0.2 + 0.1 * i, 0.3) for i in range(3)]
    preds = [paste(r, m, rng) for r, m in zip(reals, masks)]
    got = score_images(preds, reals, masks)
    for g, p, q, m in zip(got, preds, reals, masks):
        want = oracle(p, q, m)
        assert all(g[k] == pytest.approx(want[k], rel=1e-5) for k in METRICS)
    with pytest.raises(ValueError, match="2 ground truths"):
        score_images(preds, reals[:2], masks)


@pytest.mark.parametrize("pred_shape,real_shape,mask_shape,match", [
    ((20, 20), (20, 20, 3), (20, 20), "pred must be an H×W×3"),
    ((20, 20, 4), (20, 20, 3), (20, 20), "pred must be an H×W×3"),
    ((20, 21, 3), (20, 20, 3), (20, 20), "pred is 21×20 but real is 20×20"),
    ((20, 20, 3), (20, 20, 3), (20, 19), "fg_mask has shape"),
    ((8, 20, 3), (8, 20, 3), (8, 20), "at least 11×11"),
])
def test_bad_shapes(pred_shape, real_shape, mask_shape, match) -> None:
    with pytest.raises(ValueError, match=match):
        score_image(np.zeros(pred_shape, np.float32), np.zeros(real_shape, np.float32), np.zeros(mask_shape))


@pytest.mark.parametrize("bad", [np.nan, -0.1, 1.5])
def test_bad_values(bad: float) -> None:
    img = np.full((16, 16, 3), 0.5, np.float32)
    pred = img.copy()
    pred[3, 4, 1] = bad
    with pytest.raises(ValueError, match="pred values must be finite and in \\[0, 1\\]"):
        score_image(pred, img, np.ones((16, 16)))


def test_empty_foreground_gives_nan_f_metrics() -> None:
    rng = np.random.default_rng(8)
    real = rng.random((16, 16, 3), dtype=np.float32)
    r = score_image(np.clip(real + 0.1, 0, 1), real, np.zeros((16, 16)))
    assert all(math.isnan(r[m]) for m in METRICS if m.startswith("f"))
    assert r["fg_ratio"] == 0.0 and r["mse"] > 0


def test_mask_with_channel_axis_is_accepted() -> None:
    rng = np.random.default_rng(7)
    real = rng.random((16, 16, 3), dtype=np.float32)
    mask = ellipse(16, 16, 0.5, 0.5, 0.3, 0.3)
    pred = paste(real, mask, rng)
    assert score_image(pred, real, mask[..., None])["fmse"] == pytest.approx(oracle(pred, real, mask)["fmse"])
