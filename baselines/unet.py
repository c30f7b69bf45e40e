"""The pix2pix attention U-Net generator shared by Dove-Net and Bargain-Net, plus the small helpers the three
baseline families share (input checks, range conversion, compositing, weight init, strict checkpoint loading).

Paper: Isola et al., "Image-to-Image Translation with Conditional Adversarial Networks" (pix2pix), CVPR 2017,
with the attention skips of Cong et al., "DoveNet: Deep Image Harmonization via Domain Verification", CVPR 2020.
Official code: github.com/bcmi/Image-Harmonization-Dataset-iHarmony4 (DoveNet/models/networks.py, netG "s2ad")
and github.com/bcmi/BargainNet-Image-Harmonization (models/bargainnet_model.py). Built from the architecture
facts in the project notes; no code copied.

Layout (module names reproduce the official state-dict keys exactly, so an official `latest_net_G.pth` loads
with a plain strict `load_state_dict` into `AttentionUNet`):

    model                       outermost block: [Conv0, sub1, ReLU2, ConvT3 (with bias), Tanh4]
    model.model.1               middle block:    [LReLU0, Conv1, BN2, sub3, ReLU4, ConvT5, BN6, (Dropout7)]
    ...                         innermost block: [LReLU0, Conv1, ReLU2, ConvT3, BN4]
    <block>.attention           [Conv1×1 (C→C, bias), Sigmoid] on the three outermost skips, C = 2·outer

Every non-outermost block returns cat([x, block(x)]) (times its sigmoid attention where it has one). With
batch norm the convolutions carry no bias (the official `use_bias` rule). Dropout(0.5) sits in the
num_downs − 5 middle blocks at ngf·8 channels.

Differences from the official code: the norm is always batch norm (the released Dove-/Bargain-Net weights
use it; the instance-norm option of the pix2pix code is not reproduced), and `num_downs` may be as low as 5
so that small test configurations fit 64×64 images.
"""

from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import torch
from torch import nn


@dataclass(frozen=True)
class UNetConfig:
    input_nc: int = 4  # composite RGB + mask (Dove-Net); Bargain-Net uses 4 + 16 code channels
    output_nc: int = 3
    num_downs: int = 8  # 8 → a 256×256 input reaches 1×1 at the bottleneck
    ngf: int = 64  # channels after the first conv; capped at ngf·8 deeper down
    use_dropout: bool = True  # Dropout(0.5) in the ngf·8 middle blocks (official `not opt.no_dropout`)
    use_attention: bool = True  # 1×1-conv + sigmoid gates on the three outermost skips ("s2ad")


# ----------------------------------------------------------------------------------------------- blocks
class UnetSkipBlock(nn.Module):
    """One U-Net level: down-sample, run the inner levels, up-sample, concatenate the skip.

    The layers live in `self.model` (an nn.Sequential) in the official order so the indices in the
    state-dict keys match; `self.attention` exists only where the official block has one.
    """

    def __init__(self, outer_nc: int, inner_nc: int, input_nc: int | None = None,
                 submodule: nn.Module | None = None, outermost: bool = False, innermost: bool = False,
                 use_dropout: bool = False, use_attention: bool = False) -> None:
        super().__init__()
        self.outermost = outermost
        input_nc = outer_nc if input_nc is None else input_nc
        down = nn.Conv2d(input_nc, inner_nc, kernel_size=4, stride=2, padding=1, bias=False)
        if outermost:
            assert submodule is not None
            up = nn.ConvTranspose2d(inner_nc * 2, outer_nc, kernel_size=4, stride=2, padding=1)
            layers: list[nn.Module] = [down, submodule, nn.ReLU(True), up, nn.Tanh()]
        elif innermost:
            up = nn.ConvTranspose2d(inner_nc, outer_nc, kernel_size=4, stride=2, padding=1, bias=False)
            layers = [nn.LeakyReLU(0.2, True), down, nn.ReLU(True), up, nn.BatchNorm2d(outer_nc)]
        else:
            assert submodule is not None
            up = nn.ConvTranspose2d(inner_nc * 2, outer_nc, kernel_size=4, stride=2, padding=1, bias=False)
            layers = [nn.LeakyReLU(0.2, True), down, nn.BatchNorm2d(inner_nc), submodule,
                      nn.ReLU(True), up, nn.BatchNorm2d(outer_nc)]
            if use_dropout:
                layers.append(nn.Dropout(0.5))
        self.model = nn.Sequential(*layers)
        self.use_attention = use_attention and not outermost
        if self.use_attention:
            skip_nc = outer_nc + input_nc  # channels after cat([x, up(x)])
            self.attention = nn.Sequential(nn.Conv2d(skip_nc, skip_nc, kernel_size=1), nn.Sigmoid())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.outermost:
            return self.model(x)
        out = torch.cat([x, self.model(x)], 1)
        return self.attention(out) * out if self.use_attention else out


# ------------------------------------------------------------------------------------------------ model
def build_unet(cfg: UNetConfig) -> UnetSkipBlock:
    """The outermost block with all inner levels nested inside it (built innermost first)."""
    if cfg.num_downs < 5:
        raise ValueError(f"num_downs must be at least 5 (three attention levels + innermost), got {cfg.num_downs}")
    ngf = cfg.ngf
    block = UnetSkipBlock(ngf * 8, ngf * 8, innermost=True)
    for _ in range(cfg.num_downs - 5):
        block = UnetSkipBlock(ngf * 8, ngf * 8, submodule=block, use_dropout=cfg.use_dropout)
    for outer, inner in ((ngf * 4, ngf * 8), (ngf * 2, ngf * 4), (ngf, ngf * 2)):
        block = UnetSkipBlock(outer, inner, submodule=block, use_attention=cfg.use_attention)
    return UnetSkipBlock(cfg.output_nc, ngf, input_nc=cfg.input_nc, submodule=block, outermost=True)


class AttentionUNet(nn.Module):
    """The Dove-Net generator: `forward(x)` maps N×input_nc×H×W (images in [-1, 1]) to N×3×H×W in [-1, 1]."""

    def __init__(self, cfg: UNetConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.model = build_unet(cfg)  # attribute name gives the official `model.model.*` keys

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


# ---------------------------------------------------------------------------------------------- helpers
def init_weights(module: nn.Module, gain: float = 0.02) -> None:
    """The pix2pix 'normal' init used by all three official repos: conv weights N(0, gain), biases 0,
    batch-norm weights N(1, gain). Other parameters (e.g. RAIN's γ/β) keep their own init."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.normal_(m.weight, 0.0, gain)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.normal_(m.weight, 1.0, gain)
            nn.init.zeros_(m.bias)


def check_inputs(composite: torch.Tensor, fg_mask: torch.Tensor, ref_mask: torch.Tensor, multiple: int) -> None:
    """Shapes the registry contract promises; H and W must be divisible by 2**num_downs."""
    if composite.ndim != 4 or composite.shape[1] != 3:
        raise ValueError(f"composite must be N×3×H×W, got {tuple(composite.shape)}")
    n, _, h, w = composite.shape
    for name, m in (("fg_mask", fg_mask), ("ref_mask", ref_mask)):
        if tuple(m.shape) != (n, 1, h, w):
            raise ValueError(f"{name} must be {n}×1×{h}×{w}, got {tuple(m.shape)}")
    if h % multiple or w % multiple:
        raise ValueError(f"image size {h}×{w} must be divisible by {multiple} for this network")


def to_pm1(x: torch.Tensor) -> torch.Tensor:
    """[0, 1] → [-1, 1], the official Normalize(0.5, 0.5)."""
    return x * 2.0 - 1.0


def from_pm1(x: torch.Tensor) -> torch.Tensor:
    """[-1, 1] → [0, 1], clamped (the official tensor2im clips too)."""
    return ((x + 1.0) * 0.5).clamp(0.0, 1.0)


def composite_over(output: torch.Tensor, composite: torch.Tensor, fg_mask: torch.Tensor) -> torch.Tensor:
    """Keep the network's pixels inside the foreground only: out·m + composite·(1 − m)."""
    return output * fg_mask + composite * (1.0 - fg_mask)


C = TypeVar("C")


def _did_you_mean(name: str, known) -> str:
    close = difflib.get_close_matches(name, list(known), n=3, cutoff=0.5)
    return f" Did you mean: {', '.join(close)}?" if close else ""


def resolve_config(sizes: Mapping[str, C], size: str, overrides: Mapping[str, Any]) -> C:
    """`sizes[size]` with `overrides` applied; ValueError naming the known sizes/fields otherwise."""
    if size not in sizes:
        raise ValueError(f"unknown size '{size}'.{_did_you_mean(size, sizes)} Known: {', '.join(sizes)}")
    cfg = sizes[size]
    fields = {f.name for f in dataclasses.fields(cfg)}  # type: ignore[arg-type]
    unknown = sorted(set(overrides) - fields)
    if unknown:
        raise ValueError(f"unknown option(s) {', '.join(unknown)}.{_did_you_mean(unknown[0], fields)} "
                         f"Known: {', '.join(sorted(fields))}")
    return dataclasses.replace(cfg, **overrides)  # type: ignore[type-var]


def load_state_dict_file(module: nn.Module, path: str | Path, what: str) -> None:
    """Load an official checkpoint into `module` strictly, without unpickling arbitrary objects.

    Every key must match in name and shape; otherwise a ValueError names the file and lists the missing,
    unexpected and mis-shaped keys. A uniform "module." prefix (a DataParallel save) is removed first.
    """
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{path}: {what} checkpoint not found")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # UnpicklingError for foreign objects, RuntimeError for non-torch files
        raise ValueError(f"{path.name}: cannot read as a weights-only torch file ({type(err).__name__}: "
                         f"{str(err).splitlines()[0] if str(err) else ''})") from err
    if not isinstance(state, Mapping) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ValueError(f"{path.name}: expected a flat state dict of tensors for {what}")
    if state and all(k.startswith("module.") for k in state):
        state = {k[len("module."):]: v for k, v in state.items()}
    own = module.state_dict()
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    wrong = sorted(f"{k} (file {tuple(state[k].shape)}, model {tuple(own[k].shape)})"
                   for k in set(own) & set(state) if state[k].shape != own[k].shape)
    if missing or unexpected or wrong:
        def show(keys: list[str]) -> str:
            return ", ".join(keys[:8]) + (f" … (+{len(keys) - 8} more)" if len(keys) > 8 else "")
        parts = [f"{label} {len(keys)}: {show(keys)}" for label, keys in
                 (("missing keys", missing), ("unexpected keys", unexpected), ("shape mismatches", wrong)) if keys]
        raise ValueError(f"{path.name}: not a {what} state dict for this configuration; " + "; ".join(parts))
    module.load_state_dict(state, strict=True)
