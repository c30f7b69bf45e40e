"""Behaviour of the baselines' training pieces (discriminator, triplet losses, RAIN) and of their region use,
on 64×64 tensors with the tiny configurations."""

import numpy as np
import pytest
import torch

from baselines import bargainnet, dovenet, rainnet
from baselines.bargainnet import triplet
from baselines.rainnet import RAIN


def _batch(n=2, size=64, seed=0):
    g = torch.Generator().manual_seed(seed)
    comp = torch.rand(n, 3, size, size, generator=g)
    real = (comp + 0.1 * torch.randn(n, 3, size, size, generator=g)).clamp(0, 1)
    fg = torch.zeros(n, 1, size, size)
    fg[:, :, 16:40, 16:48] = 1.0
    ref = torch.zeros(n, 1, size, size)
    ref[:, :, 48:, :] = 1.0
    return comp, real, fg, ref


def _grads_ok(module):
    params = [p for p in module.parameters() if p.requires_grad]
    return all(p.grad is not None and torch.isfinite(p.grad).all() for p in params)


# --------------------------------------------------------------------------------------- Dove-Net D
@pytest.mark.parametrize("family", [dovenet, rainnet])
def test_discriminator_and_losses_run_forward_and_backward(family):
    torch.manual_seed(0)
    model = family.build("tiny").train()
    netD = model.make_discriminator().train()
    comp, real, fg, ref = _batch()
    fake = model.generate(comp, fg, ref) if family is dovenet else model(comp, fg, ref)
    g_score, v_score = netD(real * 2 - 1, fg)
    assert g_score.shape == v_score.shape == (2, 1, 1, 1)  # 64 → 31 → 15 → 7 → 3 → 1

    d_loss, d_parts = dovenet.discriminator_loss(netD, fake, real, fg)
    d_loss.backward()
    assert torch.isfinite(d_loss) and d_parts["D_gp"] >= 0.0
    assert _grads_ok(netD)
    assert all(p.grad is None for p in model.parameters()), "the D step must not reach the generator"

    netD.requires_grad_(False)
    g_loss, g_parts = dovenet.generator_loss(netD, fake, real, fg)
    g_loss.backward()
    assert _grads_ok(model)
    # L1 in [-1, 1] units, as officially: twice the [0, 1] mean absolute error
    assert g_parts["G_L1"] == pytest.approx(2 * (fake - real).abs().mean().item(), rel=1e-5)


def test_region_branch_of_discriminator_sees_only_its_region():
    torch.manual_seed(0)
    netD = dovenet.build("tiny").make_discriminator().eval()
    comp, _, fg, _ = _batch(n=1)
    fg_changed = torch.where(fg > 0.5, torch.rand_like(comp), comp)
    bg_changed = torch.where(fg > 0.5, comp, torch.rand_like(comp))
    with torch.no_grad():
        g0, f0, b0 = netD.features(comp * 2 - 1, fg)
        g1, f1, b1 = netD.features(fg_changed * 2 - 1, fg)
        g2, f2, b2 = netD.features(bg_changed * 2 - 1, fg)
    assert torch.equal(b0, b1) and not torch.allclose(f0, f1)  # fg pixels reach only the fg features
    assert torch.equal(f0, f2) and not torch.allclose(b0, b2)  # bg pixels reach only the bg features
    assert not torch.allclose(g0, g1) and not torch.allclose(g0, g2)  # the global branch sees everything


# ------------------------------------------------------------------------------------ Bargain-Net
def _np_triplet(a, p, n, margin, per_dimension, eps=1e-6):
    """Hand computation: max(0, margin + d(a,p) − d(a,n)) averaged, with torch's eps inside the norm."""
    a, p, n = (t.numpy().astype(np.float64) for t in (a, p, n))
    if per_dimension:
        d_ap, d_an = np.abs(a - p + eps), np.abs(a - n + eps)
    else:
        d_ap = np.sqrt(((a - p + eps).reshape(len(a), -1) ** 2).sum(1))
        d_an = np.sqrt(((a - n + eps).reshape(len(a), -1) ** 2).sum(1))
    return np.maximum(0.0, margin + d_ap - d_an).mean()


@pytest.mark.parametrize("per_dimension", [True, False])
def test_triplet_matches_hand_computation(per_dimension):
    g = torch.Generator().manual_seed(1)
    a, p, n = (0.3 * torch.randn(4, 16, 1, 1, generator=g) for _ in range(3))
    got = triplet(a, p, n, margin=0.1, per_dimension=per_dimension).item()
    assert got == pytest.approx(_np_triplet(a, p, n, 0.1, per_dimension), rel=1e-5, abs=1e-7)
    assert got > 0.0


@pytest.mark.parametrize("build", [bargainnet.build, bargainnet.build_r])
def test_training_loss_runs_forward_and_backward(build):
    torch.manual_seed(0)
    model = build("tiny").train()
    comp, real, fg, ref = _batch()
    loss, parts = bargainnet.training_loss(model, comp, real, fg, ref)
    loss.backward()
    assert torch.isfinite(loss) and set(parts) == {"L1", "tri_ff", "tri_fb"}
    assert loss.item() == pytest.approx(parts["L1"] + 0.01 * (parts["tri_ff"] + parts["tri_fb"]), rel=1e-5)
    assert _grads_ok(model.generator) and _grads_ok(model.extractor)


def test_domain_code_sees_only_its_region():
    torch.manual_seed(0)
    model = bargainnet.build("tiny").eval()
    comp, _, fg, ref = _batch(n=1)
    outside_ref = torch.where(ref > 0.5, comp, torch.rand_like(comp))
    inside_ref = torch.where(ref > 0.5, torch.rand_like(comp), comp)
    with torch.no_grad():
        z = model.domain_code(comp, ref)
        assert torch.equal(z, model.domain_code(outside_ref, ref))
        assert not torch.allclose(z, model.domain_code(inside_ref, ref))


def test_only_the_r_variant_reads_the_reference_region():
    torch.manual_seed(0)
    bg_model, r_model = bargainnet.build("tiny").eval(), bargainnet.build_r("tiny").eval()
    with torch.no_grad():  # the 0.02-std init makes codes ~1e-5: enlarge them so their effect is measurable
        for m in (bg_model, r_model):
            m.extractor.convs.weight.mul_(1e4)
    comp, _, fg, ref = _batch(n=1)
    other_ref = torch.zeros_like(ref)
    other_ref[:, :, :, 52:] = 1.0  # a different region, still outside the foreground
    with torch.no_grad():
        assert torch.equal(bg_model(comp, fg, ref), bg_model(comp, fg, other_ref))
        assert (r_model(comp, fg, ref) - r_model(comp, fg, other_ref)).abs().max() > 1e-3
        for family in (dovenet, rainnet):
            m = family.build("tiny").eval()
            assert torch.equal(m(comp, fg, ref), m(comp, fg, other_ref))
    assert not bg_model.uses_reference and r_model.uses_reference


# --------------------------------------------------------------------------------------------- RAIN
def test_rain_matches_numpy_hand_computation():
    g = torch.Generator().manual_seed(2)
    x = torch.randn(2, 3, 4, 4, generator=g) * 2 + 1
    mask = torch.zeros(2, 1, 8, 8)  # twice the feature size: nearest resizing keeps every other pixel
    mask[0, :, 0:4, 2:8] = 1.0
    mask[1, :, 4:8, 0:6] = 1.0
    mask[1, :, 0, 0] = 1.0
    rain = RAIN(3)
    with torch.no_grad():
        rain.foreground_gamma.copy_(torch.tensor([0.5, -0.2, 0.0]))
        rain.foreground_beta.copy_(torch.tensor([0.1, 0.0, -0.3]))
        rain.background_gamma.copy_(torch.tensor([0.0, 0.3, -0.1]))
        rain.background_beta.copy_(torch.tensor([-0.2, 0.4, 0.0]))
        got = rain(x, mask).numpy()

    xn = x.numpy().astype(np.float64)
    m = mask.numpy()[:, 0, ::2, ::2] > 0.5  # nearest 8 → 4 picks source pixels 0, 2, 4, 6
    gf, bf, gb, bb = (p.detach().numpy().astype(np.float64)
                      for p in (rain.foreground_gamma, rain.foreground_beta, rain.background_gamma,
                                rain.background_beta))
    eps = 1e-5
    want = np.empty_like(xn)
    for n in range(2):
        for c in range(3):
            v = xn[n, c]
            fgv, bgv = v[m[n]], v[~m[n]]
            mu_f, mu_b = fgv.sum() / (fgv.size + eps), bgv.sum() / (bgv.size + eps)
            sd_f = np.sqrt(((fgv - mu_f) ** 2).sum() / (fgv.size + eps) + eps)
            sd_b = np.sqrt(((bgv - mu_b) ** 2).sum() / (bgv.size + eps) + eps)
            want[n, c] = np.where(m[n], ((v - mu_f) / sd_f * sd_b + mu_b) * (1 + gf[c]) + bf[c],
                                  (v - mu_b) / sd_b * (1 + gb[c]) + bb[c])
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)


def test_rain_at_init_gives_the_foreground_the_background_statistics():
    g = torch.Generator().manual_seed(3)
    x = torch.randn(1, 2, 8, 8, generator=g)
    mask = torch.zeros(1, 1, 8, 8)
    mask[..., 2:6, 2:6] = 1.0
    x = x + 5.0 * mask  # a foreground far brighter than its background
    with torch.no_grad():
        y = RAIN(2)(x, mask)
    inside = mask[0, 0] > 0.5
    for c in range(2):
        fg, bg = y[0, c][inside].double(), x[0, c][~inside].double()
        assert fg.mean().item() == pytest.approx(bg.mean().item(), abs=1e-4)
        assert fg.std(unbiased=False).item() == pytest.approx(bg.std(unbiased=False).item(), rel=1e-3)


# ------------------------------------------------------------------------------------ input checks
def test_bad_sizes_and_options_are_clear_errors():
    comp, _, fg, ref = _batch(n=1, size=48)  # 48 is not a multiple of 2**6
    with pytest.raises(ValueError, match="divisible by 64"):
        dovenet.build("tiny")(comp, fg, ref)
    with pytest.raises(ValueError, match="unknown size 'huge'"):
        rainnet.build("huge")
    with pytest.raises(ValueError, match="unknown option.*ngff"):
        bargainnet.build_r("tiny", ngff=3)
