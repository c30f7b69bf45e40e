"""Every registered harmonization network gets these checks for free (timm-style), at its tiny size."""


import dataclasses

import pytest
import torch

from harness.errors import UnknownNameError
from harness.methods import registry
from harness.methods.registry import create_model, list_models


MODELS = list_models()


def _batch(size=64, n=2, seed=0):
    g = torch.Generator().manual_seed(seed)
    comp = torch.rand(n, 3, size, size, generator=g)
    fg = torch.zeros(n, 1, size, size)
    fg[:, :, size // 4: size // 2, size // 4: 3 * size // 4] = 1.0
    ref = torch.zeros(n, 1, size, size)
    ref[:, :, 3 * size // 4:, :] = 1.0
    return comp, fg, ref


@pytest.mark.parametrize("name", MODELS)
def test_forward_shape_range_and_background_untouched(name):
    torch.manual_seed(0)
    model = create_model(name, "tiny").eval()
    comp, fg, ref = _batch()
    with torch.no_grad():
        out = model(comp, fg, ref)
    assert out.shape == comp.shape
    assert torch.isfinite(out).all()
    assert out.min() >= 0.0 and out.max() <= 1.0
    bg = (fg <= 0.5).expand_as(comp)
    assert torch.equal(out[bg], comp[bg]), "a model changed pixels outside the foreground"
    assert not torch.allclose(out[~bg], comp[~bg]), "the foreground was not changed at all"


@pytest.mark.parametrize("name", MODELS)
def test_backward_reaches_every_parameter(name):
    torch.manual_seed(0)
    model = create_model(name, "tiny").train()
    comp, fg, ref = _batch()
    out = model(comp, fg, ref)
    (out * fg).square().mean().backward()
    unused = getattr(model, "unused_parameters", ())  # kept only for an official key set (PCT-Net's to_rgb)
    missing = [n for n, p in model.named_parameters() if p.requires_grad and p.grad is None and n not in unused]
    assert not missing, f"no gradient reached: {missing[:5]}"
    assert all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)


@pytest.mark.parametrize("name", MODELS)
def test_registry_constants_match_the_built_models(name):
    """`harness list methods` reads the parameter count, reference use and working size from the registry
    without building anything: the full-size network, built on the meta device, must agree."""
    info = registry.BUILTIN[name]
    with torch.device("meta"):
        model = create_model(name, "full")
    assert isinstance(info.params, int)
    assert sum(p.numel() for p in model.parameters() if p.requires_grad) == info.params
    assert model.uses_reference is info.uses_reference
    assert model.resolution == info.resolution


@pytest.mark.parametrize("name", MODELS)
def test_every_family_offers_tiny_small_and_full(name):
    """One SIZES per family (the builder's module), read by everyone: the three sizes the harness names exist
    and build, and an unknown size is a ValueError naming the family's sizes."""
    sizes = registry.model_sizes(name)
    assert {"tiny", "small", "full"} <= set(sizes)
    for size in sizes:
        with torch.device("meta"):
            assert dataclasses.is_dataclass(create_model(name, size).cfg)
    with pytest.raises(ValueError, match="Known: " + ", ".join(sizes)):
        create_model(name, "huge")


@pytest.mark.parametrize("name", MODELS)
def test_input_multiple_is_what_the_network_accepts(name):
    """`input_multiple` (what training crops must divide by) is the truth: a side of that multiple runs; for a
    network that does not pad itself, one pixel less fails."""
    model = create_model(name, "tiny").eval()
    m = model.input_multiple
    side = max(m, 64)
    comp, fg, ref = _batch(side, n=1)
    with torch.no_grad():
        assert model(comp, fg, ref).shape == comp.shape
        if m > 1:
            with pytest.raises(ValueError, match=f"divisible by {m}"):
                model(*(t[..., : side - 1, : side - 1] for t in (comp, fg, ref)))
        else:
            odd = [t[..., :37, :45] for t in (comp, fg, ref)]
            assert model(*odd).shape == odd[0].shape


def test_unknown_model_suggests_close_name():
    with pytest.raises(UnknownNameError, match="Did you mean: dovenet"):
        create_model("dovnet")
