"""PCT-Net ViT (rakutentech/PCT-Net-Image-Harmonization, config ViT_pct): the released PCTNet_ViT.pth layout
loads strictly through `pctnet-vit:checkpoint=`, the backbone computes what torch's own nn.TransformerEncoder
and einops' patch layout compute with those weights, the pre/post-processing against values worked out by
hand, a 1500×1000 input comes back at 1500×1000 with the image never resized, and the official parameter count.

The expected layout is written out from `iharm/model/modeling/vit_base.py` (ViT_Harmonizer: dim 256, ksize 4,
2 heads, 9 layers, dim_forward 2, output_nc 12) and `iharm/model/base/pct_net.py` (get_params 12 → 12).
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from baselines import pctnet_vit
from harness.errors import HarnessError
from harness.methods.spec import MethodSpec
from tests.test_idih import n_params, random_state


def vit_layout(dim=256, layers=9, patch=4, ff=512):
    layout = {"encoder.patch_to_embedding.1.weight": (dim, patch * patch * 4),
              "encoder.patch_to_embedding.1.bias": (dim,)}
    for i in range(layers):
        p = f"encoder.transformer_enc.layers.{i}."
        layout |= {p + "self_attn.in_proj_weight": (3 * dim, dim), p + "self_attn.in_proj_bias": (3 * dim,),
                   p + "self_attn.out_proj.weight": (dim, dim), p + "self_attn.out_proj.bias": (dim,),
                   p + "linear1.weight": (ff, dim), p + "linear1.bias": (ff,),
                   p + "linear2.weight": (dim, ff), p + "linear2.bias": (dim,),
                   p + "norm1.weight": (dim,), p + "norm1.bias": (dim,),
                   p + "norm2.weight": (dim,), p + "norm2.bias": (dim,)}
    return layout | {"encoder.dec.0.weight": (dim, 12, patch, patch), "encoder.dec.0.bias": (12,),
                     "get_params.weight": (12, 12, 1, 1), "get_params.bias": (12,)}


def test_the_full_size_is_the_official_layout_with_the_official_parameter_count():
    layout = vit_layout()
    assert n_params(layout) == 4_809_896 and len(layout) == 114
    with torch.device("meta"):
        model = pctnet_vit.build("full")
    assert sum(p.numel() for p in model.parameters()) == 4_809_896
    assert {k: tuple(v.shape) for k, v in model.state_dict().items()} == layout


def test_released_weights_load_strictly_through_the_method(tmp_path):
    """Saved as `iharm/utils/misc.py` save_checkpoint saves: torch.save(net.state_dict()). A missing and an
    unexpected key, or a wrong shape, is one line naming the key."""
    state = random_state(vit_layout())
    path = tmp_path / "PCTNet_ViT.pth"
    torch.save(state, path)
    method = MethodSpec.parse(f"pctnet-vit:checkpoint={path}").build()
    loaded = method.model.state_dict()
    assert set(loaded) == set(state) and all(torch.equal(loaded[k], v) for k, v in state.items())
    state["encoder.transformer_enc.layers.9.norm2.bias"] = state.pop("encoder.transformer_enc.layers.8.norm2.bias")
    torch.save(state, path)
    with pytest.raises(HarnessError) as err:
        MethodSpec.parse(f"pctnet-vit:checkpoint={tmp_path}").build()  # a folder holding it
    msg = str(err.value)
    assert "\n" not in msg and "missing keys 1: encoder.transformer_enc.layers.8.norm2.bias" in msg
    assert "unexpected keys 1: encoder.transformer_enc.layers.9.norm2.bias" in msg
    state = random_state(vit_layout())
    state["get_params.weight"] = torch.zeros(12, 32, 1, 1)  # PCT-Net CNN's head, 32 → 12
    torch.save(state, path)
    with pytest.raises(HarnessError, match=r"shape mismatches 1: get_params.weight \(file \(12, 32, 1, 1\), "
                                           r"model \(12, 12, 1, 1\)\)$"):
        MethodSpec.parse(f"pctnet-vit:checkpoint={path}").build()


def test_the_backbone_is_torchs_transformer_encoder_over_einops_patches():
    """Independent oracle: the patches cut by explicit indexing in einops' (p1 p2 c) order, torch's own
    nn.TransformerEncoder (seq-first, as vit_base.py calls it) given the same weights, the grid rebuilt as
    vit_base.py does (permute(1, 2, 0).view(bs, C, √L, √L))."""
    torch.manual_seed(0)
    model = pctnet_vit.build("tiny").eval()
    cfg = model.cfg
    official = nn.TransformerEncoder(nn.TransformerEncoderLayer(cfg.dim, nhead=cfg.n_head,
                                                                dim_feedforward=cfg.dim * cfg.ff_mult,
                                                                activation="gelu"),
                                     num_layers=cfg.n_layer, enable_nested_tensor=False).eval()
    prefix = "encoder.transformer_enc."
    official.load_state_dict({k[len(prefix):]: v for k, v in model.state_dict().items() if k.startswith(prefix)})
    x = torch.rand(2, 4, cfg.lowres, cfg.lowres)
    p, g = cfg.patch, cfg.lowres // cfg.patch
    tokens = torch.stack([torch.stack([x[:, c, i * p + a, j * p + b] for a in range(p) for b in range(p)
                                       for c in range(4)], -1) for i in range(g) for j in range(g)], 1)
    with torch.no_grad():
        embedded = model.encoder.patch_to_embedding[1](tokens)
        content = official(embedded.permute(1, 0, 2))
        want = model.encoder.dec(content.permute(1, 2, 0).reshape(2, cfg.dim, g, g))
        torch.testing.assert_close(model.encoder(x), want, rtol=0, atol=1e-5)


def test_full_resolution_in_full_resolution_out_without_resizing_the_image(monkeypatch):
    """1500×1000 in → 1500×1000 out. A backbone that predicts M = 2·I, b = −0.25 everywhere: inside the mask
    each pixel becomes clamp(2x − 0.25), outside it stays x, on the soft band (m = 0.3) 0.3·that + 0.7·x —
    per pixel, from its own input pixel (the image is never resized); the backbone saw lowres² with the mask
    soft (evaluate_folder.py: / 255, no threshold) and the composite on the 8-bit grid, not ImageNet-normalised."""
    model = pctnet_vit.build("tiny").eval()
    seen = {}

    def backbone(image_lr, mask_lr):
        seen["image"], seen["mask"] = image_lr, mask_lr
        n, _, h, w = image_lr.shape
        params = torch.zeros(n, 12, h, w)
        params[:, [0, 4, 8]], params[:, 9:] = 2.0, -0.25
        return params

    monkeypatch.setattr(model, "backbone", backbone)
    g = torch.Generator().manual_seed(0)
    comp = torch.rand(1, 3, 1000, 1500, generator=g)
    fg = torch.zeros(1, 1, 1000, 1500)
    fg[..., 200:600, 300:900] = 1.0
    fg[..., 600:800, 300:900] = 0.3
    with torch.no_grad():
        out = model(comp, fg, 1 - fg)
    assert out.shape == (1, 3, 1000, 1500)
    assert seen["image"].shape == (1, 3, 32, 32) and seen["mask"].shape == (1, 1, 32, 32)
    assert torch.equal(seen["image"], torch.round(seen["image"] * 255) / 255) and seen["image"].min() >= 0
    assert torch.isclose(seen["mask"], torch.tensor(0.3)).sum() > 0
    moved = (2 * comp - 0.25).clamp(0, 1)
    torch.testing.assert_close(out[..., 200:600, 300:900], moved[..., 200:600, 300:900], rtol=0, atol=3e-6)
    torch.testing.assert_close(out[..., 600:800, 300:900], 0.3 * moved[..., 600:800, 300:900]
                               + 0.7 * comp[..., 600:800, 300:900], rtol=0, atol=3e-6)
    assert torch.equal(out[..., :200, :], comp[..., :200, :])  # the official blend leaves m = 0 untouched


def test_parameters_are_upsampled_bicubically_and_the_output_clamped():
    """get_params' bias alone (weights 0): an offset-only transform (M = 0) whose offsets are the bias; with
    a hand-set varying low-res map the full-resolution output inside the mask is its bicubic upsampling
    (F.interpolate, align_corners=False), clamped to [0, 1]."""
    model = pctnet_vit.build("tiny").eval()
    g = torch.Generator().manual_seed(1)
    offsets = torch.rand(1, 3, 32, 32, generator=g) * 1.4 - 0.2  # some out of [0, 1]: the clamp shows
    model.backbone = lambda image_lr, mask_lr: torch.cat([torch.zeros(1, 9, 32, 32), offsets], 1)
    comp = torch.rand(1, 3, 90, 70, generator=g)
    with torch.no_grad():
        out = model(comp, torch.ones(1, 1, 90, 70), torch.zeros(1, 1, 90, 70))
    want = F.interpolate(offsets, size=(90, 70), mode="bicubic", align_corners=False).clamp(0, 1)
    torch.testing.assert_close(out, want, rtol=0, atol=1e-6)
    assert out.min() == 0 and out.max() == 1


def test_the_recipe_is_pctnets_loss_in_the_unnormalised_space():
    """MaskWeightedMSE on [0, 1] images (ViT_pct: mean 0, std 1) + 0.1 · smoothness, by hand."""
    from harness.train.recipes import make_recipe

    torch.manual_seed(0)
    model = pctnet_vit.build("tiny", dropout=0.0).train()  # the same forward in the step as here
    comp, real = torch.rand(2, 3, 64, 64), torch.rand(2, 3, 64, 64)
    fg = torch.zeros(2, 1, 64, 64)
    fg[:, :, 8:48, 8:40] = 1  # 1280 pixels (min_area 1000)
    recipe = make_recipe("pctnet-vit", model, lr=1e-3)
    with torch.no_grad():
        out, params = model.harmonize_normalized(comp, fg)
    mse = (((out - real) ** 2).sum((1, 2, 3)) / (3 * 1280)).mean()
    terms = recipe.step({"composite": comp, "fg_mask": fg, "ref_mask": 1 - fg, "real": real})
    assert terms["mask_weighted_mse"] == pytest.approx(mse.item(), rel=1e-4)
    assert terms["total"] == pytest.approx(terms["mask_weighted_mse"] + 0.1 * terms["param_smoothness"], rel=1e-6)


def test_the_small_size_starts_at_the_identity_transform_and_full_at_the_official_init():
    torch.manual_seed(0)
    model = pctnet_vit.build("small").eval()
    comp = torch.rand(1, 3, 80, 100)
    fg = torch.zeros(1, 1, 80, 100)
    fg[..., 20:60, 30:70] = 1
    with torch.no_grad():
        torch.testing.assert_close(model(comp, fg, 1 - fg), comp, rtol=0, atol=1e-6)
    full = pctnet_vit.build("full", n_layer=1, dim=16)  # the official init, on a narrow network
    assert not full.cfg.identity_init and torch.equal(full.get_params.bias, torch.zeros(12))
    assert full.get_params.weight.std().item() == pytest.approx(0.02, rel=0.3)


def test_the_backbone_input_is_cv2_bilinear_on_the_8_bit_composite_and_the_soft_mask():
    """At a 2:1 ratio INTER_LINEAR with half-pixel centres is the mean of each 2×2 block: the composite's rounded
    to 8 bits (cv2 returns uint8), the mask's kept soft — and both given to the ViT as they are (mean 0, std 1)."""
    model = pctnet_vit.build("tiny").eval()  # lowres 32
    seen = {}

    def backbone(image_lr, mask_lr):
        seen["image"], seen["mask"] = image_lr, mask_lr
        return torch.zeros(1, 12, 32, 32)

    model.backbone = backbone
    g = torch.Generator().manual_seed(2)
    comp = torch.randint(0, 256, (1, 3, 64, 64), generator=g).float() / 255
    fg = (torch.rand(1, 1, 64, 64, generator=g) > 0.5).float()
    with torch.no_grad():
        model(comp, fg, 1 - fg)
    blocks = comp.reshape(1, 3, 32, 2, 32, 2).mean((3, 5))
    level = blocks * 255
    tie = ((level - level.floor()) - 0.5).abs() < 0.01  # .5 exactly: either neighbour is cv2's rounding
    assert torch.equal(seen["image"] * 255, torch.round(seen["image"] * 255)) and tie.sum() > 0
    torch.testing.assert_close(seen["image"][~tie], torch.round(level)[~tie] / 255, rtol=0, atol=1e-6)
    assert ((seen["image"] * 255 - level).abs()[tie] <= 0.5 + 1e-4).all()
    torch.testing.assert_close(seen["mask"], fg.reshape(1, 1, 32, 2, 32, 2).mean((3, 5)), rtol=0, atol=1e-6)
    assert {0.25, 0.5, 0.75} <= set(seen["mask"].unique().tolist())
