"""Every learned method's training recipe, in plain PyTorch (no Ray): it learns a fixed batch, and its
training state (optimizers, discriminator) round-trips through safetensors + JSON exactly, without pickle."""

from __future__ import annotations

import pickle

import pytest
import torch

from harness.data.synthetic import SyntheticDataset
from harness.train import collate
from harness.train_recipes import load_training_state, make_recipe, save_training_state
from iph.registry import create_model, list_models

# The reconstruction term each recipe reports (the GAN terms are not expected to fall monotonically).
L1_TERM = {"iph": "harmonization", "bargainnet": "L1", "bargainnet-r": "L1", "dovenet": "G_L1", "rainnet": "G_L1"}


def _batch(n: int = 2, size: int = 64, stage: int = 2) -> dict:
    ds = SyntheticDataset(size, stage=stage, seed=1)
    return collate([ds[i] for i in range(n)])


def test_every_registered_model_has_a_recipe():
    assert set(L1_TERM) == set(list_models())


@pytest.mark.parametrize("name", sorted(L1_TERM))
def test_recipe_fits_a_fixed_batch(name):
    torch.manual_seed(0)
    model = create_model(name, "tiny").train()
    recipe = make_recipe(model, lr=2e-3)
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
    from iph.checkpoint import load_checkpoint, save_checkpoint

    batch = _batch()

    def fresh():
        torch.manual_seed(0)
        m = create_model(name, "tiny").train()
        return m, make_recipe(m, lr=1e-3)

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
