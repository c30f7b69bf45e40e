"""Training recipes, dispatched by the registry, in plain PyTorch (no Ray): each network trains with the
objective its entry names — checked against losses computed here with torch's own functions — a network
without a recipe is an error, every recipe learns a fixed batch, and the training state round-trips through
safetensors + JSON exactly, without pickle."""

from __future__ import annotations

import dataclasses
import pickle

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from harness.errors import HarnessError, UnknownNameError
from harness.methods import registry
from harness.methods.registry import create_model, list_models
from harness.train.loop import collate
from harness.train.recipes import Recipe, make_recipe, recipe_for
from harness.train.state import load_training_state, save_training_state
from harness.train.perturb import PerturbDataset

# The reconstruction term each recipe reports (the GAN terms are not expected to fall monotonically).
L1_TERM = {"iph": "harmonization", "bargainnet": "L1", "bargainnet-r": "L1", "dovenet": "G_L1", "rainnet": "G_L1",
           "harmonizer": "coarse",
           "idih": "mask_weighted_mse", "issam": "mask_weighted_mse", "pctnet": "mask_weighted_mse",
           "pctnet-vit": "mask_weighted_mse"}


def _batch(n: int = 2, size: int = 64, stage: int = 2) -> dict:
    ds = PerturbDataset(size, stage=stage, seed=1)
    return collate([ds[i] for i in range(n)])


def _pm1(x: torch.Tensor) -> torch.Tensor:
    return x * 2 - 1


def test_every_network_names_a_recipe():
    assert set(L1_TERM) == set(list_models())
    for name in list_models():
        assert issubclass(recipe_for(name), Recipe), name


def test_recipes_say_what_differs_between_them():
    """Only IPH has loss presets; "H-Net alone" (preset hnet) builds the harmonizer without a style encoder,
    every other preset the network as configured."""
    from harness.config import TrainConfig
    from harness.train.loop import build_model

    assert [n for n in list_models() if recipe_for(n).loss_presets] == ["iph"]
    hnet = build_model(TrainConfig(method="iph", loss="hnet"))
    assert hnet.style_encoder is None and not hnet.uses_reference
    assert build_model(TrainConfig(method="iph", loss="style")).style_encoder is not None
    assert build_model(TrainConfig(method="iph", loss="hnet", overrides={"use_style_encoder": True})).style_encoder
    for name in list_models():
        if name != "iph":
            assert recipe_for(name).model_overrides("hnet") == {}


def test_bargainnet_recipes_step_on_l1_plus_the_two_triplets():
    """Reported terms equal L1 (in [-1, 1] units) and torch's triplet_margin_loss on the codes, computed here
    with the weights before the step; the total drives the update."""
    batch = _batch()
    for name in ("bargainnet", "bargainnet-r"):
        torch.manual_seed(0)
        model = create_model(name, "tiny").train()
        recipe = make_recipe(name, model, lr=1e-3)
        comp, fg, ref, real = batch["composite"], batch["fg_mask"], batch["ref_mask"], batch["real"]
        region = ref if name == "bargainnet-r" else 1 - fg
        torch.manual_seed(7)
        with torch.no_grad():
            code = model.extractor(_pm1(real), region)
            harm = (model.generator(torch.cat([_pm1(comp), fg], 1), code) + 1) / 2
            z = {k: model.extractor(_pm1(img), fg) for k, img in (("real", real), ("harm", harm), ("comp", comp))}
        torch.manual_seed(7)  # the same dropout draw inside the step
        terms = recipe.step(batch)
        assert terms["L1"] == pytest.approx(F.l1_loss(_pm1(harm), _pm1(real)).item(), rel=1e-5)
        assert terms["tri_ff"] == pytest.approx(
            F.triplet_margin_loss(z["real"], z["harm"], z["comp"], margin=0.1).item(), rel=1e-4, abs=1e-6)
        assert terms["tri_fb"] == pytest.approx(
            F.triplet_margin_loss(z["harm"], code, z["comp"], margin=0.1).item(), rel=1e-4, abs=1e-6)
        assert terms["total"] == pytest.approx(terms["L1"] + 0.01 * (terms["tri_ff"] + terms["tri_fb"]), rel=1e-6)


def test_iph_recipe_reports_its_objective_terms():
    torch.manual_seed(0)
    model = create_model("iph", "tiny").train()
    recipe = make_recipe("iph", model, lr=1e-3)
    batch = _batch()
    with torch.no_grad():
        out = model(batch["composite"], batch["fg_mask"], batch["ref_mask"])
        codes = model.style_code(batch["composite"], batch["ref_mask"]).flatten(1).double().numpy()
    terms = recipe.step(batch)
    assert set(terms) == {"harmonization", "highlight", "midtone", "shadow", "lm", "consistency",
                          "triplet_reference", "triplet_real", "total", "code_spread"}
    assert terms["harmonization"] == pytest.approx(F.l1_loss(out, batch["real"]).item(), rel=1e-5)
    # code_spread, a diagnostic: per-dimension std across the batch over the mean norm, here by numpy
    want = codes.std(axis=0, ddof=1).mean() / np.linalg.norm(codes, axis=1).mean()
    assert terms["code_spread"] == pytest.approx(want, rel=1e-4)


@pytest.mark.parametrize("name, raw", [("dovenet", True), ("rainnet", False)])
def test_gan_recipes_show_the_discriminator_the_right_image(name, raw):
    """Dove-Net's discriminator judges the raw generator output (its background differs from the input's);
    Rain-Net's judges the output composited over the input (background = the composite's)."""
    torch.manual_seed(0)
    model = create_model(name, "tiny").train()
    recipe = make_recipe(name, model, lr=1e-3)
    seen = []
    recipe.netD.register_forward_pre_hook(lambda mod, args: seen.append(args[0].detach().clone()))
    batch = _batch()
    recipe.step(batch)
    bg = (batch["fg_mask"] <= 0.5).expand_as(batch["composite"])
    real, comp = _pm1(batch["real"]), _pm1(batch["composite"])  # D works in [-1, 1]
    fakes = [x for x in seen if not torch.equal(x, real)]
    assert fakes, "the discriminator never saw a generated image"
    same_background = all(torch.allclose(x[bg], comp[bg], atol=1e-6) for x in fakes)
    assert same_background is not raw


def test_a_network_without_a_recipe_cannot_be_trained(monkeypatch):
    """No recipe is guessed from the model's class: an entry naming none, or an unknown one, is an error."""
    base = registry.BUILTIN["bargainnet-r"]
    monkeypatch.setitem(registry.BUILTIN, "toy", dataclasses.replace(base, name="toy", recipe=None))
    monkeypatch.setitem(registry.BUILTIN, "toy2", dataclasses.replace(
        base, name="toy2", recipe="harness.train.recipes:BargainNetRecip"))
    model = create_model("bargainnet-r", "tiny")
    with pytest.raises(HarnessError, match="names no training recipe"):
        make_recipe("toy", model, lr=1e-3)
    with pytest.raises(UnknownNameError, match="Did you mean: BargainNetRecipe"):
        make_recipe("toy2", model, lr=1e-3)
    with pytest.raises(HarnessError, match="classical method, not a trainable network"):
        make_recipe("reinhard", model, lr=1e-3)


@pytest.mark.parametrize("name", sorted(L1_TERM))
def test_recipe_fits_a_fixed_batch(name):
    torch.manual_seed(0)
    model = create_model(name, "tiny").train()
    recipe = make_recipe(name, model, lr=2e-3)
    batch = _batch()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    losses = []
    for step in range(25):
        torch.manual_seed(step)
        losses.append(recipe.step(batch)[L1_TERM[name]])
    assert all(torch.isfinite(torch.tensor(losses)))
    assert sum(losses[-3:]) / 3 < 0.6 * losses[0], losses
    assert any(not torch.equal(before[k], v) for k, v in model.state_dict().items())


@pytest.mark.parametrize("name", ["iph", "dovenet"])
def test_training_state_round_trip_resumes_exactly(name, tmp_path, monkeypatch):
    """Interrupted (save after 2 steps, restore into fresh objects, 2 more steps) == uninterrupted 4 steps."""
    from harness.methods.checkpoint import load_checkpoint, save_checkpoint

    batch = _batch()

    def fresh():
        torch.manual_seed(0)
        m = create_model(name, "tiny").train()
        return m, make_recipe(name, m, lr=1e-3)

    def run(recipe, steps):
        for s in steps:
            torch.manual_seed(100 + s)  # the trainer re-seeds per step too (dropout, gradient penalty)
            recipe.step(batch)

    ref_model, ref = fresh()
    run(ref, range(4))

    model, recipe = fresh()
    run(recipe, range(2))
    save_checkpoint(model, tmp_path / "m", step=2, model_name=name, size="tiny")
    save_training_state(recipe, tmp_path / "s.safetensors", tmp_path / "s.json", step=2)

    def no_pickle(*a, **k):
        raise AssertionError("unpickling during a checkpoint load")

    monkeypatch.setattr(pickle, "loads", no_pickle)
    monkeypatch.setattr(pickle, "load", no_pickle)
    monkeypatch.setattr(torch, "load", no_pickle)
    loaded, meta = load_checkpoint(tmp_path / "m.safetensors")
    assert meta["step"] == 2
    model2, recipe2 = fresh()
    model2.load_state_dict(loaded.state_dict())
    assert load_training_state(recipe2, tmp_path / "s.safetensors", tmp_path / "s.json") == 2
    run(recipe2, range(2, 4))
    for k, v in ref_model.state_dict().items():
        torch.testing.assert_close(model2.state_dict()[k], v, rtol=0, atol=1e-6, msg=k)
