"""IPH checkpoints: `NAME.safetensors` (the weights) + `NAME.json` (what they are), never a pickle.

The JSON holds the architecture (`config`, an `IPHConfig` as a dict), the training `stage` and `step`,
free-form `data` and `metrics` dicts from the caller (which data, which scores), the parameter count and the
weights file's sha256. Loading rebuilds the model from the config, reads the tensors with
`safetensors.torch.load_file` (no code runs on load), checks the sha256 and the exact key/shape match, and
turns every failure (missing file, corrupt file, a config that does not fit the weights) into one-line
`InputError`s naming the file. `weights_sha256` gives a content hash for cache keys.

Both files are written to temporaries and renamed into place, so an interrupted save never leaves a half
checkpoint under the final name (training resumes from these).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from pathlib import Path
from typing import Any

import torch

from harness.errors import InputError
from iph.model import IPH, IPHConfig, count_parameters

FORMAT = "iph-checkpoint"
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


def save(model: IPH, path: str | os.PathLike, *, stage: int | None = None, step: int = 0,
         data: dict[str, Any] | None = None, metrics: dict[str, Any] | None = None) -> Path:
    """Write NAME.safetensors + NAME.json; returns the weights path. `data`/`metrics` must be JSON-able."""
    from safetensors.torch import save_file

    weights, meta_path = checkpoint_paths(path)
    weights.parent.mkdir(parents=True, exist_ok=True)
    tensors = {k: v.detach().to("cpu").contiguous() for k, v in model.state_dict().items()}
    _atomic_write(weights, lambda tmp: save_file(tensors, str(tmp), metadata={"format": FORMAT}))
    meta = {
        "format": FORMAT, "version": VERSION, "model": "iph",
        "config": dataclasses.asdict(model.cfg), "stage": stage, "step": int(step),
        "data": data or {}, "metrics": metrics or {},
        "parameters": count_parameters(model),
        "weights": {"file": weights.name, "sha256": weights_sha256(weights)},
    }
    try:
        text = json.dumps(meta, indent=2, sort_keys=True)
    except TypeError as err:
        raise ValueError(f"checkpoint data/metrics must be JSON-serialisable: {err}") from None
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
        raise InputError(str(meta_path), f"not an IPH checkpoint (format is not '{FORMAT}')")
    if meta.get("version") != VERSION:
        raise InputError(str(meta_path), f"checkpoint version {meta.get('version')} is not supported "
                                         f"(this code reads version {VERSION})")
    return meta


def config_from_meta(meta: dict[str, Any], where: str) -> IPHConfig:
    """IPHConfig from the JSON dict (lists back to tuples); unknown or bad fields are an InputError."""
    raw = meta.get("config")
    fields = {f.name: f for f in dataclasses.fields(IPHConfig)}
    if not isinstance(raw, dict):
        raise InputError(where, "checkpoint metadata has no 'config' object")
    unknown = sorted(set(raw) - set(fields))
    if unknown:
        raise InputError(where, f"checkpoint config has unknown fields: {', '.join(unknown)}")
    values = {k: tuple(v) if isinstance(v, list) else v for k, v in raw.items()}
    return IPHConfig(**values)


def load(path: str | os.PathLike, device: str | torch.device = "cpu") -> tuple[IPH, dict[str, Any]]:
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
    model = IPH(config_from_meta(meta, str(meta_path)))
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
