"""iSSAM: the improved U-Net with spatial-separated attention (released as `issam256.pth`).

Paper: Sofiiuk et al., "Foreground-aware Semantic Representations for Image Harmonization", WACV 2021
(improving the S²AM of Cun & Pun, TIP 2020). Official code: github.com/saic-vul/image_harmonization (MPL-2.0),
config `improved_ssam256` in `iharm/mconfigs/base.py`: SSAMImageHarmonization(depth=4, ch=32,
image_fusion=True, attention_mid_k=0.5, batchnorm_from=2, attend_from=2). Built from reading its layer shapes
and key names; no code copied.

- Input: the ImageNet-normalised composite and the binary mask, concatenated (4 channels).
- Encoder (`iharm/model/modeling/unet.py` UNetEncoder): `depth` down blocks, each two 3×3 ConvBlocks (ReLU;
  batch norm from block `batchnorm_from` on) then a 2×2 max-pool (not after the last). Channels ch, 2ch, …
  (capped at `max_channels`). Keys `encoder.block{0,1}.convs.block.{0,1}.block.*`,
  `encoder.blocks_connected.block{i}.*`.
- Decoder (UNetDecoder): `depth − 1` up blocks: bilinear ×2 (align_corners) + a 3×3 ConvBlock without norm
  (`upconv.1`), concatenated after the encoder output of that size, the spatial-separated attention on the
  concatenation from up block `attend_from` on, then two 3×3 ConvBlocks with batch norm (`convs`); the output
  head `to_rgb` + `conv_attention` (image fusion, baselines/ihblocks.py).
- Spatial-separated attention (`iharm/model/base/ssam_model.py`): three channel attentions (`background_gate`,
  `foreground_gate`, `mix_gate`: global average and max pools → Linear(2C → max(C/16, 8)) → ReLU → Linear
  → sigmoid, `iharm/model/ops.py` ChannelAttention); the foreground path adds a `learning_block` of two 3×3
  ConvBlocks (C → mid_k·C → C, no bias, batch norm); the mask, bilinearly resized (align_corners) and blurred
  by a fixed 7×7 Gaussian (σ 1, zero padding: `mask_blurring`, a buffer named `weight`), mixes
  m·(fg + mix) + (1 − m)·bg.
- Official parameter count: 2,185,340 (113 state-dict keys, the blur kernel among them).
- Pre/post-processing and the official file each step follows: baselines/ihblocks.py. The output is the
  network's whole image (registry `output="raw"`).
- Training (`models/fixed256/improved_ssam.py`): MaskWeightedMSE() — its default min_area 1000 —, Adam lr
  1e-3 (0.9, 0.999), XavierGluon('gaussian', magnitude=1) init.

Differences from the official code: the official initializer is applied to every module with a `weight`,
the blur's buffer included, so it re-draws that "Gaussian" kernel at random; here it stays the Gaussian for
our own training, and the released file's kernel is loaded as it is. The backbone connectors are not
reproduced; `depth`, `ch` and `attend_from` are configurable for small CPU models.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from baselines.ihblocks import ConvBlock, HarmonizationNet, image_fusion, load_official as _load, xavier_gluon_
from baselines.unet import resolve_config


@dataclass(frozen=True)
class ISSAMConfig:
    depth: int = 4  # down blocks; depth − 1 max-pools
    ch: int = 32
    max_channels: int = 512
    batchnorm_from: int = 2
    attend_from: int = 2  # first up block with the spatial-separated attention
    attention_mid_k: float = 0.5
    image_fusion: bool = True
    init_magnitude: float = 1.0  # XavierGluon magnitude of improved_ssam.py
    min_area: float = 1000.0  # MaskWeightedMSE() default, as improved_ssam.py uses it


SIZES = {"full": ISSAMConfig(),  # improved_ssam256
         "tiny": ISSAMConfig(depth=3, ch=8, attend_from=1),
         # ≈ 0.55M parameters, 3 max-pools (128² and 256² inputs): the shipped CPU checkpoint
         "small": ISSAMConfig(ch=16)}


# ----------------------------------------------------------------------------------------------- blocks
class DoubleConv(nn.Module):
    """UNetDoubleConv: two 3×3 ConvBlocks with bias; keys `block.{0,1}.block.*`."""

    def __init__(self, in_nc: int, out_nc: int, norm: bool) -> None:
        super().__init__()
        self.block = nn.Sequential(ConvBlock(in_nc, out_nc, 3, 1, 1, norm=norm, activation=nn.ReLU),
                                   ConvBlock(out_nc, out_nc, 3, 1, 1, norm=norm, activation=nn.ReLU))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.block(x)


class DownBlock(nn.Module):
    def __init__(self, in_nc: int, out_nc: int, norm: bool, pool: bool) -> None:
        super().__init__()
        self.convs = DoubleConv(in_nc, out_nc, norm)
        self.pool = pool

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(the block's output — the skip —, the next block's input)."""
        y = self.convs(x)
        return y, F.max_pool2d(y, 2, 2) if self.pool else y


class Encoder(nn.Module):
    def __init__(self, cfg: ISSAMConfig) -> None:
        super().__init__()
        chans = [min(cfg.ch * 2 ** i, cfg.max_channels) for i in range(cfg.depth)]
        self.channels = chans
        self.block0 = DownBlock(4, chans[0], cfg.batchnorm_from == 0, pool=True)
        self.block1 = DownBlock(chans[0], chans[1], cfg.batchnorm_from <= 1, pool=True)
        self.blocks_connected = nn.ModuleDict({
            f"block{i}": DownBlock(chans[i - 1], chans[i], cfg.batchnorm_from <= i, pool=i < cfg.depth - 1)
            for i in range(2, cfg.depth)})

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Every block's output, deepest first (the decoder's order)."""
        outs = []
        for block in (self.block0, self.block1, *self.blocks_connected.values()):
            y, x = block(x)
            outs.append(y)
        return outs[::-1]


class ChannelAttention(nn.Module):
    """x · sigmoid(MLP([avg-pool(x), max-pool(x)])) per channel."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        mid = max(channels // 16, 8)
        self.attention_transform = nn.Sequential(nn.Linear(2 * channels, mid), nn.ReLU(), nn.Linear(mid, channels),
                                                 nn.Sigmoid())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pooled = torch.cat([x.mean((2, 3)), x.amax((2, 3))], 1)
        return self.attention_transform(pooled)[..., None, None] * x


class GaussianBlur(nn.Module):
    """A fixed 7×7 Gaussian (σ 1, sum 1), zero padding; the kernel is a buffer called `weight` (official key)."""

    def __init__(self, size: int = 7, sigma: float = 1.0) -> None:
        super().__init__()
        x = torch.arange(size, dtype=torch.float32) - (size - 1) / 2
        g = torch.exp(-(x / sigma) ** 2 / 2) / (sigma * math.sqrt(2 * math.pi))
        kernel = g[:, None] * g[None, :]
        self.register_buffer("weight", (kernel / kernel.sum())[None, None])
        self.padding = size // 2

    def forward(self, mask: torch.Tensor) -> torch.Tensor:
        return F.conv2d(mask, self.weight, padding=self.padding)


class SpatialSeparatedAttention(nn.Module):
    def __init__(self, channels: int, mid_k: float) -> None:
        super().__init__()
        mid = int(mid_k * channels)
        self.background_gate = ChannelAttention(channels)
        self.foreground_gate = ChannelAttention(channels)
        self.mix_gate = ChannelAttention(channels)
        self.learning_block = nn.Sequential(ConvBlock(channels, mid, 3, 1, 1, activation=nn.ReLU, bias=False),
                                            ConvBlock(mid, channels, 3, 1, 1, activation=nn.ReLU, bias=False))
        self.mask_blurring = GaussianBlur()

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        m = self.mask_blurring(F.interpolate(mask, size=x.shape[-2:], mode="bilinear", align_corners=True))
        foreground = self.learning_block(self.foreground_gate(x))
        return m * (foreground + self.mix_gate(x)) + (1 - m) * self.background_gate(x)


class UpBlock(nn.Module):
    def __init__(self, in_nc: int, skip_nc: int, out_nc: int, attention: bool, mid_k: float) -> None:
        super().__init__()
        # index 0 is the (parameter-free) bilinear ×2, as in the official Sequential
        self.upconv = nn.Sequential(nn.Upsample(scale_factor=2, mode="bilinear", align_corners=True),
                                    ConvBlock(in_nc, out_nc, 3, 1, 1, norm=False, activation=nn.ReLU))
        self.convs = DoubleConv(skip_nc + out_nc, out_nc, norm=True)
        self.attention = SpatialSeparatedAttention(skip_nc + out_nc, mid_k) if attention else None

    def forward(self, x: torch.Tensor, skip: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        x = torch.cat([skip, self.upconv(x)], 1)
        if self.attention is not None:
            x = self.attention(x, mask)
        return self.convs(x)


class Decoder(nn.Module):
    def __init__(self, cfg: ISSAMConfig, enc: list[int]) -> None:
        super().__init__()
        outs = enc[::-1][1:]
        ins = [enc[-1]] + outs[:-1]
        self.up_blocks = nn.ModuleList(UpBlock(i, o, o, 0 <= cfg.attend_from <= d, cfg.attention_mid_k)
                                       for d, (i, o) in enumerate(zip(ins, outs)))
        self.conv_attention = nn.Conv2d(outs[-1], 1, 1) if cfg.image_fusion else None
        self.to_rgb = nn.Conv2d(outs[-1], 3, 1)

    def features(self, features: list[torch.Tensor], mask: torch.Tensor) -> torch.Tensor:
        """The last up block's output (what the output head reads; PCT-Net's parameter head too)."""
        x = features[0]
        for block, skip in zip(self.up_blocks, features[1:]):
            x = block(x, skip, mask)
        return x

    def forward(self, features: list[torch.Tensor], image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return image_fusion(self, self.features(features, mask), image)


# ------------------------------------------------------------------------------------------------ model
class ISSAM(HarmonizationNet):
    """`generate` = the official predictor's output (whole image); `forward` composites it (registry)."""

    def __init__(self, cfg: ISSAMConfig) -> None:
        super().__init__(cfg)
        if cfg.depth < 3:
            raise ValueError(f"depth must be at least 3, got {cfg.depth}")
        self.encoder = Encoder(cfg)
        self.decoder = Decoder(cfg, self.encoder.channels)
        xavier_gluon_(self, cfg.init_magnitude)


# ------------------------------------------------------------------------------------ official weights
def load_official(model: ISSAM, path: str | Path) -> None:
    """The released `issam256.pth` (a file, or a folder holding it), strictly."""
    _load(model, path, "issam256.pth", "released iSSAM (issam256.pth)")


# ------------------------------------------------------------------------------------------- registry
def build(size: str = "tiny", **overrides) -> ISSAM:
    """`build("full")` = improved_ssam256; "tiny" runs a 64×64 forward in milliseconds."""
    return ISSAM(resolve_config(SIZES, size, overrides))
