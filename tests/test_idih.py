"""iDIH and iSSAM (saic-vul/image_harmonization): the released .pth layouts load strictly through
`NAME:checkpoint=`, the official pre/post-processing against values worked out by hand, the official loss,
parameter counts equal the official ones, and both run from their shipped checkpoints.

The expected key layouts are written out here from the official configs' channel lists (read from
`iharm/mconfigs/base.py` + `conv_autoencoder.py` / `unet.py` / `ssam_model.py`, written as literals), never
from the models' own state_dict(); files are saved as the official `save_checkpoint` saves them: a plain
dict of tensors through torch.save.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from baselines import idih, ihblocks, issam
from harness.data.sample import Sample
from harness.errors import HarnessError
from harness.methods.spec import MethodSpec

# improved_dih256: (in, out) of encoder block0..6 (ch 64, ×2 on even blocks, max 512) and deconv 0..6
IDIH_ENCODER = [(4, 64), (64, 64), (64, 128), (128, 128), (128, 256), (256, 256), (256, 512)]
IDIH_DECODER = [(512, 256), (256, 256), (256, 128), (128, 128), (128, 64), (64, 64), (64, 32)]
# improved_ssam256: encoder block0..3 (ch 32, ×2 each); up blocks (decoder in, out = skip); SSAM on up block 2
ISSAM_ENCODER = [(4, 32), (32, 64), (64, 128), (128, 256)]
ISSAM_UP = [(256, 128), (128, 64), (64, 32)]
OFFICIAL = {"idih": (8_301_284, 92), "issam": (2_185_340, 113)}


def _bn(prefix, c):
    return {prefix + "weight": (c,), prefix + "bias": (c,), prefix + "running_mean": (c,),
            prefix + "running_var": (c,), prefix + "num_batches_tracked": ()}


def _conv(prefix, cin, cout, k, bias=True):
    return {prefix + "weight": (cout, cin, k, k), **({prefix + "bias": (cout,)} if bias else {})}


def _encoder_prefix(i):
    return f"encoder.block{i}." if i < 2 else f"encoder.blocks_connected.block{i}."


def _head(c):
    return {**_conv("decoder.conv_attention.", c, 1, 1), **_conv("decoder.to_rgb.", c, 3, 1)}


def idih_layout():
    """ConvBlock = [conv 4×4 (bias), BN from block 2 / Identity, ELU]; SEDeconvBlock = [convT 4×4 (bias:
    weight in×out), BN, ELU]."""
    keys = {}
    for i, (cin, cout) in enumerate(IDIH_ENCODER):
        keys.update(_conv(_encoder_prefix(i) + "block.0.", cin, cout, 4))
        if i >= 2:
            keys.update(_bn(_encoder_prefix(i) + "block.1.", cout))
    for d, (cin, cout) in enumerate(IDIH_DECODER):
        keys[f"decoder.deconv_blocks.{d}.block.0.weight"] = (cin, cout, 4, 4)
        keys[f"decoder.deconv_blocks.{d}.block.0.bias"] = (cout,)
        keys.update(_bn(f"decoder.deconv_blocks.{d}.block.1.", cout))
    return {**keys, **_head(32)}


def _double_conv(prefix, cin, cout, bn):
    keys = {}
    for j, (a, b) in enumerate(((cin, cout), (cout, cout))):
        keys.update(_conv(f"{prefix}block.{j}.block.0.", a, b, 3))
        if bn:
            keys.update(_bn(f"{prefix}block.{j}.block.1.", b))
    return keys


def issam_layout():
    """UNetDownBlock.convs = two 3×3 ConvBlocks (bias; BN from block 2); UNetUpBlock = upconv [Upsample, 3×3
    ConvBlock without BN], convs (2·out → out, BN); SpatialSeparatedAttention on C = 2·out channels: three
    ChannelAttentions (Linear 2C → max(C/16, 8) → C), learning_block (3×3, no bias, BN; C → C/2 → C),
    mask_blurring.weight (a 1×1×7×7 buffer)."""
    keys = {}
    for i, (cin, cout) in enumerate(ISSAM_ENCODER):
        keys.update(_double_conv(_encoder_prefix(i) + "convs.", cin, cout, bn=i >= 2))
    for d, (cin, cout) in enumerate(ISSAM_UP):
        p = f"decoder.up_blocks.{d}."
        keys.update(_conv(p + "upconv.1.block.0.", cin, cout, 3))
        keys.update(_double_conv(p + "convs.", 2 * cout, cout, bn=True))
        if d == 2:
            c, mid = 2 * cout, max(2 * cout // 16, 8)
            for gate in ("background_gate", "foreground_gate", "mix_gate"):
                t = f"{p}attention.{gate}.attention_transform."
                keys.update({t + "0.weight": (mid, 2 * c), t + "0.bias": (mid,), t + "2.weight": (c, mid),
                             t + "2.bias": (c,)})
            for j, (a, b) in enumerate(((c, c // 2), (c // 2, c))):
                keys.update(_conv(f"{p}attention.learning_block.{j}.block.0.", a, b, 3, bias=False))
                keys.update(_bn(f"{p}attention.learning_block.{j}.block.1.", b))
            keys[p + "attention.mask_blurring.weight"] = (1, 1, 7, 7)
    return {**keys, **_head(32)}


LAYOUTS = {"idih": idih_layout, "issam": issam_layout}
MODULES = {"idih": idih, "issam": issam}
FILES = {"idih": "idih256.pth", "issam": "issam256.pth"}


def n_params(layout):
    buffers = ("running_mean", "running_var", "num_batches_tracked", "mask_blurring.weight")
    return sum(torch.Size(s).numel() for k, s in layout.items() if not k.endswith(buffers))


def random_state(layout, seed=0):
    g = torch.Generator().manual_seed(seed)
    state = {k: torch.randn(s, generator=g) * 0.05 for k, s in layout.items()}
    for k in state:
        if k.endswith("running_var"):
            state[k] = state[k].abs() + 0.5
        elif k.endswith("num_batches_tracked"):
            state[k] = torch.tensor(1000)
    return state


def _t(a):
    a = a[..., None] if a.ndim == 2 else a
    return torch.from_numpy(np.ascontiguousarray(a.transpose(2, 0, 1)))[None]


# ------------------------------------------------------------------------------- official sizes and keys
@pytest.mark.parametrize("name", ["idih", "issam"])
def test_the_full_size_is_the_official_layout_with_the_official_parameter_count(name):
    params, n_keys = OFFICIAL[name]
    layout = LAYOUTS[name]()
    assert n_params(layout) == params and len(layout) == n_keys
    with torch.device("meta"):
        model = MODULES[name].build("full")
    assert sum(p.numel() for p in model.parameters()) == params
    assert {k: tuple(v.shape) for k, v in model.state_dict().items()} == layout


@pytest.mark.parametrize("name", ["idih", "issam"])
def test_released_weights_load_strictly_through_the_method(name, tmp_path):
    """A state dict in the official layout, torch.save'd, loads through NAME:checkpoint=FILE.pth; at 256² the
    method returns the network's whole image (not composited outside the mask)."""
    state = random_state(LAYOUTS[name]())
    path = tmp_path / FILES[name]
    torch.save(state, path)
    method = MethodSpec.parse(f"{name}:checkpoint={path}").build()
    loaded = method.model.state_dict()
    assert set(loaded) == set(state) and all(torch.equal(loaded[k], v) for k, v in state.items())
    assert method.meta["official"] and not method.model.training

    g = np.random.default_rng(0)
    comp = g.random((256, 256, 3)).astype(np.float32)
    fg = np.zeros((256, 256), np.float32)
    fg[64:160, 80:200] = 1.0
    sample = Sample("s", comp, fg, 1.0 - fg)
    out = method.harmonize(sample)
    with torch.no_grad():
        expected = method.model.generate(_t(comp), _t(fg), _t(1.0 - fg))[0].permute(1, 2, 0).numpy()
    np.testing.assert_array_equal(out, expected)
    assert not np.allclose(out[fg == 0], comp[fg == 0], atol=1e-3)  # raw: the background is the network's too
    # a folder holding the file works the same
    assert torch.equal(MethodSpec.parse(f"{name}:checkpoint={tmp_path}").build().model.state_dict()
                       ["decoder.to_rgb.weight"], state["decoder.to_rgb.weight"])


@pytest.mark.parametrize("name, change, named", [
    ("idih", "rename", "decoder.to_rgb.weightt"),
    ("idih", "drop", "encoder.block0.block.0.bias"),
    ("issam", "reshape", "decoder.conv_attention.weight (file (1, 16, 1, 1), model (1, 32, 1, 1))"),
    ("issam", "drop", "decoder.up_blocks.2.attention.mask_blurring.weight"),
])
def test_a_wrong_or_missing_key_is_one_line_naming_it(name, change, named, tmp_path):
    state = random_state(LAYOUTS[name]())
    if change == "rename":
        state["decoder.to_rgb.weightt"] = state.pop("decoder.to_rgb.weight")
    elif change == "drop":
        del state[named]
    else:
        state["decoder.conv_attention.weight"] = torch.zeros(1, 16, 1, 1)
    path = tmp_path / FILES[name]
    torch.save(state, path)
    with pytest.raises(HarnessError) as err:
        MethodSpec.parse(f"{name}:checkpoint={path}").build()
    message = str(err.value)
    assert "\n" not in message and named in message and str(path) in message


def test_a_pickled_object_is_refused_without_running_it(tmp_path):
    path = tmp_path / "idih256.pth"
    torch.save({"model": torch.nn.Linear(2, 2)}, path)  # not tensors only: weights_only refuses it
    with pytest.raises(HarnessError, match="weights-only"):
        MethodSpec.parse(f"idih:checkpoint={path}").build()


# ------------------------------------------------------------------------------ pre- and post-processing
def test_padding_arithmetic_is_padtodivisor():
    # PadToDivisor: pad = (d − size mod d) mod d, ⌊pad/2⌋ before, the rest after
    assert ihblocks.pad_amounts(256, 256) == (0, 0)
    assert ihblocks.pad_amounts(256, 32) == (0, 0)
    assert ihblocks.pad_amounts(37, 64) == (13, 14)
    assert ihblocks.pad_amounts(250, 32) == (3, 3)
    assert ihblocks.pad_amounts(300, 256) == (106, 106)
    assert ihblocks.pad_amounts(1, 32) == (15, 16)


def test_mask_is_the_8_bit_value_above_100():
    mask = torch.tensor([0, 100, 101, 128, 255], dtype=torch.float32) / 255
    assert ihblocks.binarize_mask(mask).tolist() == [0, 0, 1, 1, 1]
    assert ihblocks.binarize_mask(torch.tensor([0.39, 0.393, 0.4, 0.5])).tolist() == [0, 0, 1, 1]  # 99.45, 100.2, 102


@pytest.mark.parametrize("name", ["idih", "issam"])
def test_generate_pads_normalises_and_clamps_as_the_official_predictor(name, monkeypatch):
    """With the network replaced by a recorder, what it receives and what comes back, worked out by hand."""
    model = MODULES[name].build("tiny").eval()
    divisor = 2 ** (model.cfg.depth + 1)  # Predictor: 2 ** (depth + 1)
    assert model.pad_multiple == divisor
    h, w = 37, 45
    comp = torch.full((1, 3, h, w), 0.5)
    fg = torch.zeros(1, 1, h, w)
    fg[..., 10:20, 10:30] = 101 / 255
    fg[..., 20:25, 10:30] = 100 / 255
    seen = {}
    shift = [0.0]

    def recorder(image, mask):
        seen["image"], seen["mask"] = image, mask
        return image + shift[0]

    monkeypatch.setattr(model, "network", recorder)
    out = model.generate(comp, fg, 1 - fg)
    image, mask = seen["image"], seen["mask"]
    H, W = divisor * -(-h // divisor), divisor * -(-w // divisor)
    top, left = (H - h) // 2, (W - w) // 2
    assert image.shape == (1, 3, H, W) and mask.shape == (1, 1, H, W)
    mean, std = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
    for c in range(3):
        assert image[0, c, 0, 0].item() == pytest.approx((0.0 - mean[c]) / std[c], abs=1e-6)  # zero padding
        assert image[0, c, top, left].item() == pytest.approx((0.5 - mean[c]) / std[c], abs=1e-6)
    assert image[0, 0, top - 1, left].item() == pytest.approx(-0.485 / 0.229, abs=1e-6)
    crop = mask[0, 0, top:top + h, left:left + w]
    assert crop[10:20, 10:30].eq(1).all() and crop[20:25, 10:30].eq(0).all()  # 101 → 1, 100 → 0
    assert mask.sum().item() == 200  # nothing in the padding
    torch.testing.assert_close(out, comp, rtol=0, atol=1e-6)  # de-normalised and cropped back
    shift[0] = 100.0
    assert model.generate(comp, fg, 1 - fg).eq(1.0).all()  # clamped (0..255 officially)
    shift[0] = -100.0
    assert model.generate(comp, fg, 1 - fg).eq(0.0).all()


def test_image_fusion_blends_input_and_prediction_by_the_attention_map():
    """a = sigmoid(3 · conv_attention); out = a · image + (1 − a) · to_rgb, worked out for constant heads."""
    model = idih.build("tiny").eval()
    dec = model.decoder
    with torch.no_grad():
        for conv, bias in ((dec.conv_attention, 0.2), (dec.to_rgb, 0.7)):
            conv.weight.zero_()
            conv.bias.fill_(bias)
        image = torch.rand(1, 3, 64, 64)
        out = model.network(image, torch.zeros(1, 1, 64, 64))
    a = 1 / (1 + np.exp(-0.6))
    torch.testing.assert_close(out, a * image + (1 - a) * 0.7, rtol=0, atol=1e-6)


def test_the_blur_kernel_is_the_official_gaussian():
    k = issam.GaussianBlur().weight[0, 0]
    x = np.arange(7) - 3.0
    g = np.exp(-x ** 2 / 2)
    np.testing.assert_allclose(k.numpy(), np.outer(g, g) / np.outer(g, g).sum(), rtol=1e-6)


# -------------------------------------------------------------------------------------------- training
@pytest.mark.parametrize("name, min_area", [("idih", 100.0), ("issam", 1000.0)])
def test_the_recipe_is_the_official_mask_weighted_mse(name, min_area):
    """Σ(pred − target)² / (3 · max(Σ mask, min_area)) per image in the normalised space, batch mean —
    by hand on a 2-image batch whose masks are above and below min_area."""
    from harness.train.recipes import make_recipe

    torch.manual_seed(0)
    model = MODULES[name].build("tiny").train()
    assert model.cfg.min_area == min_area
    comp, real = torch.rand(2, 3, 64, 64), torch.rand(2, 3, 64, 64)
    fg = torch.zeros(2, 1, 64, 64)
    fg[0, :, :40, :40] = 1  # 1600 pixels, above either min_area
    fg[1, :, :5, :5] = 1  # 25 pixels: min_area counts
    recipe = make_recipe(name, model, lr=1e-3)
    torch.manual_seed(1)
    with torch.no_grad():
        pred = model.predict_normalized(comp, fg).double()
    target = ((real - torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1))
              / torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)).double()
    sq = ((pred - target) ** 2).sum((1, 2, 3))
    want = (sq[0] / (3 * 1600) + sq[1] / (3 * max(25, min_area))) / 2
    terms = recipe.step({"composite": comp, "fg_mask": fg, "ref_mask": 1 - fg, "real": real})
    assert terms["mask_weighted_mse"] == pytest.approx(want.item(), rel=1e-4)


# ---------------------------------------------------------------------------------- shipped checkpoints
def test_run_benchmark_runs_both_from_their_shipped_checkpoints(ray_local, tmp_path):
    from harness.config import BenchmarkConfig
    from harness.engine.benchmark import run_benchmark

    result = run_benchmark(BenchmarkConfig(suite="sample", limit=2, methods=["idih", "issam"], progress=False,
                                           tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}", bootstrap=50,
                                           cache_dir=str(tmp_path / "cache")))
    doc = result.to_json()
    for name in ("idih", "issam"):
        summary = doc["methods"][name]
        assert summary["efficiency"]["n"] == 2
        assert np.isfinite(summary["mean"]["fmse"]) and np.isfinite(summary["mean"]["fde2000"]), summary
