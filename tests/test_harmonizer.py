"""Harmonizer (baselines/harmonizer.py): the released weights' layout, written here from the EfficientNet paper's
B0 table and the lukemelas naming rules (never from the model's own state_dict), loads strictly through
`harmonizer:checkpoint=`; the backbone agrees with the `efficientnet-pytorch` package (the implementation the
authors vendored); each filter agrees with scikit-image, colorsys or numpy by hand; the demo's pre/post-processing
(dithered mask, bilinear 256² resize for the arguments only, 8-bit truncation); a 1500×1000 input comes back at
1500×1000 with its pixel-level detail; run-benchmark scores it with its cost."""

from __future__ import annotations

import colorsys

import numpy as np
import pytest
import torch
from PIL import Image

from baselines import harmonizer as hz
from harness.data.sample import Sample
from harness.data.suites import load_spec, open_suite
from harness.errors import HarnessError
from harness.methods import registry
from harness.methods.spec import MethodSpec

# EfficientNet-B0 (Tan & Le 2019, table 1): repeats, kernel, stride, expansion, in, out; SE ratio 0.25
B0 = [(1, 3, 1, 1, 32, 16), (2, 3, 2, 6, 16, 24), (2, 5, 2, 6, 24, 40), (3, 3, 2, 6, 40, 80),
      (3, 5, 1, 6, 80, 112), (4, 5, 2, 6, 112, 192), (1, 3, 1, 6, 192, 320)]


def _bn(prefix, c):
    return {prefix + "weight": (c,), prefix + "bias": (c,), prefix + "running_mean": (c,),
            prefix + "running_var": (c,), prefix + "num_batches_tracked": ()}


def official_keys():
    """harmonizer.pth: `backbone.` = lukemelas's EfficientNet-B0 without `_conv_stem`/`_bn0`/`_fc`, plus
    `_conv_fg`/`_conv_bg` (4 → 16, 3×3, no bias) with their batch norms; `regressor.` = f, g (1280 → 160) and
    six headers [Linear(320, 160), Linear(160, 1)]. Blocks: `_expand_conv` (1×1) + `_bn0` unless the expansion
    is 1, `_depthwise_conv` (mid×1×k×k) + `_bn1`, `_se_reduce` / `_se_expand` (1×1, bias; squeeze to
    int(0.25 × block input)), `_project_conv` + `_bn2`."""
    keys = {}
    for side in ("fg", "bg"):
        keys[f"backbone._conv_{side}.weight"] = (16, 4, 3, 3)
        keys.update(_bn(f"backbone._bn_{side}.", 16))
    i = 0
    for repeats, k, _, e, c_in, c_out in B0:
        for j in range(repeats):
            c = c_in if j == 0 else c_out
            mid, sq, p = c * e, max(1, int(c * 0.25)), f"backbone._blocks.{i}."
            if e != 1:
                keys[p + "_expand_conv.weight"] = (mid, c, 1, 1)
                keys.update(_bn(p + "_bn0.", mid))
            keys[p + "_depthwise_conv.weight"] = (mid, 1, k, k)
            keys.update(_bn(p + "_bn1.", mid))
            keys.update({p + "_se_reduce.weight": (sq, mid, 1, 1), p + "_se_reduce.bias": (sq,),
                         p + "_se_expand.weight": (mid, sq, 1, 1), p + "_se_expand.bias": (mid,),
                         p + "_project_conv.weight": (c_out, mid, 1, 1)})
            keys.update(_bn(p + "_bn2.", c_out))
            i += 1
    keys["backbone._conv_head.weight"] = (1280, 320, 1, 1)
    keys.update(_bn("backbone._bn1.", 1280))
    for name in ("f", "g"):
        keys.update({f"regressor.{name}.weight": (160, 1280), f"regressor.{name}.bias": (160,)})
    for h in range(6):
        keys.update({f"regressor.headers.{h}.0.weight": (160, 320), f"regressor.headers.{h}.0.bias": (160,),
                     f"regressor.headers.{h}.1.weight": (1, 160), f"regressor.headers.{h}.1.bias": (1,)})
    return keys


def random_state(layout, seed=0):
    g = torch.Generator().manual_seed(seed)
    state = {k: torch.randn(s, generator=g) * 0.1 for k, s in layout.items()}
    for k in state:
        if k.endswith("running_var"):
            state[k] = state[k].abs() + 0.5
        elif k.endswith("num_batches_tracked"):
            state[k] = torch.tensor(11)
    return state


@pytest.fixture(scope="module")
def tiny_checkpoint(tmp_path_factory):
    """A tiny Harmonizer whose arguments are well away from 0 (head biases 0.3), as a harness checkpoint."""
    from harness.methods.checkpoint import save_checkpoint

    torch.manual_seed(3)
    model = hz.build("tiny")
    with torch.no_grad():
        for header in model.regressor.headers:
            header[1].bias.fill_(0.3)
    return save_checkpoint(model, tmp_path_factory.mktemp("hz") / "tiny", model_name="harmonizer")


def _t(a):
    a = a[..., None] if a.ndim == 2 else a
    return torch.from_numpy(np.ascontiguousarray(a.transpose(2, 0, 1)))[None].float()


# ------------------------------------------------------------------------------------------ official layout
def test_the_layout_written_here_is_the_released_one_and_the_full_model_has_it():
    layout = official_keys()
    n = sum(torch.Size(s).numel() for k, s in layout.items()
            if not k.endswith(("running_mean", "running_var", "num_batches_tracked")))
    assert len(layout) == 392 and n == 4_726_882  # the released harmonizer.pth
    with torch.device("meta"):
        model = hz.build("full")
    assert sum(p.numel() for p in model.parameters()) == 4_726_882 == registry.get("harmonizer").params
    assert {k: tuple(v.shape) for k, v in model.state_dict().items()} == layout


def test_released_weights_load_strictly_through_the_method_option(tmp_path):
    state = random_state(official_keys())
    path = tmp_path / "harmonizer.pth"
    torch.save(state, path)  # the authors' file: a plain state dict (the demo loads it with strict=True)
    method = MethodSpec.parse(f"harmonizer:checkpoint={path}").build()
    own = method.model.state_dict()
    for key in ("backbone._conv_fg.weight", "backbone._blocks.15._se_expand.bias", "backbone._bn1.running_var",
                "regressor.headers.5.1.bias", "backbone._blocks.0._depthwise_conv.weight"):
        assert torch.equal(own[key], state[key]), key
    assert method.meta["official"] and method.model.cfg == hz.SIZES["full"]
    fg = np.pad(np.ones((20, 30), np.float32), ((10, 10), (15, 15)))
    s = Sample("x", np.full((40, 60, 3), 0.4, np.float32), fg, 1 - fg)
    assert method.harmonize(s).shape == (40, 60, 3)


@pytest.mark.parametrize("edit, named", [("rename", "regressor.headers.5.1.bias"),
                                         ("drop", "backbone._blocks.7._se_reduce.weight"),
                                         ("shape", "backbone._conv_bg.weight")])
def test_a_wrong_or_missing_key_is_one_line_naming_it(tmp_path, edit, named):
    state = random_state(official_keys())
    if edit == "rename":
        state["regressor.headers.5.1.b"] = state.pop(named)
    elif edit == "drop":
        del state[named]
    else:
        state[named] = torch.zeros(16, 3, 3, 3)
    torch.save(state, tmp_path / "harmonizer.pth")
    with pytest.raises(HarnessError) as err:
        MethodSpec.parse(f"harmonizer:checkpoint={tmp_path / 'harmonizer.pth'}").build()
    text = str(err.value)
    assert "\n" not in text and named in text and "harmonizer.pth" in text


def test_backbone_and_arguments_agree_with_the_efficientnet_pytorch_package():
    """The authors' backbone is lukemelas's EfficientNet-B0 (static "same" padding for 224²) with the stem
    swapped for the fg/bg pair: built here from the package, given the same weights, same features at 256²."""
    from efficientnet_pytorch import EfficientNet
    from efficientnet_pytorch.utils import get_same_padding_conv2d

    net = EfficientNet.from_name("efficientnet-b0", include_top=False)
    del net._conv_stem, net._bn0
    conv = get_same_padding_conv2d(image_size=224)
    for side in ("fg", "bg"):
        setattr(net, f"_conv_{side}", conv(4, 16, kernel_size=3, stride=2, bias=False))
        setattr(net, f"_bn_{side}", torch.nn.BatchNorm2d(16, momentum=0.01, eps=1e-3))
    state = random_state(official_keys(), seed=1)
    net.load_state_dict({k[len("backbone."):]: v for k, v in state.items() if k.startswith("backbone.")})
    model = hz.build("full")
    model.load_state_dict(state)
    net.eval(), model.eval()
    comp, mask = torch.rand(1, 3, 256, 256), (torch.rand(1, 1, 256, 256) > 0.5).float()
    with torch.no_grad():
        x = torch.cat([net._swish(getattr(net, f"_bn_{s}")(getattr(net, f"_conv_{s}")(torch.cat((comp, m), 1))))
                       for s, m in (("fg", mask), ("bg", 1 - mask))], 1)
        for block in net._blocks:
            x = block(x)
        feats = net._swish(net._bn1(net._conv_head(x))).mean((2, 3))
        f = feats @ state["regressor.f.weight"].T + state["regressor.f.bias"]
        g = feats @ state["regressor.g.weight"].T + state["regressor.g.bias"]
        want = []
        for h in range(6):  # the cascade: g_i = W_i [f, g_{i-1}]; argument_i = V_i g_i
            head = f"regressor.headers.{h}."
            g = torch.cat((f, g), 1) @ state[head + "0.weight"].T + state[head + "0.bias"]
            want.append(g @ state[head + "1.weight"].T + state[head + "1.bias"])
        got = model.predict_arguments(comp, mask)
    torch.testing.assert_close(model.backbone(torch.cat((comp, mask), 1), torch.cat((comp, 1 - mask), 1)).mean((2, 3)),
                               feats, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(got, torch.cat(want, 1).clamp(-1, 1), atol=1e-5, rtol=1e-5)


# ------------------------------------------------------------------------------------------------ filters
def _pixels(seed=0, n=12):
    rng = np.random.default_rng(seed)
    img = rng.random((n, n, 3)).astype(np.float32)
    img[0, :4] = [[0, 0, 0], [1, 1, 1], [0.5, 0.5, 0.5], [1, 0, 0]]  # greys (no hue) and a primary
    img[1, :3] = [[0.2, 0.7, 0.7], [0.9, 0.9, 0.1], [0.3, 0.2, 0.3]]  # ties for the largest channel
    return img


def test_hsv_conversions_agree_with_scikit_image():
    from skimage.color import hsv2rgb, rgb2hsv

    img = _pixels()
    hsv = hz.rgb_to_hsv(_t(img))[0].permute(1, 2, 0).numpy()
    want = rgb2hsv(img)
    np.testing.assert_allclose(hsv[..., 1:], want[..., 1:], atol=1e-6)
    hue_gap = np.abs(hsv[..., 0] - want[..., 0])
    assert (np.minimum(hue_gap, 1 - hue_gap)[want[..., 1] > 0] < 1e-6).all()  # hue is undefined for greys
    back = hz.hsv_to_rgb(_t(want.astype(np.float32)))[0].permute(1, 2, 0).numpy()
    np.testing.assert_allclose(back, hsv2rgb(want), atol=1e-6)


@pytest.mark.parametrize("x", [-0.7, -0.2, 0.0, 0.3, 0.9])
def test_each_filter_against_an_independent_computation(x):
    from skimage.color import hsv2rgb, rgb2hsv

    img = _pixels(seed=2)
    arg = torch.tensor(x).view(1, 1, 1, 1)

    def run(fn):
        return fn(_t(img), arg)[0].permute(1, 2, 0).numpy()

    # brightness: the HSV value × 1/(1 − x) (x ≥ 0) or × (1 + x), through scikit-image's HSV
    hsv = rgb2hsv(img)
    hsv[..., 2] *= 1 / (1 - x + 1e-6) if x >= 0 else 1 + x
    np.testing.assert_allclose(run(hz.brightness), np.clip(hsv2rgb(hsv), 0, 1), atol=2e-6)
    # saturation: colorsys's HLS saturation × (1 + x) below 0, s / (1 − x) capped at 1 above
    want = np.empty_like(img)
    for idx in np.ndindex(img.shape[:2]):
        h, l, s = colorsys.rgb_to_hls(*img[idx].astype(float))
        s = s * (1 + x) if x < 0 else min(s / (1 - x + 1e-6), 1.0)
        want[idx] = colorsys.hls_to_rgb(h, l, s)
    np.testing.assert_allclose(run(hz.saturation), np.clip(want, 0, 1), atol=1e-4)
    # contrast about the mean of all pixels and channels; x > 0 as 255 / (256 − ⌊255x⌋) − 1
    k = 255 / (256 - np.floor(255 * x)) - 1 if x > 0 else x
    np.testing.assert_allclose(run(hz.contrast), np.clip(img + (img - img.mean()) * k, 0, 1), atol=1e-6)
    # temperature: grey-world gains after moving the means (x > 0: blue's by |x|, green's by |x| / 2)
    m = img.reshape(-1, 3).mean(0).astype(np.float64)
    moved = m + np.abs(x) * np.array([x < 0, 0.5 * (x != 0), x > 0])
    gains = moved.mean() / moved + 1 - m.mean() / m
    np.testing.assert_allclose(run(hz.temperature), np.clip(img * gains, 0, 1), atol=1e-5)
    # the two tone curves: gammas 1 + x on the inverted image and 1 − x on the image, each offset by 1e-9 as
    # officially (so a black pixel lifts: (1e-9)^0.1 = 0.126 for shadow 0.9)
    np.testing.assert_allclose(run(hz.highlight), 1 - np.clip((1 - img + 1e-9) ** (1 + x), 0, 1), atol=1e-6)
    np.testing.assert_allclose(run(hz.shadow), np.clip((img + 1e-9) ** (1 - x), 0, 1), atol=1e-6)


def test_temperature_above_zero_warms_a_grey_image():
    grey = torch.full((1, 3, 4, 4), 0.5)
    out = hz.temperature(grey, torch.tensor(0.4).view(1, 1, 1, 1))[0, :, 0, 0]
    assert out[0] > 0.5 and out[1] == pytest.approx(0.5) and out[2] < 0.5
    torch.testing.assert_close(hz.temperature(grey, torch.zeros(1, 1, 1, 1)), grey)


def test_the_filters_run_in_order_on_the_whole_image_and_each_stage_is_composited():
    torch.manual_seed(0)
    img, mask = torch.rand(1, 3, 16, 16), torch.zeros(1, 1, 16, 16)
    mask[..., 4:12, 4:12] = 1
    args = torch.tensor([[0.3, -0.4, 0.5, -0.6, 0.2, 0.1]])
    stages = hz.apply_filters(img, mask, args, hz.FILTERS)
    current = img  # by hand: the whole image goes through every filter (contrast's mean is the whole image's)
    for i, fn in enumerate((hz.temperature, hz.brightness, hz.contrast, hz.saturation, hz.highlight, hz.shadow)):
        current = fn(current, args[:, i].view(1, 1, 1, 1))
        torch.testing.assert_close(stages[i], current * mask + img * (1 - mask))


# ------------------------------------------------------------------------------ pre/post-processing, size
def test_the_demo_mask_is_pil_dithered_and_the_output_truncated(tiny_checkpoint):
    """A soft mask is read as the demo reads the file (PIL convert('1'): dithered); only the dithered
    foreground changes, and the output is the forward pass truncated to 8 bits."""
    method = MethodSpec.parse(f"harmonizer:checkpoint={tiny_checkpoint}").build()
    h, w = 24, 40
    ramp = np.tile(np.linspace(0, 1, w, dtype=np.float32), (h, 1))  # a soft edge: PIL dithers it
    comp = np.random.default_rng(0).random((h, w, 3)).astype(np.float32)
    want_mask = np.asarray(Image.fromarray(np.rint(ramp * 255).astype(np.uint8)).convert("1"), np.float32)
    assert 0 < want_mask[:, 10:30].mean() < 1 and not np.isin(want_mask[:, 10:30].mean(0), (0, 1)).all()
    out = method.harmonize(Sample("ramp", comp, ramp, 1 - ramp))
    with torch.no_grad():
        want = method.model(_t(comp), _t(want_mask), _t(want_mask))[0].permute(1, 2, 0).numpy()
    np.testing.assert_array_equal(out, np.floor(want * 255) / 255)
    np.testing.assert_array_equal(out[want_mask == 0], np.floor(comp[want_mask == 0] * 255) / 255)
    x = torch.tensor([100.99, 100.01, 0.5, 254.999, 255.0]) / 255
    assert ((hz.truncate_8bit(x) * 255).round().tolist()) == [100, 100, 0, 254, 255]  # astype(uint8)


def test_arguments_come_from_a_bilinear_half_pixel_resize():
    """align_corners=False at an exact factor 2 is the mean of each 2×2 block: a 512² input whose 2×2 blocks
    are constant, and its 256² block means, give the same arguments."""
    torch.manual_seed(0)
    assert not hz.SIZES["full"].antialias and not hz.SIZES["tiny"].antialias  # the official resize
    model = hz.build("tiny", input_size=256).eval()
    small = torch.rand(1, 3, 256, 256)
    mask = (torch.rand(1, 1, 256, 256) > 0.5).float()
    big = small.repeat_interleave(2, 2).repeat_interleave(2, 3)
    with torch.no_grad():
        torch.testing.assert_close(model.predict_arguments(big, mask.repeat_interleave(2, 2).repeat_interleave(2, 3)),
                                   model.predict_arguments(small, mask))


def test_a_1500x1000_input_is_filtered_at_its_own_pixels(monkeypatch, tiny_checkpoint):
    """A 1500×1000 sample: nothing is resized but the arguments' input, the output
    is the filters applied to the full-resolution pixels (a one-pixel checkerboard in the foreground survives)."""
    method = MethodSpec.parse(f"harmonizer:checkpoint={tiny_checkpoint}").build()
    h, w = 1000, 1500
    yy, xx = np.mgrid[:h, :w]
    comp = np.stack([0.35 + 0.3 * ((yy + xx) % 2), 0.5 + 0 * yy, 0.25 + 0.5 * (xx / w)], -1).astype(np.float32)
    fg = ((abs(yy - 500) < 300) & (abs(xx - 700) < 400)).astype(np.float32)
    sample = Sample("big", comp, fg, 1 - fg, None)
    sizes = []
    real = torch.nn.functional.interpolate
    monkeypatch.setattr(hz.F, "interpolate", lambda t, size, **kw: sizes.append(tuple(size)) or real(t, size, **kw))
    out = method.harmonize(sample)
    assert out.shape == (h, w, 3) and method.way_up(sample) == registry.NATIVE
    side = method.model.cfg.input_size
    assert sizes == [(side, side), (side, side)]  # composite and mask for the arguments; never the output
    with torch.no_grad():
        args = method.model.predict_arguments(_t(comp), _t(fg))
        want = hz.apply_filters(_t(comp), _t(fg), args, hz.FILTERS)[-1][0].permute(1, 2, 0).numpy()
    np.testing.assert_array_equal(out, np.floor(want * 255) / 255)
    np.testing.assert_array_equal(out[fg == 0], (np.floor(comp * 255) / 255)[fg == 0])  # untouched, but truncated
    inside = out[400:600, 500:900, 0]
    steps = np.abs(np.diff(inside, axis=1))
    assert steps.min() > 0.1  # every neighbouring pair still differs: the checkerboard is intact


def test_256_protocols_feed_their_input_and_native_answers_at_full_size():
    from harness.engine.worker import _harmonize_and_score

    spec = MethodSpec("harmonizer")
    method = spec.build()
    sample = load_spec(open_suite("sample").specs[0])
    assert sample.composite.shape[:2] != (256, 256)
    out8, row = _harmonize_and_score(method, spec, sample, "bcmi:256", True)
    assert out8.shape == (256, 256, 3) and row["upsample"] == "none"
    out8, row = _harmonize_and_score(method, spec, sample, "harness:native", True)
    assert out8.shape == sample.composite.shape and row["upsample"] == registry.NATIVE
    assert row["gflop"] > 0 and row["params"] == sum(p.numel() for p in method.model.parameters())


def test_its_flop_count_is_the_network_at_its_argument_size_whatever_the_input():
    from harness.methods.cost import measure

    method = MethodSpec("harmonizer").build()
    base = load_spec(open_suite("sample").specs[0])
    counts = []
    for side in (256, 640):
        s = Sample(f"s{side}", np.asarray(Image.fromarray((base.composite * 255).astype(np.uint8)).resize((side, side)),
                                          np.float32) / 255,
                   *(lambda fg: (fg, 1 - fg))(np.pad(np.ones((side // 2, side // 2), np.float32), side // 4)))
        counts.append(measure(method, ("flops", side), s)[1]["gflop"])
    assert counts[0] == pytest.approx(counts[1]) and counts[0] > 0  # the filters are not network FLOPs


# --------------------------------------------------------------------------------------------- training
def test_the_official_loss_by_hand():
    pred, truth = torch.rand(2, 3, 8, 8), torch.rand(2, 3, 8, 8)
    mask = torch.zeros(2, 1, 8, 8)
    mask[0, :, :4] = 1
    mask[1, :, 2:5, 2:7] = 1
    got = hz.image_loss(pred, truth, mask)
    for i in range(2):
        m = mask[i, 0].bool()
        d = (pred[i] - truth[i])[:, m]
        area = m.sum().item() + 1e-6
        want = (d.square() + 1e-6).sqrt().sum() / area + 10 * d.square().sum() / area
        assert got[i].item() == pytest.approx(want.item(), rel=1e-5)


def test_fine_items_are_the_filters_reversed_with_scaled_arguments():
    torch.manual_seed(0)
    real, mask = torch.rand(1, 3, 8, 8), torch.ones(1, 1, 8, 8)
    args = torch.tensor([[0.5, -1.0, 1.0, 0.2, -0.3, 0.8]])
    made = hz.adjust(hz.build("tiny"), real, mask, args)
    x = hz.shadow(real, torch.tensor(0.8 * 0.4).view(1, 1, 1, 1))  # the last filter first, × its range
    torch.testing.assert_close(made[0], x)
    x = hz.highlight(x, torch.tensor(-0.3 * 0.4).view(1, 1, 1, 1))
    torch.testing.assert_close(made[1], x)
    assert len(made) == 6


@pytest.mark.slow
def test_run_benchmark_runs_the_shipped_checkpoint_natively_with_its_cost(ray_local, tmp_path):
    """`harness run-benchmark --suite sample --methods harmonizer --limit 2`: the shipped checkpoint, every
    sample at its own size ("native"), its parameters and network GFLOP in the result."""
    from harness.config import BenchmarkConfig
    from harness.engine.benchmark import run_benchmark
    from harness.methods.checkpoint import read_meta

    result = run_benchmark(BenchmarkConfig(suite="sample", limit=2, methods=["harmonizer"], mlflow=False,
                                           progress=False, bootstrap=100, cache_dir=str(tmp_path / "cache")))
    doc = result.to_json()
    eff = doc["methods"]["harmonizer"]["efficiency"]
    assert eff["n"] == 2 and eff["params"] == read_meta(MethodSpec("harmonizer").checkpoint())["parameters"]
    assert eff["gflop"] > 0 and doc["methods"]["harmonizer"]["upsample"] == registry.NATIVE
    rows = [r for r in doc["per_image"] if r["method"] == "harmonizer"]
    assert len(rows) == 2 and all(np.isfinite(r["fmse"]) for r in rows)
