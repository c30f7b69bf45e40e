"""Rain-Net: a U-Net harmonizer with region-aware adaptive instance normalisation (RAIN) in the decoder.

Paper: Ling et al., "Region-aware Adaptive Instance Normalization for Image Harmonization", CVPR 2021.
Official code: github.com/junleen/RainNet (models/networks.py, models/normalize.py, util/config.py). Built
from the architecture facts in the project notes; no code copied.

- Input: the composite RGB only (3 channels, [-1, 1]); the foreground mask enters only through RAIN.
- Encoder: bias-free 4×4 stride-2 convs, ngf 64 → 128 → 256 → 512 (`model_layer0..3`), then four nested
  codec blocks at 512 (`unet_block`, `unet_block.submodule`, …). Every encoder norm is InstanceNorm
  (affine=False, so it has no state-dict keys); the innermost block has none.
- Decoder: ReLU + 4×4 stride-2 transposed convs; RAIN after every one of the seven (the four codec `upnorm`s
  and `model_layer1{1,2,3}norm`); dropout(0.5) after the three non-innermost codec blocks' RAIN; 1×1-conv +
  sigmoid attention on the three outer skip concatenations (`model_layer1{1,2,3}att`, 512/256/128 channels);
  `model_out` = ReLU, ConvT(128→3, with bias), Tanh. ≈ 54.76M parameters.
- RAIN, per channel c with the mask m nearest-resized to the feature map:
      μ_b, σ_b = mean and std of x over the background (1 − m);  μ_f, σ_f over the foreground (m)
      out = m·[((x − μ_f)/σ_f · σ_b + μ_b)·(1 + γ_f) + β_f]
            + (1 − m)·[(x − μ_b)/σ_b · (1 + γ_b) + β_b]
  i.e. the foreground is re-normalised to the background's statistics; γ/β are zero-initialised, so at
  initialisation the background is instance-normalised and the foreground takes its mean and std.
  Means and variances divide by (count + 1e-5) and σ = sqrt(var + 1e-5), as officially.
- Training (official): L1·100 on the composited output + Dove-Net's hinge GAN / verification losses with an
  instance-norm discriminator (`make_discriminator`, losses in baselines/dovenet.py).

Differences from the official code:
- `forward` returns pred·m + composite·(1 − m). That is also what the official test script scores
  (`processImage`), so this matches the published protocol.
- Evaluate in eval mode. The official test script never calls `eval()`, so its dropout was active (the
  instance norms and RAIN have no running statistics, so dropout is the only difference).
- The number of codec blocks is configurable (official 4, for 256×256) so that tiny test models fit 64×64.
  The unused outermost/attention options of the official codec block are not reproduced.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from baselines.dovenet import DomainVerificationDiscriminator
from baselines.unet import (check_inputs, composite_over, from_pm1, init_weights, load_state_dict_file,
                            resolve_config, to_pm1)


@dataclass(frozen=True)
class RainNetConfig:
    ngf: int = 64
    n_codec: int = 4  # codec blocks at ngf·8 after the four explicit encoder layers: 4 + 4 = 8 down-samplings
    use_dropout: bool = True  # official config: no_dropout = False
    use_attention: bool = True
    # discriminator (training only): Dove-Net's, with instance norm
    ndf: int = 64
    d_strided: int = 6


SIZES = {"full": RainNetConfig(), "tiny": RainNetConfig(ngf=8, n_codec=2, ndf=8, d_strided=4),
           # 1.03M parameters, 7 down-samplings (128² and 256² inputs): the shipped CPU checkpoint
           "small": RainNetConfig(ngf=10, n_codec=3, ndf=16, d_strided=5)}


# ----------------------------------------------------------------------------------------------- blocks
def _instance_norm(channels: int) -> nn.Module:
    return nn.InstanceNorm2d(channels, affine=False, track_running_stats=False)


def _down(in_nc: int, out_nc: int) -> nn.Sequential:
    return nn.Sequential(nn.LeakyReLU(0.2, True), nn.Conv2d(in_nc, out_nc, 4, 2, 1, bias=False))


def _up(in_nc: int, out_nc: int) -> nn.Sequential:
    return nn.Sequential(nn.ReLU(True), nn.ConvTranspose2d(in_nc, out_nc, 4, 2, 1, bias=False))


def _attention(channels: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(channels, channels, kernel_size=1), nn.Sigmoid())


class RAIN(nn.Module):
    """Region-aware adaptive instance norm: `forward(x, mask)`, mask N×1×h×w at any resolution."""

    def __init__(self, channels: int, eps: float = 1e-5) -> None:
        super().__init__()
        self.foreground_gamma = nn.Parameter(torch.zeros(channels))
        self.foreground_beta = nn.Parameter(torch.zeros(channels))
        self.background_gamma = nn.Parameter(torch.zeros(channels))
        self.background_beta = nn.Parameter(torch.zeros(channels))
        self.eps = eps

    def _stats(self, x: torch.Tensor, region: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        count = region.sum(dim=(2, 3), keepdim=True) + self.eps
        mean = (x * region).sum(dim=(2, 3), keepdim=True) / count
        var = ((x - mean) * region).square().sum(dim=(2, 3), keepdim=True) / count
        return mean, (var + self.eps).sqrt()

    def forward(self, x: torch.Tensor, mask: torch.Tensor, guide: torch.Tensor | None = None) -> torch.Tensor:
        """`guide` (optional) replaces the background as the region whose statistics the foreground is
        normalised to — the IPH paper's guide-mask protocol; None = the background (1 − mask), as trained."""
        m = F.interpolate(mask.detach(), size=x.shape[2:], mode="nearest")
        region = 1.0 - m if guide is None else F.interpolate(guide.detach(), size=x.shape[2:], mode="nearest")
        mu_b, sd_b = self._stats(x, region)
        mu_f, sd_f = self._stats(x, m)
        view = (1, -1, 1, 1)
        bg = (x - mu_b) / sd_b * (1 + self.background_gamma.view(view)) + self.background_beta.view(view)
        fg = ((x - mu_f) / sd_f * sd_b + mu_b) * (1 + self.foreground_gamma.view(view)) \
            + self.foreground_beta.view(view)
        return fg * m + bg * (1.0 - m)


class CodecBlock(nn.Module):
    """A nested U-Net level at constant width: returns cat([x, RAIN(up(inner(IN(down(x)))))]).

    Innermost: `up` = [LReLU, Conv, ReLU, ConvT] and no encoder norm. Otherwise `down` = [LReLU, Conv],
    `downnorm` = InstanceNorm, `submodule`, `up` = [ReLU, ConvT], `upnorm` = RAIN, optional dropout.
    """

    def __init__(self, channels: int, submodule: CodecBlock | None = None, use_dropout: bool = False) -> None:
        super().__init__()
        self.innermost = submodule is None
        if self.innermost:
            self.up = nn.Sequential(nn.LeakyReLU(0.2, True), nn.Conv2d(channels, channels, 4, 2, 1, bias=False),
                                    nn.ReLU(True), nn.ConvTranspose2d(channels, channels, 4, 2, 1, bias=False))
        else:
            self.down = _down(channels, channels)
            self.downnorm = _instance_norm(channels)
            self.submodule = submodule
            self.up = _up(channels * 2, channels)
        self.upnorm = RAIN(channels)
        self.dropout = nn.Dropout(0.5) if use_dropout and not self.innermost else None

    def forward(self, x: torch.Tensor, mask: torch.Tensor, guide: torch.Tensor | None = None) -> torch.Tensor:
        if self.innermost:
            y = self.upnorm(self.up(x), mask, guide)
        else:
            y = self.submodule(self.downnorm(self.down(x)), mask, guide)
            y = self.upnorm(self.up(y), mask, guide)
            if self.dropout is not None:
                y = self.dropout(y)
        return torch.cat([x, y], 1)


# ------------------------------------------------------------------------------------------------ model
class RainNetGenerator(nn.Module):
    """`forward(x, mask)`: composite in [-1, 1] (N×3×H×W) and mask in {0, 1} → N×3×H×W in [-1, 1]."""

    def __init__(self, cfg: RainNetConfig) -> None:
        super().__init__()
        if cfg.n_codec < 1:
            raise ValueError(f"n_codec must be at least 1, got {cfg.n_codec}")
        ngf, self.use_attention = cfg.ngf, cfg.use_attention
        self.model_layer0 = nn.Conv2d(3, ngf, 4, 2, 1, bias=False)
        self.model_layer1, self.model_layer1norm = _down(ngf, ngf * 2), _instance_norm(ngf * 2)
        self.model_layer2, self.model_layer2norm = _down(ngf * 2, ngf * 4), _instance_norm(ngf * 4)
        self.model_layer3, self.model_layer3norm = _down(ngf * 4, ngf * 8), _instance_norm(ngf * 8)
        block = CodecBlock(ngf * 8)
        for _ in range(cfg.n_codec - 1):
            block = CodecBlock(ngf * 8, submodule=block, use_dropout=cfg.use_dropout)
        self.unet_block = block
        self.model_layer11, self.model_layer11norm = _up(ngf * 16, ngf * 4), RAIN(ngf * 4)
        self.model_layer12, self.model_layer12norm = _up(ngf * 8, ngf * 2), RAIN(ngf * 2)
        self.model_layer13, self.model_layer13norm = _up(ngf * 4, ngf), RAIN(ngf)
        if cfg.use_attention:
            self.model_layer11att = _attention(ngf * 8)
            self.model_layer12att = _attention(ngf * 4)
            self.model_layer13att = _attention(ngf * 2)
        self.model_out = nn.Sequential(nn.ReLU(True), nn.ConvTranspose2d(ngf * 2, 3, 4, 2, 1), nn.Tanh())

    def forward(self, x: torch.Tensor, mask: torch.Tensor, guide: torch.Tensor | None = None) -> torch.Tensor:
        x0 = self.model_layer0(x)
        x1 = self.model_layer1norm(self.model_layer1(x0))
        x2 = self.model_layer2norm(self.model_layer2(x1))
        x3 = self.model_layer3norm(self.model_layer3(x2))
        y = self.unet_block(x3, mask, guide)
        for skip, i in ((x2, 1), (x1, 2), (x0, 3)):
            y = getattr(self, f"model_layer1{i}norm")(getattr(self, f"model_layer1{i}")(y), mask, guide)
            y = torch.cat([skip, y], 1)
            if self.use_attention:
                y = getattr(self, f"model_layer1{i}att")(y) * y
        return self.model_out(y)


class RainNet(nn.Module):
    """Harmonizer: `forward(composite, fg_mask, ref_mask)`. RAIN normalises the foreground to the whole
    background's statistics and ref_mask is unused — unless `guide = "reference"`, the IPH paper's guide-mask
    protocol: the same weights, the reference region's statistics in place of the background's."""

    resolution = 256

    def __init__(self, cfg: RainNetConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.input_multiple = 2 ** (4 + cfg.n_codec)  # four encoder layers and n_codec codec blocks, each halving
        self.guide = "background"  # or "reference" (set by the harness's `rainnet:guide=reference`)
        self.generator = RainNetGenerator(cfg)
        init_weights(self.generator)

    @property
    def uses_reference(self) -> bool:
        return self.guide == "reference"

    def generate(self, composite: torch.Tensor, fg_mask: torch.Tensor, ref_mask: torch.Tensor) -> torch.Tensor:
        """The raw full-image output in [0, 1] (the official trainer's L1 and GAN losses use it)."""
        check_inputs(composite, fg_mask, ref_mask, self.input_multiple)
        guide = ref_mask if self.guide == "reference" else None
        return from_pm1(self.generator(to_pm1(composite), fg_mask, guide))

    def forward(self, composite: torch.Tensor, fg_mask: torch.Tensor, ref_mask: torch.Tensor) -> torch.Tensor:
        return composite_over(self.generate(composite, fg_mask, ref_mask), composite, fg_mask)

    def make_discriminator(self) -> DomainVerificationDiscriminator:
        """Rain-Net's training discriminator: Dove-Net's, with instance norm (official `normD`). Train with
        `baselines.dovenet.discriminator_loss` / `generator_loss` on the composited `forward` output."""
        return DomainVerificationDiscriminator(3, self.cfg.ndf, self.cfg.d_strided, norm="instance")


# ------------------------------------------------------------------------------------ official weights
def load_official(model: RainNet, path: str | Path) -> None:
    """Load the released `net_G_last.pth` (a file, or a folder holding it) strictly into the generator.
    (Use net_G_last.pth, not net_G.pth; the official loader silently skipped mismatched keys.)"""
    path = Path(path)
    if path.is_dir():
        path = path / "net_G_last.pth"
    load_state_dict_file(model.generator, path, "Rain-Net generator (net_G_last.pth)")


# ------------------------------------------------------------------------------------------- registry
def build(size: str = "tiny", **overrides) -> RainNet:
    """`build("full")` = the published configuration; "tiny" runs a 64×64 forward in milliseconds."""
    return RainNet(resolve_config(SIZES, size, overrides))
