"""PCT-Net CNN (rakutentech/PCT-Net-Image-Harmonization): the released PCTNet_CNN.pth layout loads strictly
through `pctnet:checkpoint=`, the transform and its full-resolution application against values worked out by
hand, a 1500×1000 input comes back at 1500×1000 with the image never resized, and the official parameter count.

The expected layout is iSSAM's (written out in tests/test_idih.py from the official channel lists) plus the
parameter head `get_params` (1×1, 32 → 12), as `iharm/model/base/pct_net.py` builds it.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from baselines import pctnet
from harness.errors import HarnessError
from harness.methods.spec import MethodSpec
from tests.test_idih import issam_layout, n_params, random_state


def pct_layout():
    return {**issam_layout(), "get_params.weight": (12, 32, 1, 1), "get_params.bias": (12,)}


def test_the_full_size_is_the_official_layout_with_the_official_parameter_count():
    layout = pct_layout()
    assert n_params(layout) == 2_185_736 and len(layout) == 115
    with torch.device("meta"):
        model = pctnet.build("full")
    assert sum(p.numel() for p in model.parameters()) == 2_185_736
    assert {k: tuple(v.shape) for k, v in model.state_dict().items()} == layout


def test_released_weights_load_strictly_through_the_method(tmp_path):
    state = random_state(pct_layout())
    path = tmp_path / "PCTNet_CNN.pth"
    torch.save(state, path)
    method = MethodSpec.parse(f"pctnet:checkpoint={path}").build()
    loaded = method.model.state_dict()
    assert set(loaded) == set(state) and all(torch.equal(loaded[k], v) for k, v in state.items())
    del state["get_params.bias"]
    torch.save(state, path)
    with pytest.raises(HarnessError) as err:
        MethodSpec.parse(f"pctnet:checkpoint={path}").build()
    assert "\n" not in str(err.value) and "missing keys 1: get_params.bias" in str(err.value)


def test_the_linear_transform_is_a_row_major_matrix_and_an_offset_per_pixel():
    x = torch.tensor([0.2, -0.5, 1.5]).view(1, 3, 1, 1)
    p = torch.arange(12, dtype=torch.float32).view(1, 12, 1, 1) / 10
    y = pctnet.apply_linear_transform(x, p).flatten().tolist()
    # row i: p[3i:3i+3] · x + p[9+i]
    want = [0.0 * 0.2 + 0.1 * -0.5 + 0.2 * 1.5 + 0.9,
            0.3 * 0.2 + 0.4 * -0.5 + 0.5 * 1.5 + 1.0,
            0.6 * 0.2 + 0.7 * -0.5 + 0.8 * 1.5 + 1.1]
    assert y == pytest.approx(want, abs=1e-6)


def test_full_resolution_in_full_resolution_out_without_resizing_the_image(monkeypatch):
    """1500×1000 in → 1500×1000 out. With a backbone that predicts M = diag(std), b = mean — the inverse of
    the normalisation, so y = x — and an attention of 1, every output pixel is its own input pixel (the image
    is never resized); the backbone saw lowres² (bilinear)."""
    model = pctnet.build("tiny").eval()
    seen = {}
    mean, std = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)

    def backbone(image_lr, mask_lr):
        seen["image"], seen["mask"] = image_lr, mask_lr
        n, _, h, w = image_lr.shape
        params = torch.zeros(n, 12, h, w)
        for c in range(3):
            params[:, 4 * c], params[:, 9 + c] = std[c], mean[c]
        return params, torch.ones(n, 1, h, w)

    monkeypatch.setattr(model, "backbone", backbone)
    g = torch.Generator().manual_seed(0)
    comp = torch.rand(1, 3, 1000, 1500, generator=g)
    fg = torch.zeros(1, 1, 1000, 1500)
    fg[..., 200:600, 300:900] = 1.0
    fg[..., 600:800, 300:900] = 0.3  # a soft edge band
    out = model.generate(comp, fg, 1 - fg)
    assert out.shape == (1, 3, 1000, 1500)
    assert seen["image"].shape == (1, 3, 32, 32) and seen["mask"].shape == (1, 1, 32, 32)
    torch.testing.assert_close(out, comp, rtol=0, atol=2e-6)
    # the mask goes in soft (evaluate_folder.py: / 255, no threshold)
    assert torch.isclose(seen["mask"], torch.tensor(0.3)).sum() > 0


def test_parameters_and_attention_are_upsampled_bicubically(monkeypatch):
    """A parameter map that is an offset only (M = 0): the output is the bicubically upsampled offset map,
    clamped — checked against F.interpolate(bicubic, align_corners=False) of the low-res map."""
    model = pctnet.build("tiny").eval()
    g = torch.Generator().manual_seed(1)
    offsets = torch.rand(1, 3, 32, 32, generator=g) * 0.6 + 0.2

    def backbone(image_lr, mask_lr):
        return torch.cat([torch.zeros(1, 9, 32, 32), offsets], 1), torch.ones(1, 1, 32, 32)

    monkeypatch.setattr(model, "backbone", backbone)
    comp = torch.rand(1, 3, 90, 70, generator=g)
    out = model.generate(comp, torch.ones(1, 1, 90, 70), torch.zeros(1, 1, 90, 70))
    want = F.interpolate(offsets, size=(90, 70), mode="bicubic", align_corners=False).clamp(0, 1)
    torch.testing.assert_close(out, want, rtol=0, atol=1e-5)


def test_the_recipe_is_mask_weighted_mse_plus_smoothness():
    from harness.train.recipes import make_recipe

    torch.manual_seed(0)
    model = pctnet.build("tiny").train()
    comp, real = torch.rand(2, 3, 64, 64), torch.rand(2, 3, 64, 64)
    fg = torch.zeros(2, 1, 64, 64)
    fg[:, :, 8:48, 8:40] = 1  # 1280 pixels (min_area 1000)
    recipe = make_recipe("pctnet", model, lr=1e-3)
    with torch.no_grad():
        out, params = model.harmonize_normalized(comp, fg)
    mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
    mse = (((out - (real - mean) / std) ** 2).sum((1, 2, 3)) / (3 * 1280)).mean()
    # Sobel magnitude by hand: replicate border, kernels /8
    p = F.pad(params, (1, 1, 1, 1), mode="replicate").numpy()
    gx = ((p[..., 1:-1, 2:] - p[..., 1:-1, :-2]) * 2 + (p[..., :-2, 2:] - p[..., :-2, :-2])
          + (p[..., 2:, 2:] - p[..., 2:, :-2]))
    gy = ((p[..., 2:, 1:-1] - p[..., :-2, 1:-1]) * 2 + (p[..., 2:, 2:] - p[..., :-2, 2:])
          + (p[..., 2:, :-2] - p[..., :-2, :-2]))
    smooth = np.sqrt((gx / 8) ** 2 + (gy / 8) ** 2 + 1e-6).mean()
    terms = recipe.step({"composite": comp, "fg_mask": fg, "ref_mask": 1 - fg, "real": real})
    assert terms["mask_weighted_mse"] == pytest.approx(mse.item(), rel=1e-4)
    assert terms["param_smoothness"] == pytest.approx(float(smooth), rel=1e-4)
    assert terms["total"] == pytest.approx(terms["mask_weighted_mse"] + 0.1 * terms["param_smoothness"], rel=1e-6)


def test_the_small_size_starts_at_the_identity_transform():
    """identity_init: get_params gives M = diag(std), b = mean everywhere, which undoes the normalisation: the
    untrained small network returns its input, whatever the attention map."""
    torch.manual_seed(0)
    model = pctnet.build("small").eval()
    assert model.cfg.identity_init and not pctnet.build("full").cfg.identity_init
    comp = torch.rand(1, 3, 80, 100)
    fg = torch.zeros(1, 1, 80, 100)
    fg[..., 20:60, 30:70] = 1
    with torch.no_grad():
        torch.testing.assert_close(model.generate(comp, fg, 1 - fg), comp, rtol=0, atol=2e-6)
