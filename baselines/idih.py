"""iDIH: the improved Deep Image Harmonization encoder-decoder (released as `idih256.pth`).

Paper: Sofiiuk et al., "Foreground-aware Semantic Representations for Image Harmonization", WACV 2021 (the
"improved DIH" baseline of Tsai et al., CVPR 2017). Official code: github.com/saic-vul/image_harmonization
(MPL-2.0), config `improved_dih256` in `iharm/mconfigs/base.py`: DeepImageHarmonization(depth=7,
batchnorm_from=2, image_fusion=True). Built from reading its layer shapes and key names; no code copied.

- Input: the ImageNet-normalised composite and the binary mask, concatenated (4 channels).
- Encoder (`iharm/model/modeling/conv_autoencoder.py` ConvEncoder): `depth` ConvBlocks (4×4, stride 2,
  ELU; batch norm from block `batchnorm_from` on). block0: 4 → ch, block1: ch → ch, then blocks 2..depth−1
  double the channels on even blocks (capped at `max_channels`) and keep them on odd ones; the last block
  has no padding (256² → 1×1 at depth 7). Keys `encoder.block0.*`, `encoder.block1.*`,
  `encoder.blocks_connected.block{i}.*`.
- Decoder (ConvDecoder → `DeconvDecoder`): `depth` transposed 4×4 stride-2 convs (with bias) + batch norm
  + ELU, the first unpadded; each but the last adds the mirrored encoder output; channels follow the
  encoder's back, the last halves them. Keys `decoder.deconv_blocks.{d}.block.{0,1}.*`; the output head
  `decoder.to_rgb` (1×1 → 3) and `decoder.conv_attention` (1×1 → 1: image fusion, baselines/ihblocks.py).
- Official parameter count: 8,301,284 (92 state-dict keys).
- Pre/post-processing and the official file each step follows: baselines/ihblocks.py (`predict_for_dir.py`,
  `predictor.py`, `transforms.py`). The output is the network's whole image (registry `output="raw"`).
- Training (`models/fixed256/improved_dih.py`): MaskWeightedMSE(min_area=100) in the normalised space,
  Adam lr 1e-3 (0.9, 0.999), XavierGluon('gaussian', magnitude=2) init.

Differences from the official code: the optional squeeze-excitation decoder blocks (`attend_from`, used only
by `improved_sedih`) and the backbone connectors (the HRNet/DeepLab variants) are not reproduced; `depth` and
the widths are configurable so that small CPU models exist (tiny: 64² in milliseconds).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from baselines.ihblocks import ConvBlock, HarmonizationNet, image_fusion, load_official as _load, xavier_gluon_
from baselines.unet import resolve_config


@dataclass(frozen=True)
class IDIHConfig:
    depth: int = 7  # stride-2 blocks: 256 → 1 at the bottleneck
    ch: int = 64
    max_channels: int = 512
    batchnorm_from: int = 2
    image_fusion: bool = True
    init_magnitude: float = 2.0  # XavierGluon magnitude of improved_dih.py
    min_area: float = 100.0  # MaskWeightedMSE(min_area=100) of improved_dih.py


SIZES = {"full": IDIHConfig(),  # improved_dih256
         "tiny": IDIHConfig(depth=5, ch=8, max_channels=32),
         # ≈ 1.0M parameters, 6 stride-2 blocks (128² → 1×1): the shipped CPU checkpoint
         "small": IDIHConfig(depth=6, ch=32, max_channels=256)}


# ----------------------------------------------------------------------------------------------- blocks
def encoder_channels(cfg: IDIHConfig) -> list[int]:
    """Output channels of block0..block{depth−1}: ch, ch, then ×2 (capped) on even blocks."""
    chans = [cfg.ch, cfg.ch]
    for i in range(2, cfg.depth):
        chans.append(min(2 * chans[-1], cfg.max_channels) if i % 2 == 0 else chans[-1])
    return chans


class Encoder(nn.Module):
    def __init__(self, cfg: IDIHConfig) -> None:
        super().__init__()
        chans = encoder_channels(cfg)
        self.block0 = ConvBlock(4, chans[0], norm=cfg.batchnorm_from == 0)
        self.block1 = ConvBlock(chans[0], chans[1], norm=cfg.batchnorm_from <= 1)
        self.blocks_connected = nn.ModuleDict({
            f"block{i}": ConvBlock(chans[i - 1], chans[i], norm=cfg.batchnorm_from <= i,
                                   padding=int(i < cfg.depth - 1))
            for i in range(2, cfg.depth)})

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Every block's output, deepest first (the decoder's order)."""
        outs = [self.block0(x)]
        outs.append(self.block1(outs[-1]))
        for block in self.blocks_connected.values():
            outs.append(block(outs[-1]))
        return outs[::-1]


class DeconvBlock(nn.Module):
    """Transposed 4×4 stride-2 conv (with bias) → batch norm → ELU; keys `block.0.*`, `block.1.*`."""

    def __init__(self, in_nc: int, out_nc: int, padding: int) -> None:
        super().__init__()
        self.block = nn.Sequential(nn.ConvTranspose2d(in_nc, out_nc, 4, 2, padding), nn.BatchNorm2d(out_nc), nn.ELU())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.block(x)


class Decoder(nn.Module):
    def __init__(self, cfg: IDIHConfig) -> None:
        super().__init__()
        enc = encoder_channels(cfg)
        chans = enc[::-1][1:] + [enc[0] // 2]  # mirrored encoder channels, then half of the first block's
        ins = [enc[-1]] + chans[:-1]
        self.deconv_blocks = nn.ModuleList(DeconvBlock(i, o, padding=0 if d == 0 else 1)
                                           for d, (i, o) in enumerate(zip(ins, chans)))
        self.conv_attention = nn.Conv2d(chans[-1], 1, 1) if cfg.image_fusion else None
        self.to_rgb = nn.Conv2d(chans[-1], 3, 1)

    def forward(self, features: list[torch.Tensor], image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        x = features[0]
        for block, skip in zip(self.deconv_blocks[:-1], features[1:]):
            x = block(x) + skip
        return image_fusion(self, self.deconv_blocks[-1](x), image)


# ------------------------------------------------------------------------------------------------ model
class IDIH(HarmonizationNet):
    """`generate` = the official predictor's output (whole image); `forward` composites it (registry)."""

    def __init__(self, cfg: IDIHConfig) -> None:
        super().__init__(cfg)
        if cfg.depth < 3:
            raise ValueError(f"depth must be at least 3, got {cfg.depth}")
        self.encoder = Encoder(cfg)
        self.decoder = Decoder(cfg)
        xavier_gluon_(self, cfg.init_magnitude)


# ------------------------------------------------------------------------------------ official weights
def load_official(model: IDIH, path: str | Path) -> None:
    """The released `idih256.pth` (a file, or a folder holding it), strictly."""
    _load(model, path, "idih256.pth", "released iDIH (idih256.pth)")


# ------------------------------------------------------------------------------------------- registry
def build(size: str = "tiny", **overrides) -> IDIH:
    """`build("full")` = improved_dih256; "tiny" runs a 64×64 forward in milliseconds."""
    return IDIH(resolve_config(SIZES, size, overrides))
