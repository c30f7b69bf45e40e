"""Learned methods (IPH and the baselines) inside the benchmark, each scored as itself.

The network runs at its working resolution (256²). A sample already at that resolution goes in as it is and
comes out as the method's official test script writes it (its registry entry's `output`: composited over the
input outside the foreground, or the network's whole image) — no resize, no colour mapping. Any other sample is
resized down (harness/data/resize.py), harmonized, and brought back up to its own resolution by the method's
way up (`upsample`: its own, else the registry's DEFAULT_UPSAMPLE; harness/methods/highres.py); `way_up(sample)`
says which way a sample took, and every result row records it. A natively full-resolution network (the registry's
`NATIVE` way up: Harmonizer) is given every sample as it is and answers at its size itself ("native"); under a
256² protocol it is fed the protocol's 256² input like any other. A network with `predict` (the official
script's own post-processing) is run through it, and one with `dither_mask` is given its foreground mask as its
official script reads the mask file: 8-bit, through PIL's convert('1') (Floyd–Steinberg dithering to 0/1).
Runs on CUDA when the worker has a GPU.

Options (`name:key=value,...`) are declared in each method's registry entry (`options`): every learned method
has `checkpoint` (a .safetensors checkpoint, a folder of official .pth weights, or models:/NAME@ALIAS) and
`terms` (the colour mapping's kernel: 4, 11 or 17); IPH adds `r1`, `r2`, `blend_with` (§7's style blending:
r1·φ(reference) + r2·φ(second region)), Bargain-Net and Rain-Net `guide=reference` (the IPH paper's
guide-mask protocol: the same weights, the reference region in place of the background mask they were trained
with). How each option's value is read is below (`VALUES`); which method has which is the registry's.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import numpy as np

from harness.errors import HarnessError, InputError
from harness.methods import registry


def _choice(*allowed: str):
    def read(option: str, text: str) -> str:
        if text not in allowed:
            raise HarnessError(f"{option} must be {' or '.join(allowed)}, not '{text}'")
        return text
    return read


def _number(kind: type):
    def read(option: str, text: str):
        try:
            return kind(text)
        except ValueError:
            raise HarnessError(f"{option} must be a number, not '{text}'") from None
    return read


def _terms(option: str, text: str) -> int:
    from harness.methods.highres import KERNELS

    terms = _number(int)(option, text)
    if terms not in KERNELS:
        raise HarnessError(f"{option} must be one of {sorted(KERNELS)}, not {terms}")
    return terms


# Each option's default and how its text is read; `checkpoint` is read by MethodSpec.checkpoint().
VALUES: dict[str, tuple[Any, Callable[[str, str], Any]]] = {
    "upsample": (None, _choice(*registry.UPSAMPLE)),
    "terms": (11, _terms),
    "r1": (1.0, _number(float)),
    "r2": (0.0, _number(float)),
    "blend_with": ("foreground", _choice("foreground", "background")),
    "guide": (None, _choice("background", "reference")),
}


def parse_options(spec) -> dict[str, Any]:
    """The learned method's options, typed and checked against its registry entry (no weights loaded): every
    option of VALUES, at its default where the method lacks it or it was not given."""
    registry.check_options(spec.info, spec.opts)
    out = {}
    for option, (default, read) in VALUES.items():
        text = spec.opts.get(option)
        try:
            out[option] = default if text is None else read(option, text)
        except HarnessError as err:
            raise HarnessError(f"method '{spec.label}': {err}") from None
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


def dithered(mask: np.ndarray) -> np.ndarray:
    """A [0, 1] mask as 8 bits through PIL's convert('1') (Floyd–Steinberg), as 0/1 floats."""
    from PIL import Image

    m8 = np.clip(np.rint(mask * 255.0), 0, 255).astype(np.uint8)
    return np.asarray(Image.fromarray(m8).convert("1"), dtype=np.float32)


class LearnedMethod:
    """A registered network with its weights, behind the Method interface."""

    def __init__(self, spec, checkpoint: Path) -> None:
        import torch

        self.spec = spec
        opts = parse_options(spec)
        self.terms, self.r1, self.r2, self.blend_with = opts["terms"], opts["r1"], opts["r2"], opts["blend_with"]
        info = spec.info
        self.upsample = opts["upsample"] or info.upsample or registry.DEFAULT_UPSAMPLE
        self.raw = info.output == "raw"  # the official test script writes the network's whole image
        self.device = "cuda" if torch.cuda.is_available() else "cpu"
        if self.device == "cuda":  # full FP32 convolutions: TF32's 10-bit mantissa moves scores by ~1e-3
            torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False
        self.model, self.meta = build_from_checkpoint(spec.name, checkpoint, self.device)
        if opts["guide"] is not None:
            self.model.guide = opts["guide"]
        self.uses_reference = bool(self.model.uses_reference)
        self.resolution = int(self.model.resolution)

    def _forward(self, composite: np.ndarray, fg: np.ndarray, ref: np.ndarray) -> np.ndarray:
        import torch

        if getattr(self.model, "dither_mask", False):
            fg = dithered(fg)

        def t(a):
            a = a[..., None] if a.ndim == 2 else a
            return torch.from_numpy(np.ascontiguousarray(a.transpose(2, 0, 1)))[None].to(self.device)

        with torch.no_grad():
            if self.raw:
                out = self.model.generate(t(composite), t(fg), t(ref))
            elif (self.r1, self.r2) == (1.0, 0.0):
                out = getattr(self.model, "predict", self.model)(t(composite), t(fg), t(ref))
            else:
                second = fg if self.blend_with == "foreground" else (fg <= 0.5).astype(np.float32)
                out = self.model.harmonize_blend(t(composite), t(fg), t(ref), t(second), self.r1, self.r2)
        return out[0].permute(1, 2, 0).float().cpu().numpy()

    def way_up(self, sample) -> str:
        """How `harmonize` reaches the sample's resolution: "none" at the working resolution, else the way."""
        return "none" if sample.composite.shape[:2] == (self.resolution, self.resolution) else self.upsample

    def harmonize(self, sample) -> np.ndarray:
        from harness.data.resize import resize_image, resize_mask
        from harness.methods.highres import upsample

        if self.way_up(sample) in ("none", registry.NATIVE):  # scored as itself, as its script writes it
            return self._forward(sample.composite, sample.fg_mask, sample.ref_mask)
        r = self.resolution
        comp_low, fg_low = resize_image(sample.composite, r), resize_mask(sample.fg_mask, r)
        ref_low = resize_mask(sample.ref_mask, r)
        if not (ref_low > 0.5).any():  # a tiny reference region can vanish at 256²: keep its soft trace
            ref_low = (ref_low >= ref_low.max()).astype(np.float32)
        out_low = self._forward(comp_low, fg_low, ref_low)
        return upsample(self.upsample, sample.composite, sample.fg_mask, comp_low, out_low, fg_low,
                        composited=not self.raw, terms=self.terms)
