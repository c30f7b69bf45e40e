"""Layers shared by IPH and the baselines (baselines/ imports this module; it imports nothing of ours).

- PartialConv2d — Liu et al., "Image Inpainting for Irregular Holes Using Partial Convolutions", ECCV 2018:
  a convolution that sees only the pixels inside a mask, renormalised by how much of each window the mask
  covers, and that returns the updated mask (1 wherever the window saw any valid pixel).
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
