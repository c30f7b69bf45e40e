"""Official checkpoints of Dove-Net, Bargain-Net and Rain-Net load strictly, and the full sizes match the papers.

The expected key layouts are written out here by rule from the facts in shared/notes/harmonization-facts.md
§1.2–1.4 (index pattern of the pix2pix blocks, attribute names of the extractor and of Rain-Net), never
from the models' own state_dict(); a small configuration is saved with torch.save, as the official code
does, and loaded through each family's `load_official`.
"""

import pytest
import torch

from baselines import bargainnet, dovenet, rainnet

CONV, CONVT = "conv", "convT"


def _bn(prefix, c):
    return {prefix + "weight": (c,), prefix + "bias": (c,), prefix + "running_mean": (c,),
            prefix + "running_var": (c,), prefix + "num_batches_tracked": ()}


def _rain(prefix, c):
    return {prefix + f"{region}_{p}": (c,) for region in ("foreground", "background") for p in ("gamma", "beta")}


def pix2pix_keys(input_nc, num_downs, ngf):
    """Official attention U-Net keys. Outermost [Conv0, sub1, ReLU2, ConvT3, Tanh4]; middle [LReLU0, Conv1,
    BN2, sub3, ReLU4, ConvT5, BN6, Dropout7]; innermost [LReLU0, Conv1, ReLU2, ConvT3, BN4]; attention
    (1×1 conv, 2·outer channels) on the three outermost skips. Conv weights are out×in×k×k, transposed
    conv weights in×out×k×k; convs before a batch norm have no bias."""
    keys = {"model.model.0.weight": (ngf, input_nc, 4, 4),
            "model.model.3.weight": (2 * ngf, 3, 4, 4), "model.model.3.bias": (3,)}
    levels = [(ngf, 2 * ngf), (2 * ngf, 4 * ngf), (4 * ngf, 8 * ngf)] + [(8 * ngf, 8 * ngf)] * (num_downs - 4)
    prefix = "model.model.1."
    for depth, (outer, inner) in enumerate(levels):
        keys[prefix + "model.1.weight"] = (inner, outer, 4, 4)
        if depth == len(levels) - 1:  # innermost
            keys[prefix + "model.3.weight"] = (inner, outer, 4, 4)
            keys.update(_bn(prefix + "model.4.", outer))
        else:
            keys.update(_bn(prefix + "model.2.", inner))
            keys[prefix + "model.5.weight"] = (2 * inner, outer, 4, 4)
            keys.update(_bn(prefix + "model.6.", outer))
        if depth < 3:
            keys[prefix + "attention.0.weight"] = (2 * outer, 2 * outer, 1, 1)
            keys[prefix + "attention.0.bias"] = (2 * outer,)
        prefix += "model.3."
    return keys


def extractor_keys(ndf, style_dim=16):
    """Bargain-Net latest_net_E.pth: conv{1..5}f (3×3, bias on conv1f only), norm{2,3,4}f, convs (1×1)."""
    ch = [3, ndf, 2 * ndf, 4 * ndf, 8 * ndf, 8 * ndf]
    keys = {f"conv{i}f.weight": (ch[i], ch[i - 1], 3, 3) for i in range(1, 6)}
    keys["conv1f.bias"] = (ndf,)
    for i in (2, 3, 4):
        keys.update(_bn(f"norm{i}f.", ch[i]))
    keys.update({"convs.weight": (style_dim, 8 * ndf, 1, 1), "convs.bias": (style_dim,)})
    return keys


def rainnet_keys(ngf, n_codec):
    """Rain-Net net_G_last.pth: model_layer0..3, nested codec blocks under unet_block (instance norms have
    no keys), decoder model_layer1{1,2,3} + RAIN norms + attention, model_out."""
    c = 8 * ngf
    keys = {"model_layer0.weight": (ngf, 3, 4, 4), "model_layer1.1.weight": (2 * ngf, ngf, 4, 4),
            "model_layer2.1.weight": (4 * ngf, 2 * ngf, 4, 4), "model_layer3.1.weight": (c, 4 * ngf, 4, 4)}
    prefix = "unet_block."
    for depth in range(n_codec):
        if depth == n_codec - 1:  # innermost: up = [LReLU, Conv, ReLU, ConvT]
            keys[prefix + "up.1.weight"] = (c, c, 4, 4)
            keys[prefix + "up.3.weight"] = (c, c, 4, 4)
        else:
            keys[prefix + "down.1.weight"] = (c, c, 4, 4)
            keys[prefix + "up.1.weight"] = (2 * c, c, 4, 4)
        keys.update(_rain(prefix + "upnorm.", c))
        prefix += "submodule."
    for i, (cin, cout) in zip((11, 12, 13), ((16 * ngf, 4 * ngf), (8 * ngf, 2 * ngf), (4 * ngf, ngf))):
        keys[f"model_layer{i}.1.weight"] = (cin, cout, 4, 4)
        keys.update(_rain(f"model_layer{i}norm.", cout))
        keys[f"model_layer{i}att.0.weight"] = (2 * cout, 2 * cout, 1, 1)
        keys[f"model_layer{i}att.0.bias"] = (2 * cout,)
    keys.update({"model_out.1.weight": (2 * ngf, 3, 4, 4), "model_out.1.bias": (3,)})
    return keys


def n_params(layout):
    return sum(torch.Size(s).numel() for k, s in layout.items()
               if not k.endswith(("running_mean", "running_var", "num_batches_tracked")))


def random_state(layout, seed=0):
    g = torch.Generator().manual_seed(seed)
    state = {k: torch.randn(s, generator=g) for k, s in layout.items()}
    for k in state:  # buffers as a trained batch norm has them: positive variances, an integer count
        if k.endswith("running_var"):
            state[k] = state[k].abs() + 0.5
        elif k.endswith("num_batches_tracked"):
            state[k] = torch.tensor(7)
    return state


def shapes(module):
    return {k: tuple(v.shape) for k, v in module.state_dict().items()}


# ------------------------------------------------------------------------- full sizes (no forward pass)
def test_layouts_written_here_reproduce_the_published_parameter_counts():
    assert n_params(pix2pix_keys(4, 8, 64)) == pytest.approx(54.76e6, rel=0.02)
    assert n_params(pix2pix_keys(20, 8, 64)) + 1 == pytest.approx(54.78e6, rel=0.02)
    assert n_params(extractor_keys(64)) == pytest.approx(3.92e6, rel=0.02)
    assert n_params(rainnet_keys(64, 4)) == pytest.approx(54.76e6, rel=0.02)
    # named keys quoted in the notes
    assert {"model.model.0.weight", "model.model.1.model.1.weight", "model.model.1.attention.0.weight",
            "model.model.3.weight"} <= set(pix2pix_keys(4, 8, 64))


def test_full_dovenet_matches_official_layout_and_size():
    model = dovenet.build("full")
    assert sum(p.numel() for p in model.parameters()) == pytest.approx(54.76e6, rel=0.02)
    assert shapes(model.generator) == pix2pix_keys(4, 8, 64)


def test_full_bargainnet_matches_official_layout_and_size():
    model = bargainnet.build("full")
    assert sum(p.numel() for p in model.generator.parameters()) == pytest.approx(54.78e6, rel=0.02)
    assert sum(p.numel() for p in model.extractor.parameters()) == pytest.approx(3.92e6, rel=0.02)
    assert shapes(model.generator) == {"weight": (1,), **pix2pix_keys(20, 8, 64)}
    assert shapes(model.extractor) == extractor_keys(64)


def test_full_rainnet_matches_official_layout_and_size():
    model = rainnet.build("full")
    assert sum(p.numel() for p in model.parameters()) == pytest.approx(54.76e6, rel=0.02)
    assert shapes(model.generator) == rainnet_keys(64, 4)


# ------------------------------------------------------------------------------- strict official loads
def test_dovenet_official_generator_loads_strictly(tmp_path):
    state = random_state(pix2pix_keys(4, 6, 8))
    torch.save(state, tmp_path / "latest_net_G.pth")
    model = dovenet.build("tiny")  # num_downs 6, ngf 8
    dovenet.load_official(model, tmp_path)  # a folder holding latest_net_G.pth
    outer = model.generator.model.model
    assert torch.equal(outer[0].weight, state["model.model.0.weight"])  # first conv 4→ngf
    assert torch.equal(outer[3].bias, state["model.model.3.bias"])  # last transposed conv
    assert torch.equal(outer[1].attention[0].weight, state["model.model.1.attention.0.weight"])
    innermost = outer[1].model[3].model[3].model[3].model[3]
    assert torch.equal(innermost.model[4].running_var,
                       state["model.model.1.model.3.model.3.model.3.model.3.model.4.running_var"])
    with torch.no_grad():
        out = model.eval()(torch.rand(1, 3, 64, 64), torch.ones(1, 1, 64, 64), torch.zeros(1, 1, 64, 64))
    assert torch.isfinite(out).all()


def test_bargainnet_official_generator_and_extractor_load_strictly(tmp_path):
    g_state = {"weight": torch.tensor([0.37]), **random_state(pix2pix_keys(20, 6, 8), seed=1)}
    e_state = random_state(extractor_keys(8), seed=2)
    torch.save(g_state, tmp_path / "latest_net_G.pth")
    torch.save(e_state, tmp_path / "latest_net_E.pth")
    for build in (bargainnet.build, bargainnet.build_r):
        model = build("tiny")
        bargainnet.load_official(model, tmp_path)
        assert model.generator.weight.item() == pytest.approx(0.37)
        assert model.generator.model.model[0].weight.shape == (8, 20, 4, 4)
        assert torch.equal(model.generator.model.model[0].weight, g_state["model.model.0.weight"])
        assert torch.equal(model.extractor.conv1f.bias, e_state["conv1f.bias"])
        assert torch.equal(model.extractor.norm4f.running_mean, e_state["norm4f.running_mean"])
        assert torch.equal(model.extractor.convs.weight, e_state["convs.weight"])
    model = bargainnet.build("tiny")  # the (G, E) pair form
    bargainnet.load_official(model, [tmp_path / "latest_net_G.pth", tmp_path / "latest_net_E.pth"])
    assert torch.equal(model.extractor.conv5f.weight, e_state["conv5f.weight"])


def test_rainnet_official_generator_loads_strictly(tmp_path):
    state = random_state(rainnet_keys(8, 2), seed=3)
    torch.save(state, tmp_path / "net_G_last.pth")
    model = rainnet.build("tiny")  # ngf 8, two codec blocks
    rainnet.load_official(model, tmp_path / "net_G_last.pth")
    gen = model.generator
    assert torch.equal(gen.model_layer0.weight, state["model_layer0.weight"])
    assert torch.equal(gen.unet_block.submodule.up[3].weight, state["unet_block.submodule.up.3.weight"])
    assert torch.equal(gen.unet_block.upnorm.foreground_gamma, state["unet_block.upnorm.foreground_gamma"])
    assert torch.equal(gen.model_layer12att[0].bias, state["model_layer12att.0.bias"])
    assert torch.equal(gen.model_out[1].weight, state["model_out.1.weight"])


# ------------------------------------------------------------------------------------- clear refusals
def test_missing_key_is_named_with_the_file(tmp_path):
    state = random_state(pix2pix_keys(4, 6, 8))
    del state["model.model.1.attention.0.bias"]
    torch.save(state, tmp_path / "latest_net_G.pth")
    with pytest.raises(ValueError, match=r"latest_net_G\.pth.*missing keys 1: model\.model\.1\.attention\.0\.bias"):
        dovenet.load_official(dovenet.build("tiny"), tmp_path / "latest_net_G.pth")


def test_unexpected_key_is_named(tmp_path):
    state = random_state(rainnet_keys(8, 2))
    state["model_out.2.weight"] = torch.zeros(3)
    torch.save(state, tmp_path / "net_G_last.pth")
    with pytest.raises(ValueError, match=r"net_G_last\.pth.*unexpected keys 1: model_out\.2\.weight"):
        rainnet.load_official(rainnet.build("tiny"), tmp_path)


def test_wrong_configuration_reports_shape_mismatch(tmp_path):
    torch.save(random_state(extractor_keys(16)), tmp_path / "latest_net_E.pth")
    torch.save(random_state({"weight": (1,), **pix2pix_keys(20, 6, 8)}), tmp_path / "latest_net_G.pth")
    with pytest.raises(ValueError, match=r"latest_net_E\.pth.*shape mismatches.*conv1f\.weight"):
        bargainnet.load_official(bargainnet.build("tiny"), tmp_path)  # tiny extractor has ndf 8


def test_dataparallel_prefix_is_accepted(tmp_path):
    state = random_state(pix2pix_keys(4, 6, 8))
    torch.save({"module." + k: v for k, v in state.items()}, tmp_path / "g.pth")
    model = dovenet.build("tiny")
    dovenet.load_official(model, tmp_path / "g.pth")
    assert torch.equal(model.generator.model.model[0].weight, state["model.model.0.weight"])


class NotATensor:
    pass


def test_arbitrary_pickled_objects_are_refused(tmp_path):
    torch.save({"model_layer0.weight": torch.zeros(1), "payload": NotATensor()}, tmp_path / "net_G_last.pth")
    with pytest.raises(ValueError, match="weights-only"):
        rainnet.load_official(rainnet.build("tiny"), tmp_path)


def test_missing_files_are_reported(tmp_path):
    with pytest.raises(ValueError, match="latest_net_G.pth"):
        dovenet.load_official(dovenet.build("tiny"), tmp_path)
    with pytest.raises(ValueError, match="two checkpoint files"):
        bargainnet.load_official(bargainnet.build("tiny"), [tmp_path / "latest_net_G.pth"])
