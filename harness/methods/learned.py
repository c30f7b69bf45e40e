"""Learned methods (IPH and the baselines) inside the benchmark.

The network runs at its working size (256²): the composite and masks are resized down
(harness/data/resize.py), harmonized, and the full-resolution result is made by the per-image polynomial
colour mapping fitted on the low-res foreground (harness/methods/highres.py) — one high-res path for every
fixed-size method. Runs on CUDA when the worker has a GPU.

Options (`name:key=value,...`): `checkpoint` (a .safetensors checkpoint, a folder of official .pth weights,
or models:/NAME@ALIAS), `terms` (the colour mapping's kernel: 4, 11 or 17), and for IPH `r1`, `r2`,
`blend_with` (§7's style blending: r1·φ(reference) + r2·φ(second region)), and for Bargain-Net and Rain-Net
`guide=reference`: the IPH paper's guide-mask protocol — the same weights, the reference region in place of
the background mask they were trained with.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from harness.errors import HarnessError, InputError
from harness.methods import registry

OPTIONS = ("checkpoint", "terms", "r1", "r2", "blend_with", "guide")
GUIDED = ("bargainnet", "rainnet")  # networks that read a background mask the guide-mask protocol can replace


def parse_options(spec) -> dict[str, Any]:
    """The learned method's options, typed and checked (no weights loaded)."""
    opts = dict(spec.opts)
    opts.pop("checkpoint", None)
    unknown = sorted(set(opts) - set(OPTIONS))
    if unknown:
        raise HarnessError(f"method '{spec.name}' has no option(s) {', '.join(unknown)} (options: "
                           "checkpoint, terms, r1, r2, blend_with=foreground|background, guide=reference)")
    try:
        out = {"terms": int(opts.pop("terms", 11)), "r1": float(opts.pop("r1", 1.0)),
               "r2": float(opts.pop("r2", 0.0))}
    except ValueError:
        raise HarnessError(f"method '{spec.label}': an option value is not a number") from None
    out["blend_with"] = opts.pop("blend_with", "foreground")
    out["guide"] = opts.pop("guide", None)
    if out["guide"] is not None:
        if out["guide"] not in ("background", "reference"):
            raise HarnessError(f"guide must be background or reference, not '{out['guide']}'")
        if spec.name not in GUIDED:
            why = ("its generator sees only the composite and the foreground mask: there is no background mask "
                   "to replace" if spec.name == "dovenet" else "it takes the reference region already")
            raise HarnessError(f"method '{spec.name}' has no guide option: {why} (guide=reference is the IPH "
                               f"paper's protocol for {' and '.join(GUIDED)})")
    if out["blend_with"] not in ("foreground", "background"):
        raise HarnessError(f"blend_with must be foreground or background, not '{out['blend_with']}'")
    if (out["r1"], out["r2"]) != (1.0, 0.0) and spec.name != "iph":
        raise HarnessError(f"method '{spec.name}' has no style code to blend (r1/r2 are IPH options)")
    from harness.methods.highres import KERNELS

    if out["terms"] not in KERNELS:
        raise HarnessError(f"method '{spec.label}': terms must be one of {sorted(KERNELS)}")
    return out


def check_options(spec) -> None:
    parse_options(spec)


def build_from_checkpoint(name: str, path: Path, device: str = "cpu"):
    """The network for method `name` with its weights: our safetensors checkpoints, or — where the registry
    names an official loader — the authors' released `.pth` files (a file, or a folder holding them), loaded
    strictly with `weights_only=True`. Returns (model in eval mode, meta)."""
    from harness.methods.checkpoint import load_checkpoint

    info = registry.learned_info(name)
    path = Path(path)
    if path.is_dir() or path.suffix == ".pth":
        if info.official is None:
            raise InputError(path, f"'{name}' has no official released weights; give a .safetensors checkpoint")
        model = registry.create_model(name, "full")
        try:
            registry.load(info.official)(model, path)
        except (ValueError, FileNotFoundError, OSError) as err:
            raise InputError(path, str(err).splitlines()[0]) from None
        return model.to(device).eval(), {"model": name, "size": "full", "official": True}
    model, meta = load_checkpoint(path, device=device)
    if meta.get("model", name) != name:
        raise InputError(path, f"checkpoint is for '{meta.get('model')}', not '{name}'")
    return model.eval(), meta


class LearnedMethod:
    """A registered network with its weights, behind the Method interface."""

    def __init__(self, spec, checkpoint: Path) -> None:
        import torch

        self.spec = spec
        opts = parse_options(spec)
        self.terms, self.r1, self.r2, self.blend_with = opts["terms"], opts["r1"], opts["r2"], opts["blend_with"]
        self.device = "cuda" if torch.cuda.is_available() else "cpu"
        self.model, self.meta = build_from_checkpoint(spec.name, checkpoint, self.device)
        if opts["guide"] is not None:
            self.model.guide = opts["guide"]
        self.uses_reference = bool(self.model.uses_reference)
        self.resolution = int(self.model.resolution)

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
        from harness.data.resize import resize_image, resize_mask
        from harness.methods.highres import upsample_by_color_mapping

        r = self.resolution
        comp_low, fg_low = resize_image(sample.composite, r), resize_mask(sample.fg_mask, r)
        ref_low = resize_mask(sample.ref_mask, r)
        if not (ref_low > 0.5).any():  # a tiny reference region can vanish at 256²: keep its soft trace
            ref_low = (ref_low >= ref_low.max()).astype(np.float32)
        out_low = self._forward(comp_low, fg_low, ref_low)
        return upsample_by_color_mapping(sample.composite, sample.fg_mask, comp_low, out_low, fg_low,
                                         terms=self.terms)
