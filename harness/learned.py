"""Learned methods (IPH and the baselines) inside the benchmark.

The network runs at its working size (256²): the composite and masks are resized down (harness/resize.py),
harmonized, and the full-resolution result is made by the per-image polynomial colour mapping fitted on the
low-res foreground (harness/highres.py) — one high-res path for every fixed-size method. Runs on CUDA when
the worker has a GPU.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from harness.methods import LEARNED, Method, MethodSpec


def read_checkpoint_meta(path: Path) -> dict[str, Any]:
    """The JSON written beside a checkpoint: model name, size, config overrides, stage, step, ..."""
    meta_path = Path(path).with_suffix(".json")
    if not meta_path.is_file():
        from harness.errors import InputError

        raise InputError(meta_path, "checkpoint metadata (.json beside the .safetensors) not found")
    return json.loads(meta_path.read_text())


def build_from_checkpoint(path: Path, device: str = "cpu"):
    """Build the network the checkpoint describes and load its weights (safetensors: no pickle)."""
    from iph.checkpoint import load_checkpoint

    return load_checkpoint(path, device=device)


class LearnedMethod(Method):
    def __init__(self, spec: MethodSpec, checkpoint: Path) -> None:
        import torch

        self.spec = spec
        self.device = "cuda" if torch.cuda.is_available() else "cpu"
        self.model, self.meta = build_from_checkpoint(checkpoint, self.device)
        self.model.eval()
        self.uses_reference = bool(self.model.uses_reference)
        self.resolution = int(self.model.resolution)
        self.terms = int(spec.opts.get("terms", 11))
        self.auto_reference = spec.opts.get("reference") == "auto"

    def _forward(self, composite: np.ndarray, fg: np.ndarray, ref: np.ndarray) -> np.ndarray:
        import torch

        def t(a):
            a = a[..., None] if a.ndim == 2 else a
            return torch.from_numpy(np.ascontiguousarray(a.transpose(2, 0, 1)))[None].to(self.device)

        with torch.no_grad():
            out = self.model(t(composite), t(fg), t(ref))
        return out[0].permute(1, 2, 0).float().cpu().numpy()

    def harmonize(self, sample) -> np.ndarray:
        from harness.highres import upsample_by_color_mapping
        from harness.resize import resize_image, resize_mask

        ref_mask = sample.ref_mask
        if self.auto_reference:
            from iph.auto_reference import auto_reference

            ref_mask = auto_reference(sample.composite, sample.fg_mask)
        r = self.resolution
        comp_low, fg_low, ref_low = resize_image(sample.composite, r), resize_mask(sample.fg_mask, r), resize_mask(ref_mask, r)
        if not (ref_low > 0.5).any():  # a tiny reference region can vanish at 256²: keep its soft trace
            ref_low = (ref_low >= ref_low.max()).astype(np.float32)
        out_low = self._forward(comp_low, fg_low, ref_low)
        return upsample_by_color_mapping(sample.composite, sample.fg_mask, comp_low, out_low, fg_low, terms=self.terms)


def describe_learned() -> list[dict[str, Any]]:
    """List rows for learned methods; parameter counts without allocating weights (meta device)."""
    import torch

    from iph.registry import create_model

    rows = []
    for name in LEARNED:
        spec = MethodSpec(name)
        ckpt = spec.checkpoint()
        available = spec.available()
        try:
            with torch.device("meta"):
                full = create_model(name, "full")
                params_full = sum(p.numel() for p in full.parameters())
                params = None
                if available:
                    meta = read_checkpoint_meta(ckpt)
                    small = create_model(name, meta.get("size", "tiny"), **meta.get("overrides", {}))
                    params = sum(p.numel() for p in small.parameters())
            uses_ref, res = bool(full.uses_reference), int(full.resolution)
        except (ModuleNotFoundError, AttributeError):  # model code not present in this build
            params_full, params, uses_ref, res = None, None, None, 256
        rows.append({"name": name, "uses_reference": uses_ref, "resolution": res, "params": params,
                     "params_full": params_full, "available": available,
                     "checkpoint": str(ckpt) if available else None,
                     "description": "learned; " + ("checkpoint " + ckpt.name if available else "no checkpoint yet")})
    return rows
