"""Training state, without pickle: periodic checkpoints that a run resumes from.

Per checkpoint step N: `step_N.safetensors/.json` (the model, in the format of
harness/methods/checkpoint.py — loadable by the benchmark) and `step_N.state.safetensors/.json` (optimizer
tensors and discriminator weights in safetensors; scalars and param groups as JSON). Written to temporaries
and renamed into place, so an interruption never leaves a half checkpoint under its final name. A worker writes
them in a folder of its own; what persists is the Ray Train checkpoint it reports (harness/train/loop.py):
`RUN/ray/<Ray run>/step_N/` in the run's storage (harness/storage.py), which `latest_checkpoint` finds.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

STEP_RE = re.compile(r"^step_(\d+)\.json$")


def step_paths(ckpt_dir: Path, step: int) -> tuple[Path, Path, Path]:
    """(model weights, state tensors, state JSON) of checkpoint `step`."""
    stem = ckpt_dir / f"step_{step:07d}"
    return (stem.with_suffix(".safetensors"), stem.with_name(stem.name + ".state.safetensors"),
            stem.with_name(stem.name + ".state.json"))


def latest_checkpoint(out: str | os.PathLike) -> tuple[int, Path] | None:
    """(step, model checkpoint path) of the newest complete periodic checkpoint in the local folder
    OUT/checkpoints (a trial's own folder: harness/experiments/trial.py)."""
    ckpt_dir = Path(out) / "checkpoints"
    if not ckpt_dir.is_dir():
        return None
    best = None
    for p in ckpt_dir.iterdir():
        m = STEP_RE.match(p.name)
        if m:
            step = int(m.group(1))
            if all(f.is_file() for f in step_paths(ckpt_dir, step)) and (best is None or step > best[0]):
                best = (step, step_paths(ckpt_dir, step)[0])
    return best


STORED_RE = re.compile(r"^([^/]+)/step_(\d+)/step_\2(\.json|\.safetensors|\.state\.json|\.state\.safetensors)$")


def latest_stored_checkpoint(run: str) -> tuple[int, str] | None:
    """(step, location of its folder) of the newest complete checkpoint a training run reported to its storage
    `run` (RUN/ray/<Ray run>/step_N/, any Ray run: a resumed run starts a new one)."""
    from harness.storage import join, list_dir

    found: dict[tuple[str, int], set[str]] = {}
    for name, is_dir in list_dir(join(run, "ray"), recursive=True).items():
        m = STORED_RE.match(name)
        if m and not is_dir:
            found.setdefault((m.group(1), int(m.group(2))), set()).add(m.group(3))
    complete = [(step, ray_run) for (ray_run, step), files in found.items() if len(files) == 4]
    if not complete:
        return None
    step, ray_run = max(complete)
    return step, join(run, "ray", ray_run, f"step_{step:07d}")


def checkpoint_folder(src: Path, step: int, dst: Path, extra: tuple[Path, ...] = ()) -> Path:
    """A folder `dst` holding checkpoint `step` of `src` (and `extra` files): what a worker reports to Ray."""
    import shutil

    dst.mkdir(parents=True, exist_ok=True)
    for f in (*step_paths(src, step), step_paths(src, step)[0].with_suffix(".json"), *extra):
        if f.is_file():
            shutil.copy2(f, dst / f.name)
    return dst


def prune(ckpt_dir: Path, keep: int) -> None:
    """Delete all but the newest `keep` periodic checkpoints."""
    steps = sorted(int(m.group(1)) for p in ckpt_dir.iterdir() if (m := STEP_RE.match(p.name)))
    for step in steps[:-keep] if keep > 0 else steps:
        stem = ckpt_dir / f"step_{step:07d}"
        for suffix in (".json", ".safetensors", ".state.json", ".state.safetensors"):
            stem.with_name(stem.name + suffix).unlink(missing_ok=True)


def save_training_state(recipe, weights_path: Path, state_json: Path, step: int) -> None:
    """Optimizer states and extra modules as flat tensors (safetensors) + scalars/param groups (JSON)."""
    import torch
    from safetensors.torch import save_file

    tensors: dict[str, Any] = {}
    meta: dict[str, Any] = {"step": int(step), "optimizers": {}, "modules": sorted(recipe.extra_modules())}
    for name, opt in recipe.optimizers().items():
        sd = opt.state_dict()
        scalars = {}
        for pid, st in sd["state"].items():
            for k, v in st.items():
                if torch.is_tensor(v):
                    tensors[f"{name}.state.{pid}.{k}"] = v.detach().cpu().contiguous()
                else:
                    scalars[f"{pid}.{k}"] = v
        meta["optimizers"][name] = {"param_groups": sd["param_groups"], "scalars": scalars}
    for name, module in recipe.extra_modules().items():
        for k, v in module.state_dict().items():
            tensors[f"{name}.{k}"] = v.detach().cpu().contiguous()
    tmp = weights_path.with_name(weights_path.name + ".tmp")
    save_file(tensors, str(tmp))
    os.replace(tmp, weights_path)
    tmp = state_json.with_name(state_json.name + ".tmp")
    tmp.write_text(json.dumps(meta, indent=1))
    os.replace(tmp, state_json)


def load_training_state(recipe, weights_path: Path, state_json: Path) -> int:
    """Restore what `save_training_state` wrote; returns the step. No pickle anywhere."""
    import torch
    from safetensors.torch import load_file

    meta = json.loads(state_json.read_text())
    tensors = load_file(str(weights_path))
    for name, opt in recipe.optimizers().items():
        saved = meta["optimizers"][name]
        state: dict[int, dict[str, Any]] = {}
        prefix = f"{name}.state."
        for key, value in tensors.items():
            if key.startswith(prefix):
                pid, k = key[len(prefix):].split(".", 1)
                state.setdefault(int(pid), {})[k] = value
        for key, value in saved["scalars"].items():
            pid, k = key.split(".", 1)
            state.setdefault(int(pid), {})[k] = value
        groups = [{**g, "betas": tuple(g["betas"])} if "betas" in g else g for g in saved["param_groups"]]
        opt.load_state_dict({"state": state, "param_groups": groups})
    device = next(recipe.model.parameters()).device
    for name, module in recipe.extra_modules().items():
        prefix = f"{name}."
        module.load_state_dict({k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}, strict=True)
        module.to(device)
    for opt in recipe.optimizers().values():  # optimizer tensors come back on the CPU
        for st in opt.state.values():
            for k, v in st.items():
                if torch.is_tensor(v) and k != "step":
                    st[k] = v.to(device)
    return int(meta["step"])
