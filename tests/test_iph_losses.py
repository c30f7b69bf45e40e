"""IPH losses against numpy/hand computations, and a tiny model overfitting a handful of samples."""

import dataclasses

import numpy as np
import pytest
import skimage.data
import torch
from skimage.transform import resize

from iph.losses import LOSS_PRESETS, LossConfig, compute_losses, luminance_matching
from iph.model import StyleEncoder, build

Y709 = np.array([0.2126, 0.7152, 0.0722])


def _np_stats(img, mask):
    y = np.einsum("chw,c->hw", img, Y709)[mask > 0.5]
    return np.array([np.percentile(y, 90), y.mean(), np.percentile(y, 10)])


def test_lm_equals_numpy_on_irregular_regions():
    rng = np.random.default_rng(0)
    h = rng.random((2, 3, 20, 24))
    r = rng.random((2, 3, 20, 24))
    fg = (rng.random((2, 1, 20, 24)) > 0.6).astype(np.float64)
    ref = (rng.random((2, 1, 20, 24)) > 0.3).astype(np.float64)
    terms = luminance_matching(*(torch.from_numpy(a) for a in (h, fg, r, ref)))
    diff = np.mean([np.abs(_np_stats(h[i], fg[i, 0]) - _np_stats(r[i], ref[i, 0])) for i in range(2)], axis=0)
    np.testing.assert_allclose([terms["highlight"], terms["midtone"], terms["shadow"]], diff, rtol=1e-10)


def test_lm_hand_computed_and_switches():
    # Foreground lumas 0, .25, .5, .75, 1 (grey pixels): 90th pct = .75 + .6·.25 = .9, mean .5, 10th pct = .1.
    img = torch.zeros(1, 3, 1, 6)
    img[0, :, 0, :5] = torch.tensor([0.0, 0.25, 0.5, 0.75, 1.0])
    img[0, :, 0, 5] = 0.5  # the reference region: one grey .5 pixel
    fg = torch.tensor([[[[1.0, 1, 1, 1, 1, 0]]]])
    ref = 1.0 - fg
    terms = luminance_matching(img, fg, img, ref)
    torch.testing.assert_close(torch.stack(list(terms.values())).double(),
                               torch.tensor([0.4, 0.0, 0.4], dtype=torch.float64), atol=1e-6, rtol=0)
    only = luminance_matching(img, fg, img, ref, LossConfig(midtone=False, shadow=False))
    assert list(only) == ["highlight"]


def test_lm_is_zero_when_statistics_match_and_differentiable():
    g = torch.Generator().manual_seed(1)
    img = torch.rand(1, 3, 8, 8, generator=g)
    fg = torch.zeros(1, 1, 8, 8)
    fg[..., :4, :] = 1.0
    img[..., 4:, :] = torch.flip(img[..., :4, :], dims=[3])  # the reference holds the same pixels, reordered
    terms = luminance_matching(img, fg, img, 1.0 - fg)
    assert max(float(v) for v in terms.values()) < 1e-6
    h = torch.rand(1, 3, 8, 8, generator=g, requires_grad=True)
    sum(luminance_matching(h, fg, img, 1.0 - fg).values()).backward()
    assert torch.isfinite(h.grad).all() and h.grad.abs().sum() > 0
    assert h.grad[..., 4:, :].abs().sum() == 0  # only the foreground region is read


def _batch(n=2, size=32, seed=0):
    g = torch.Generator().manual_seed(seed)
    comp, real = torch.rand(n, 3, size, size, generator=g), torch.rand(n, 3, size, size, generator=g)
    fg = torch.zeros(n, 1, size, size)
    fg[..., 4:16, 4:28] = 1.0
    comp = torch.where(fg > 0.5, comp, real)
    ref = torch.zeros(n, 1, size, size)
    ref[..., 20:, :] = 1.0
    return comp, fg, ref, real


def test_terms_match_their_definitions():
    torch.manual_seed(0)
    model = build("tiny").eval()
    comp, fg, ref, real = _batch()
    cfg = LossConfig(alpha=0.3, lam=0.7, beta=0.2, margin=1.5)  # a large margin keeps the triplets active
    total, terms = compute_losses(model, comp, fg, ref, real, cfg)
    with torch.no_grad():
        out = model(comp, fg, ref).numpy()
        b = model.style_code(comp, ref).numpy()
        c = model.style_code(comp, fg).numpy()
        r = model.style_code(real, fg).numpy()
        h = model.style_code(torch.from_numpy(out), fg).numpy()
    unit = lambda x: x / np.linalg.norm(x, axis=1, keepdims=True)  # noqa: E731 — codes compared on the sphere
    b, c, r, h = unit(b), unit(c), unit(r), unit(h)
    np.testing.assert_allclose(terms["harmonization"], np.abs(out - real.numpy()).mean(), rtol=1e-5)
    np.testing.assert_allclose(terms["consistency"], np.abs(h - b).mean(), rtol=1e-4)
    dist = lambda x, y: np.linalg.norm(x - y, axis=1)  # noqa: E731
    np.testing.assert_allclose(terms["triplet_reference"],
                               np.maximum(dist(h, b) - dist(h, c) + 1.5, 0).mean(), rtol=1e-4)
    np.testing.assert_allclose(terms["triplet_real"], np.maximum(dist(h, r) - dist(h, c) + 1.5, 0).mean(),
                               rtol=1e-4)
    expected = (terms["harmonization"] + 0.3 * (terms["highlight"] + terms["midtone"] + terms["shadow"])
                + 0.7 * terms["consistency"] + 0.2 * (terms["triplet_reference"] + terms["triplet_real"]))
    assert terms["total"] == pytest.approx(expected, rel=1e-5) and float(total.detach()) == pytest.approx(expected, rel=1e-5)


def test_foreground_normalised_l1_and_ablation_presets():
    torch.manual_seed(0)
    model = build("tiny").eval()
    comp, fg, ref, real = _batch()
    _, terms = compute_losses(model, comp, fg, ref, real, LossConfig(harm_per_foreground=True, alpha=0,
                                                                     lam=0, beta=0))
    with torch.no_grad():
        err = (model(comp, fg, ref) - real).abs().numpy()
    m = fg.numpy() > 0.5
    expected = np.mean([err[i][np.broadcast_to(m[i], err[i].shape)].mean() for i in range(2)])
    assert set(terms) == {"harmonization", "total", "code_spread"}
    assert terms["harmonization"] == pytest.approx(expected, rel=1e-5)
    assert set(compute_losses(model, comp, fg, ref, real, LOSS_PRESETS["style+highlight"])[1]) == {
        "harmonization", "highlight", "lm", "consistency", "triplet_reference", "triplet_real", "total",
        "code_spread"}
    # H-Net alone keeps L_consis and the triplets (Table 3 trains every row with them): φ comes from beside it
    hnet = build("tiny", use_style_encoder=False)
    assert LOSS_PRESETS["hnet"] == LOSS_PRESETS["style"]
    hnet_terms = {"harmonization", "consistency", "triplet_reference", "triplet_real", "total"}
    assert set(compute_losses(hnet, comp, fg, ref, real, LOSS_PRESETS["hnet"],
                              encoder=StyleEncoder(hnet.cfg))[1]) == hnet_terms
    with pytest.raises(ValueError, match="style encoder"):
        compute_losses(hnet, comp, fg, ref, real, LOSS_PRESETS["hnet"])
    assert set(compute_losses(hnet, comp, fg, ref, real, LossConfig(alpha=0, lam=0, beta=0))[1]) == {
        "harmonization", "total"}


def test_tiny_model_overfits_a_handful_of_samples():
    """Four 64² photos with colour-shifted foregrounds; the reference region holds the real foreground's pixels.
    L1 alone must fall ≥ 10× in 200 steps (the network can fit); under the whole objective the harmonization
    term must still fall ≥ 2× while the luminance, consistency and triplet terms pull on it, all finite."""
    photos = [resize(getattr(skimage.data, n)(), (64, 64), anti_aliasing=True).astype(np.float32)
              for n in ("astronaut", "coffee", "chelsea", "rocket")]
    real = torch.from_numpy(np.stack(photos)).permute(0, 3, 1, 2).contiguous()
    real[..., 32:, 16:48] = real[..., :32, 16:48]
    fg = torch.zeros(4, 1, 64, 64)
    fg[..., :32, 16:48] = 1.0
    ref = torch.zeros(4, 1, 64, 64)
    ref[..., 32:, 16:48] = 1.0
    gain = torch.tensor([[1.4, 0.8, 0.7], [0.6, 0.9, 1.3], [1.2, 1.2, 0.6], [0.7, 0.7, 0.9]])[..., None, None]
    comp = torch.where(fg > 0.5, (real * gain).clamp(0, 1), real)
    for cfg, key, factor in ((LossConfig(alpha=0, lam=0, beta=0), "total", 10), (LossConfig(), "harmonization", 2)):
        torch.manual_seed(0)
        model = build("tiny")
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)
        history = []
        for _ in range(200):
            total, terms = compute_losses(model, comp, fg, ref, real, cfg)
            opt.zero_grad()
            total.backward()
            opt.step()
            assert all(np.isfinite(v) for v in terms.values()), terms
            history.append(terms[key])
        assert np.mean(history[-10:]) <= history[0] / factor, (cfg, history[0], history[-10:])


def test_objective_module_wraps_model_and_loss_for_ddp():
    from iph.losses import Objective

    torch.manual_seed(0)
    model = build("tiny").eval()
    comp, fg, ref, real = _batch()
    objective = Objective(model, LossConfig(lam=0.5))
    assert dict(objective.named_parameters()).keys() == {f"model.{k}" for k, _ in model.named_parameters()}
    total, terms = objective(comp, fg, ref, real)
    assert terms == compute_losses(model, comp, fg, ref, real, LossConfig(lam=0.5))[1]
    assert float(total.detach()) == terms["total"]


def test_hnet_objective_trains_a_style_encoder_beside_the_model():
    """H-Net alone: the objective owns φ (its parameters are the model's plus `loss_encoder.*`), φ gets
    gradients from the triplets, and the model itself has no style-encoder or AdaIN parameters."""
    from iph.losses import Objective

    torch.manual_seed(0)
    hnet = build("tiny", use_style_encoder=False)
    assert not any(k.startswith("style_encoder") or "affine" in k or "stem_style" in k
                   for k in hnet.state_dict())
    objective = Objective(hnet, LOSS_PRESETS["hnet"])
    names = dict(objective.named_parameters()).keys()
    assert {k for k in names if not k.startswith("model.")} == {
        f"loss_encoder.{k}" for k, _ in objective.loss_encoder.named_parameters()}
    comp, fg, ref, real = _batch()
    total, _ = objective(comp, fg, ref, real)
    total.backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in objective.loss_encoder.parameters())
    assert Objective(build("tiny"), LOSS_PRESETS["style"]).loss_encoder is None


def test_stop_gradient_keeps_the_style_codes_apart():
    """The collapse guard: with the reference's code held fixed in L_consis the codes of different regions stay
    spread out; letting L_consis pull both codes (the first release's objective) collapses them to one."""
    from iph.losses import code_spread

    torch.manual_seed(1)
    comp, fg, ref, real = (torch.rand(4, 3, 64, 64), torch.zeros(4, 1, 64, 64), torch.zeros(4, 1, 64, 64),
                           torch.rand(4, 3, 64, 64))
    fg[..., 8:40, 8:40] = 1
    ref[..., 44:, :] = 1
    spread = {}
    for stop in (True, False):
        torch.manual_seed(0)
        model = build("tiny")
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)
        cfg = LossConfig(alpha=0, consistency_stop_grad=stop, lam=1.0)
        for _ in range(150):
            total, _ = compute_losses(model, comp, fg, ref, real, cfg)
            opt.zero_grad()
            total.backward()
            opt.step()
        with torch.no_grad():
            spread[stop] = code_spread(model.style_code(comp, ref))
    assert spread[True] > 5 * spread[False], spread
