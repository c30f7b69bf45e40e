"""Learned methods (IPH and the baselines) inside the benchmark.

The network runs at its working size (256²): the composite and masks are resized down (harness/resize.py),
harmonized, and the full-resolution result is made by the per-image polynomial colour mapping fitted on the
low-res foreground (harness/highres.py) — one high-res path for every fixed-size method. Runs on CUDA when
the worker has a GPU.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from harness.errors import HarnessError
from harness.methods import LEARNED, Method, MethodSpec


def build_from_checkpoint(name: str, path: Path, device: str = "cpu"):
    """The network for method `name` with its weights: our safetensors checkpoints (any registered model),
    or — for the baselines — the official released `.pth` files (a file, or a folder holding them), loaded
    strictly with `weights_only=True`. Returns (model in eval mode, meta)."""
    import importlib

    from harness.errors import InputError
    from iph.registry import _MODELS, create_model

    path = Path(path)
    if path.is_dir() or path.suffix == ".pth":
        module = importlib.import_module(_MODELS[name].split(":")[0])
        if not hasattr(module, "load_official"):
            raise InputError(path, f"'{name}' has no official released weights; give a .safetensors checkpoint")
        model = create_model(name, "full")
        try:
            module.load_official(model, path)
        except (ValueError, FileNotFoundError, OSError) as err:
            raise InputError(path, str(err).splitlines()[0]) from None
        return model.to(device).eval(), {"model": name, "size": "full", "official": True}
    from iph.checkpoint import load_checkpoint

    model, meta = load_checkpoint(path, device=device)
    if meta.get("model", name) != name:
        raise InputError(path, f"checkpoint is for '{meta.get('model')}', not '{name}'")
    return model.eval(), meta


class LearnedMethod(Method):
    def __init__(self, spec: MethodSpec, checkpoint: Path) -> None:
        import torch

        self.spec = spec
        self.device = "cuda" if torch.cuda.is_available() else "cpu"
        self.model, self.meta = build_from_checkpoint(spec.name, checkpoint, self.device)
        self.uses_reference = bool(self.model.uses_reference)
        self.resolution = int(self.model.resolution)
        opts = dict(spec.opts)
        opts.pop("checkpoint", None)
        self.terms = int(opts.pop("terms", 11))
        # §7 colour-transfer control (IPH): style = r1·φ(reference) + r2·φ(second region), where the second
        # region is the composite's own foreground (r2 > 0 keeps part of its original look) or the background.
        self.r1, self.r2 = float(opts.pop("r1", 1.0)), float(opts.pop("r2", 0.0))
        self.blend_with = opts.pop("blend_with", "foreground")
        if opts:
            raise HarnessError(f"method '{spec.name}' has no option(s) {', '.join(sorted(opts))} (options: "
                               "checkpoint, terms, r1, r2, blend_with=foreground|background)")
        if (self.r1, self.r2) != (1.0, 0.0) and not hasattr(self.model, "harmonize_blend"):
            raise HarnessError(f"method '{spec.name}' has no style code to blend (r1/r2 are IPH options)")
        if self.blend_with not in ("foreground", "background"):
            raise HarnessError(f"blend_with must be foreground or background, not '{self.blend_with}'")

    def _forward(self, composite: np.ndarray, fg: np.ndarray, ref: np.ndarray) -> np.ndarray:
        import torch

        def t(a):
            a = a[..., None] if a.ndim == 2 else a
            return torch.from_numpy(np.ascontiguousarray(a.transpose(2, 0, 1)))[None].to(self.device)

        with torch.no_grad():
            if (self.r1, self.r2) == (1.0, 0.0):
                out = self.model(t(composite), t(fg), t(ref))
            else:
                second = fg if self.blend_with == "foreground" else (fg <= 0.5).astype(np.float32)
                out = self.model.harmonize_blend(t(composite), t(fg), t(ref), t(second), self.r1, self.r2)
        return out[0].permute(1, 2, 0).float().cpu().numpy()

    def harmonize(self, sample) -> np.ndarray:
        from harness.highres import upsample_by_color_mapping
        from harness.resize import resize_image, resize_mask

        ref_mask = sample.ref_mask
        r = self.resolution
        comp_low, fg_low, ref_low = resize_image(sample.composite, r), resize_mask(sample.fg_mask, r), resize_mask(ref_mask, r)
        if not (ref_low > 0.5).any():  # a tiny reference region can vanish at 256²: keep its soft trace
            ref_low = (ref_low >= ref_low.max()).astype(np.float32)
        out_low = self._forward(comp_low, fg_low, ref_low)
        return upsample_by_color_mapping(sample.composite, sample.fg_mask, comp_low, out_low, fg_low, terms=self.terms)


def describe_learned() -> list[dict[str, Any]]:
    """List rows for learned methods; parameter counts without allocating weights (meta device)."""
    import torch

    from iph.checkpoint import read_meta
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
                    meta = read_meta(ckpt)
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
