"""Checkpoints: safetensors + JSON round trip without pickle, one-line errors for bad files (on IPH), the whole
config stored for every network, and the shipped checkpoints read bit-identically."""

import dataclasses
import hashlib
import json
import pickle
import struct
from pathlib import Path

import pytest
import torch

from harness.errors import InputError
from harness.methods import checkpoint, registry
from iph.model import build
from harness.methods.registry import create_model, list_models, model_sizes


def _batch():
    g = torch.Generator().manual_seed(0)
    comp = torch.rand(1, 3, 32, 32, generator=g)
    fg = torch.zeros(1, 1, 32, 32)
    fg[..., 8:20, 8:24] = 1.0
    ref = torch.zeros(1, 1, 32, 32)
    ref[..., 24:, :] = 1.0
    return comp, fg, ref


@pytest.fixture
def saved(tmp_path):
    torch.manual_seed(0)
    model = build("tiny", style_dim=8).eval()
    path = checkpoint.save_checkpoint(model, tmp_path / "iph-tiny", model_name="iph", stage=2, step=120,
                           data={"suite": "bundled", "seed": 3}, metrics={"fMSE": 12.5})
    return model, path


def test_round_trip_without_pickle(saved, monkeypatch):
    model, path = saved
    assert path.name == "iph-tiny.safetensors" and (path.parent / "iph-tiny.json").is_file()
    # The weights file is a safetensors file: u64 header length + JSON header naming every tensor.
    raw = path.read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    assert set(header) - {"__metadata__"} == set(model.state_dict())

    def refuse(*_a, **_k):
        raise AssertionError("checkpoint loading must not unpickle")

    monkeypatch.setattr(pickle, "load", refuse)
    monkeypatch.setattr(pickle, "loads", refuse)
    monkeypatch.setattr(torch, "load", refuse)
    loaded, meta = checkpoint.load_checkpoint(path.with_suffix(""))
    assert meta["stage"] == 2 and meta["step"] == 120 and meta["data"]["seed"] == 3
    assert meta["metrics"] == {"fMSE": 12.5} and meta["overrides"]["style_dim"] == 8 and meta["size"] == "tiny"
    assert meta["parameters"] == sum(p.numel() for p in model.parameters())
    assert loaded.cfg == model.cfg and not loaded.training
    for key, value in model.state_dict().items():
        assert torch.equal(loaded.state_dict()[key], value), key
    with torch.no_grad():
        assert torch.equal(loaded(*_batch()), model(*_batch()))


def test_sha256_is_the_file_hash(saved):
    _, path = saved
    expected = hashlib.sha256(path.read_bytes()).hexdigest()
    assert checkpoint.weights_sha256(path) == expected
    assert checkpoint.read_meta(path)["weights"]["sha256"] == expected


def test_corrupt_weights_give_a_clear_error(saved):
    _, path = saved
    path.write_bytes(path.read_bytes()[:100])  # truncated
    with pytest.raises(InputError, match="sha256 differs"):
        checkpoint.load_checkpoint(path)
    meta_path = path.with_suffix(".json")
    meta = json.loads(meta_path.read_text())
    del meta["weights"]["sha256"]  # without the hash, safetensors itself must reject the file
    meta_path.write_text(json.dumps(meta))
    with pytest.raises(InputError, match="not a readable safetensors file") as err:
        checkpoint.load_checkpoint(path)
    assert str(path) in str(err.value)


def test_missing_and_garbled_files(saved, tmp_path):
    _, path = saved
    with pytest.raises(InputError, match="not found"):
        checkpoint.load_checkpoint(tmp_path / "nope")
    path.with_suffix(".json").write_text("{not json")
    with pytest.raises(InputError, match="not valid JSON"):
        checkpoint.load_checkpoint(path)
    path.with_suffix(".json").write_text(json.dumps({"format": "something-else"}))
    with pytest.raises(InputError, match="not a harness checkpoint"):
        checkpoint.load_checkpoint(path)


def test_config_that_does_not_fit_the_weights(saved):
    _, path = saved
    meta_path = path.with_suffix(".json")
    meta = json.loads(meta_path.read_text())
    meta["overrides"]["style_dim"] = 16
    meta_path.write_text(json.dumps(meta))
    with pytest.raises(InputError, match="do not fit the config.*shape differs"):
        checkpoint.load_checkpoint(path)
    meta["overrides"]["colour"] = True
    meta_path.write_text(json.dumps(meta))
    with pytest.raises(InputError, match="cannot be built.*colour"):
        checkpoint.load_checkpoint(path)
    meta["model"] = "iphh"
    meta_path.write_text(json.dumps(meta))
    with pytest.raises(InputError, match="unknown method 'iphh'. Did you mean: iph"):
        checkpoint.load_checkpoint(path)


def test_registry_rebuilds_the_saved_architecture(saved):
    # What the engine does to describe a checkpoint: create_model(model, size, **overrides).
    model, path = saved
    meta = checkpoint.read_meta(path)
    rebuilt = create_model(meta["model"], meta["size"], **meta["overrides"])
    assert rebuilt.cfg == model.cfg
    with pytest.raises(ValueError, match="size"):
        checkpoint.save_checkpoint(torch.nn.Linear(2, 2), path.parent / "other", model_name="dovenet")


# ------------------------------------------------------------------------------------ every network, shipped
ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("name", list_models())
def test_every_network_stores_its_whole_config(name, tmp_path):
    """Any network whose `cfg` is a dataclass is saved with its whole config and, when the caller names no
    size, the size it is closest to (fewest differing fields of the family's SIZES)."""
    torch.manual_seed(0)
    sizes = model_sizes(name)
    field, value = next((k, v) for k, v in dataclasses.asdict(sizes["small"]).items() if isinstance(v, int)
                        and not isinstance(v, bool) and k != "resolution")
    model = create_model(name, "small", **{field: value + 1})  # one field off the shipped size
    path = checkpoint.save_checkpoint(model, tmp_path / name, model_name=name)
    meta = checkpoint.read_meta(path)
    assert meta["size"] == "small"
    assert meta["overrides"] == json.loads(json.dumps(dataclasses.asdict(model.cfg)))  # every field, as JSON
    loaded, _ = checkpoint.load_checkpoint(path)
    assert loaded.cfg == model.cfg and getattr(loaded.cfg, field) == value + 1
    for key, tensor in model.state_dict().items():
        assert torch.equal(loaded.state_dict()[key], tensor), key


@pytest.mark.parametrize("name", list_models())
def test_shipped_checkpoints_load_bit_identically(name, tmp_path):
    """The shipped checkpoints were written before configs were stored whole (the baselines' hold no
    overrides): they load to exactly the tensors in their files, and saved again today they rebuild the same
    network and write the same weights file, byte for byte."""
    from safetensors.torch import load_file

    shipped = ROOT / registry.BUILTIN[name].checkpoint
    model, meta = checkpoint.load_checkpoint(shipped)
    on_disk = load_file(str(shipped))
    assert set(model.state_dict()) == set(on_disk)
    for key, tensor in on_disk.items():
        mine = model.state_dict()[key]
        assert mine.dtype == tensor.dtype and torch.equal(mine, tensor), key
    assert meta["size"] == "small" and meta["parameters"] == sum(p.numel() for p in model.parameters())

    again = checkpoint.save_checkpoint(model, tmp_path / name, stage=meta["stage"], step=meta["step"],
                                       model_name=name)
    assert checkpoint.weights_sha256(again) == meta["weights"]["sha256"] == hashlib.sha256(
        shipped.read_bytes()).hexdigest()
    reloaded, new_meta = checkpoint.load_checkpoint(again)
    assert new_meta["size"] == "small" and reloaded.cfg == model.cfg
    assert new_meta["overrides"] == json.loads(json.dumps(dataclasses.asdict(model.cfg)))
