"""IPH model: the paper's size, the registry contract's details, what the network may read, §7 style blending."""

import pytest
import torch

from iph.losses import compute_losses
from iph.model import IPH, blend_styles, build, count_parameters

PAPER_PARAMETERS = 27e6  # the model size the paper reports (issue #5)


def _batch(n=2, h=64, w=64, seed=0):
    g = torch.Generator().manual_seed(seed)
    comp = torch.rand(n, 3, h, w, generator=g)
    real = torch.rand(n, 3, h, w, generator=g)
    fg = torch.zeros(n, 1, h, w)
    fg[:, :, h // 4: h // 2, w // 4: 3 * w // 4] = 1.0
    ref = torch.zeros(n, 1, h, w)
    ref[:, :, 3 * h // 4:, : w // 2] = 1.0
    return comp, fg, ref, real


def test_full_size_matches_the_paper_without_a_forward():
    n = count_parameters(build("full"))
    assert abs(n - PAPER_PARAMETERS) <= 0.15 * PAPER_PARAMETERS, n


def test_gradients_reach_both_subnetworks():
    torch.manual_seed(0)
    model = build("tiny").train()
    comp, fg, ref, real = _batch()
    total, _ = compute_losses(model, comp, fg, ref, real)
    total.backward()
    for part in (model.style_encoder, model.harmonizer):
        grads = [p.grad for p in part.parameters()]
        assert all(g is not None and torch.isfinite(g).all() for g in grads)
        assert sum(float(g.abs().sum()) for g in grads) > 0


def test_changing_only_the_reference_region_changes_the_output():
    torch.manual_seed(0)
    model = build("tiny").eval()
    comp, fg, ref, _ = _batch(n=1)
    other = comp.clone()
    inside_ref = (ref > 0.5).expand_as(comp)
    other[inside_ref] = 1.0 - other[inside_ref]  # new reference content, same foreground and masks
    with torch.no_grad():
        a, b = model(comp, fg, ref), model(other, fg, ref)
    inside_fg = (fg > 0.5).expand_as(comp)
    assert (a[inside_fg] - b[inside_fg]).abs().max() > 1e-3


def test_only_the_foreground_and_the_reference_region_are_read():
    # The paper feeds the harmonizer the masked-out foreground and the style encoder the reference region only.
    torch.manual_seed(0)
    model = build("tiny").eval()
    comp, fg, ref, _ = _batch(n=1)
    other = comp.clone()
    elsewhere = ((fg <= 0.5) & (ref <= 0.5)).expand_as(comp)
    other[elsewhere] = torch.rand(int(elsewhere.sum()))
    with torch.no_grad():
        a, b = model(comp, fg, ref), model(other, fg, ref)
    inside_fg = (fg > 0.5).expand_as(comp)
    torch.testing.assert_close(a[inside_fg], b[inside_fg], atol=1e-6, rtol=0)


def test_style_blend_endpoints_and_midpoint():
    torch.manual_seed(0)
    model = build("tiny").eval()
    comp, fg, ref, _ = _batch(n=1)
    ref_b = torch.zeros_like(ref)
    ref_b[:, :, :8, :] = 1.0
    with torch.no_grad():
        a, b = model.style_code(comp, ref), model.style_code(comp, ref_b)
        assert torch.equal(blend_styles(a, b, 1.0, 0.0), a)
        torch.testing.assert_close(blend_styles(a, b, 0.5, 0.5), (a + b) / 2)
        torch.testing.assert_close(model.harmonize_blend(comp, fg, ref, ref_b, 1.0, 0.0), model(comp, fg, ref))
        torch.testing.assert_close(model.harmonize_blend(comp, fg, ref, ref_b, 0.0, 1.0), model(comp, fg, ref_b))


def test_soft_mask_outside_and_odd_sizes():
    torch.manual_seed(0)
    model = build("tiny").eval()
    comp, fg, ref, _ = _batch(n=1, h=50, w=70)
    fg = fg * 0.6 + 0.3  # soft: 0.3 outside (must stay untouched), 0.9 inside
    with torch.no_grad():
        out = model(comp, fg, ref)
    assert out.shape == comp.shape
    outside = (fg <= 0.5).expand_as(comp)
    assert torch.equal(out[outside], comp[outside])


def test_hnet_alone_ignores_the_reference():
    torch.manual_seed(0)
    model = build("tiny", use_style_encoder=False).eval()
    assert model.uses_reference is False and model.style_encoder is None
    # no AdaIN anywhere and nothing of a style code: the harmonizer's blocks are plain residual blocks
    from iph.layers import AdaIN, ResBlock

    assert not any(isinstance(m, AdaIN) for m in model.modules()) and model.harmonizer.stem_style is None
    assert all(isinstance(b, ResBlock) for b in model.harmonizer.mid)
    with pytest.raises(ValueError, match="no style encoder"):
        model.style_code(*_batch(n=1)[:2])
    comp, fg, ref, _ = _batch(n=1)
    with torch.no_grad():
        torch.testing.assert_close(model(comp, fg, ref), model(comp, fg, torch.flip(ref, dims=[2])))


def test_resolution_and_reference_attributes():
    model = build("tiny")
    assert isinstance(model, IPH) and model.uses_reference is True and model.resolution == 256


def test_unknown_size_or_field_is_a_user_error():
    with pytest.raises(ValueError, match="Did you mean: tiny"):
        build("tinny")
    with pytest.raises(ValueError, match="Did you mean: style_dim"):
        build("tiny", style_dims=8)
