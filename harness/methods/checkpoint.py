"""Model checkpoints: `NAME.safetensors` (the weights) + `NAME.json` (what they are), never a pickle.

Used for every registered network (harness/methods/registry.py). The JSON holds the registry name
(`model`), the builder's `size` and `overrides` — so `create_model(model, size, **overrides)` rebuilds the
exact architecture: the overrides are the network's whole config (`model.cfg`), so a later change to a named
size cannot silently change what a checkpoint means (checkpoints written before that rule hold only the
fields that differed, and load the same) — the training `stage` and `step`, free-form `data` and `metrics`
dicts from the caller, the parameter count and the weights file's sha256.

Loading reads the tensors with `safetensors.torch.load_file` (no code runs on load), checks the sha256 and the
exact key/shape match, and turns every failure (missing file, corrupt file, a config that does not fit the
weights) into a one-line `InputError` naming the file. `weights_sha256` gives a content hash for cache keys.
Both files are written to temporaries and renamed into place, so an interrupted save never leaves a half
checkpoint under the final name (training resumes from these).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.errors import HarnessError, InputError

if TYPE_CHECKING:  # torch is imported where weights are read or written: `read_meta` stays light
    import torch
    from torch import nn

FORMAT = "harness-checkpoint"
VERSION = 1


def checkpoint_paths(path: str | os.PathLike) -> tuple[Path, Path]:
    """(weights, json) for "dir/NAME", "dir/NAME.safetensors" or "dir/NAME.json"."""
    p = Path(path)
    if p.suffix in (".safetensors", ".json"):
        p = p.with_suffix("")
    return p.with_name(p.name + ".safetensors"), p.with_name(p.name + ".json")


def weights_sha256(path: str | os.PathLike) -> str:
    """Hex sha256 of the weights file (accepts any of the names `checkpoint_paths` does)."""
    weights, _ = checkpoint_paths(path)
    if not weights.is_file():
        raise InputError(str(weights), "checkpoint weights file not found")
    digest = hashlib.sha256()
    with open(weights, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _atomic_write(target: Path, write) -> None:
    tmp = target.with_name(f".{target.name}.tmp{os.getpid()}")
    try:
        write(tmp)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def closest_size(model_name: str, config: dict[str, Any]) -> str:
    """The size of the family's SIZES whose config differs from `config` in the fewest fields: a readable
    `size` label for a model whose config is written out in full beside it."""
    from harness.methods.registry import model_sizes

    sizes = model_sizes(model_name)

    def distance(name: str) -> int:
        preset = dataclasses.asdict(sizes[name])
        return sum(preset.get(k) != v for k, v in config.items())
    return min(sizes, key=distance)


def save_checkpoint(model: nn.Module, path: str | os.PathLike, *, model_name: str, stage: int | None = None,
                    step: int = 0, data: dict[str, Any] | None = None, metrics: dict[str, Any] | None = None,
                    size: str | None = None, overrides: dict[str, Any] | None = None) -> Path:
    """Write NAME.safetensors + NAME.json; returns the weights path. `model_name` is the registry name of the
    method the network belongs to; `data`/`metrics` must be JSON-able.

    A network whose `cfg` is a dataclass gets its whole config as `overrides` (unless given) and, when no
    `size` is given, the closest size's name; any other network needs its builder's `size` (and `overrides`).
    """
    from safetensors.torch import save_file

    cfg = getattr(model, "cfg", None)
    if dataclasses.is_dataclass(cfg) and not isinstance(cfg, type):
        if overrides is None:
            overrides = dataclasses.asdict(cfg)
        size = size or closest_size(model_name, dataclasses.asdict(cfg))
    elif size is None:
        raise ValueError(f"save_checkpoint: give the size '{model_name}' was built with (size=...)")
    weights, meta_path = checkpoint_paths(path)
    weights.parent.mkdir(parents=True, exist_ok=True)
    tensors = {k: v.detach().to("cpu").contiguous() for k, v in model.state_dict().items()}

    def write_weights(tmp: Path) -> None:
        save_file(tensors, str(tmp), metadata={"format": FORMAT})
        os.chmod(tmp, 0o644)  # safetensors creates files 0600; checkpoints are meant to be shared

    _atomic_write(weights, write_weights)
    meta = {
        "format": FORMAT, "version": VERSION, "model": model_name, "size": size, "overrides": overrides or {},
        "stage": stage, "step": int(step), "data": data or {}, "metrics": metrics or {},
        "parameters": sum(p.numel() for p in model.parameters() if p.requires_grad),
        "weights": {"file": weights.name, "sha256": weights_sha256(weights)},
    }
    try:
        text = json.dumps(meta, indent=2, sort_keys=True)
    except TypeError as err:
        raise ValueError(f"checkpoint data/metrics/overrides must be JSON-serialisable: {err}") from None
    _atomic_write(meta_path, lambda tmp: tmp.write_text(text + "\n"))
    return weights


def read_meta(path: str | os.PathLike) -> dict[str, Any]:
    """The checkpoint's JSON, validated for format and version."""
    _, meta_path = checkpoint_paths(path)
    if not meta_path.is_file():
        raise InputError(str(meta_path), "checkpoint metadata (.json) not found")
    try:
        meta = json.loads(meta_path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise InputError(str(meta_path), f"checkpoint metadata is not valid JSON ({err})") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise InputError(str(meta_path), f"not a harness checkpoint (format is not '{FORMAT}')")
    if meta.get("version") != VERSION:
        raise InputError(str(meta_path), f"checkpoint version {meta.get('version')} is not supported "
                                         f"(this code reads version {VERSION})")
    return meta


def build_from_meta(meta: dict[str, Any], where: str) -> nn.Module:
    """The untrained model the JSON describes, via the registry; bad names or fields are an InputError."""
    from harness.methods.registry import create_model

    name, size, overrides = meta.get("model"), meta.get("size"), meta.get("overrides", {})
    if not isinstance(name, str) or not isinstance(size, str) or not isinstance(overrides, dict):
        raise InputError(where, "checkpoint metadata needs 'model' and 'size' strings and an 'overrides' object")
    try:
        return create_model(name, size, **overrides)
    except (HarnessError, TypeError, ValueError) as err:  # unknown name/size/field, or a rejected field
        raise InputError(where, f"checkpoint config cannot be built: {err}") from None


def load_checkpoint(path: str | os.PathLike, device: str | torch.device = "cpu") -> tuple[nn.Module, dict[str, Any]]:
    """Rebuild the model from NAME.json and fill it from NAME.safetensors; returns (model in eval mode, meta)."""
    from safetensors.torch import load_file

    weights, meta_path = checkpoint_paths(path)
    meta = read_meta(path)
    if not weights.is_file():
        raise InputError(str(weights), "checkpoint weights file not found (the .json is there)")
    expected = meta.get("weights", {}).get("sha256")
    if expected and weights_sha256(weights) != expected:
        raise InputError(str(weights), "weights file does not match its .json (sha256 differs): "
                                       "corrupt or replaced")
    try:
        tensors = load_file(str(weights), device="cpu")
    except Exception as err:  # safetensors raises its own error types for truncated/garbled headers
        raise InputError(str(weights), f"not a readable safetensors file ({err})") from None
    model = build_from_meta(meta, str(meta_path))
    own = model.state_dict()
    missing = sorted(set(own) - set(tensors))
    unexpected = sorted(set(tensors) - set(own))
    wrong = sorted(k for k in set(own) & set(tensors) if own[k].shape != tensors[k].shape)
    if missing or unexpected or wrong:
        parts = [f"{label}: {', '.join(keys[:3])}{' …' if len(keys) > 3 else ''} ({len(keys)})"
                 for label, keys in (("missing", missing), ("unexpected", unexpected), ("shape differs", wrong))
                 if keys]
        raise InputError(str(weights), "weights do not fit the config in the .json — " + "; ".join(parts))
    model.load_state_dict(tensors, strict=True)
    return model.to(device).eval(), meta
