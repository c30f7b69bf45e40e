"""Layers shared by IPH and the baselines (baselines/ imports this module; it imports nothing of ours).

- PartialConv2d — Liu et al., "Image Inpainting for Irregular Holes Using Partial Convolutions", ECCV 2018:
  a convolution that sees only the pixels inside a mask, renormalised by how much of each window the mask
  covers, and that returns the updated mask (1 wherever the window saw any valid pixel).
- AdaIN — Huang & Belongie, "Arbitrary Style Transfer in Real-time with Adaptive Instance Normalization", ICCV
  2017: instance-normalise the features, then scale and shift them by an affine map of a style code. IPH's
  decoder uses it to inject the reference region's style (Fig. 2 of the paper).
- ResBlock / AdaINResBlock — pre-activation residual blocks (He et al. 2016), plain and style-driven.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class PartialConv2d(nn.Conv2d):
    """Mask-aware convolution. `forward(x, mask) -> (y, new_mask)`.

    `mask` is N×1×H×W (or N×C×H×W with `multi_channel=True`) in [0, 1]. Inside windows that saw no valid
    pixel the output is 0 (bias included), as in the reference implementation, so nothing leaks in from
    outside the region. The all-ones kernel that counts valid pixels is a non-persistent buffer: official
    state dicts (Bargain-Net's `latest_net_E.pth`, Dove-Net's discriminator) have no key for it.
    """

    def __init__(self, *args, multi_channel: bool = False, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.multi_channel = multi_channel
        kh, kw = self.kernel_size
        mask_in = self.in_channels if multi_channel else 1
        self.register_buffer("weight_maskUpdater", torch.ones(1, mask_in, kh, kw), persistent=False)
        self.slide_winsize = float(mask_in * kh * kw)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:  # type: ignore[override]
        with torch.no_grad():
            ones = self.weight_maskUpdater.to(dtype=mask.dtype)
            covered = F.conv2d(mask, ones, None, self.stride, self.padding, self.dilation)
            ratio = self.slide_winsize / (covered + 1e-8)
            new_mask = covered.clamp(0.0, 1.0)
            ratio = ratio * new_mask
        raw = F.conv2d(x * mask, self.weight, None, self.stride, self.padding, self.dilation, self.groups)
        out = raw * ratio
        if self.bias is not None:
            out = out + self.bias.view(1, -1, 1, 1)
        return out * new_mask, new_mask


def _act() -> nn.Module:
    return nn.LeakyReLU(0.2, inplace=False)


class AdaIN(nn.Module):
    """`forward(x, style) -> (x - μ(x)) / σ(x) · (1 + γ(style)) + β(style)`, per sample and channel.

    γ and β come from one linear map of the N×D style code. The scale is written as 1 + γ so that a zero
    style (or a freshly initialised map) is close to plain instance normalisation.
    """

    def __init__(self, channels: int, style_dim: int, eps: float = 1e-5) -> None:
        super().__init__()
        self.norm = nn.InstanceNorm2d(channels, affine=False, eps=eps)
        self.affine = nn.Linear(style_dim, 2 * channels)

    def forward(self, x: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        gamma, beta = self.affine(style).chunk(2, dim=1)
        return self.norm(x) * (1.0 + gamma[:, :, None, None]) + beta[:, :, None, None]


class ResBlock(nn.Module):
    """x + conv(act(IN(conv(act(IN(x)))))) with 3×3 convolutions, channels kept.

    The identity path carries the un-normalised features, so absolute colour survives the block (which a
    harmonizer needs: it must know how far the foreground is from the target).
    """

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.InstanceNorm2d(channels), _act(), nn.Conv2d(channels, channels, 3, padding=1),
            nn.InstanceNorm2d(channels), _act(), nn.Conv2d(channels, channels, 3, padding=1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class AdaINResBlock(nn.Module):
    """As `ResBlock`, with both normalisations replaced by AdaIN driven by the style code."""

    def __init__(self, channels: int, style_dim: int) -> None:
        super().__init__()
        self.norm1 = AdaIN(channels, style_dim)
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1)
        self.norm2 = AdaIN(channels, style_dim)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1)
        self.act = _act()

    def forward(self, x: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        h = self.conv1(self.act(self.norm1(x, style)))
        h = self.conv2(self.act(self.norm2(h, style)))
        return x + h
