"""Bargain-Net and its interactive variant Bargain-Net (R).

Paper: Cong et al., "BargainNet: Background-Guided Domain Translation for Image Harmonization", ICME 2021.
Official code: github.com/bcmi/BargainNet-Image-Harmonization (models/bargainnet_model.py). Built from the
architecture facts in the project notes; no code copied. Bargain-Net (R) is the fair interactive variant of
the IPH paper (Valanarasu et al., ICLR 2023): the same network with the domain code taken from the user's
reference region instead of the whole background.

- Domain-code extractor E: five 3×3 stride-2 unpadded partial convolutions 3→64→128→256→512→512 (bias on
  the first only), batch norm after convs 2–4, ReLU after convs 1–4, global average pooling, 1×1 conv to a 16-d
  code. The region mask goes through the partial convs, so pixels outside the region never reach the code.
  ≈ 3.92M parameters. Keys `conv{1..5}f.*`, `norm{2,3,4}f.*`, `convs.*` (official `latest_net_E.pth`).
- Generator G: the Dove-Net attention U-Net (baselines/unet.py) with a 20-channel input: composite RGB and
  mask, then the 16-d code tiled over the image and scaled by a learnable scalar `weight` (init 0.1, clamped
  at ≥ 0.001 in the forward pass). ≈ 54.78M parameters. Keys `weight` + `model.model.*` (`latest_net_G.pth`).
- Training: L1 on the raw output + 0.01·[triplet(z_f(real), z_f(harmonized), z_f(composite)) +
  triplet(z_f(harmonized), z_region(real), z_f(composite))], margin 0.1.

Differences from the official code:
- `forward` returns the output composited over the input with the foreground mask (only the foreground
  changes); the official test script scores the raw full-image output.
- Evaluate in eval mode. The official test command omits `--eval`, so its numbers come from train-mode batch
  norm (batch-1 statistics) with dropout on.
- The official extractor is fed the ground-truth image's background at test time; here it is fed the
  composite, whose background (and reference region) equals the ground truth's by construction.
- The extractor's average pooling is the official plain mean over the whole final map (zeros outside the
  region included), not a masked mean.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from baselines.unet import (AttentionUNet, UNetConfig, check_inputs, composite_over, from_pm1, init_weights,
                            load_state_dict_file, resolve_config, to_pm1)
from iph.layers import PartialConv2d


@dataclass(frozen=True)
class BargainNetConfig:
    num_downs: int = 8
    ngf: int = 64
    use_dropout: bool = True
    ndf: int = 64  # extractor width: ndf, 2ndf, 4ndf, 8ndf, 8ndf
    style_dim: int = 16  # domain-code size
    use_reference: bool = False  # False: code from the whole background; True: Bargain-Net (R)
    lambda_tri: float = 0.01
    margin: float = 0.1


SIZES = {"full": BargainNetConfig(), "tiny": BargainNetConfig(num_downs=6, ngf=8, ndf=8),
           # ≈1.1M parameters, 7 down-samplings (128² and 256² inputs): the shipped CPU checkpoints
           "small": BargainNetConfig(num_downs=7, ngf=10, ndf=8)}


# ----------------------------------------------------------------------------------------------- blocks
class DomainCodeExtractor(nn.Module):
    """`forward(image, region)` → N×style_dim×1×1 code of the image inside `region`; image in [-1, 1]."""

    def __init__(self, ndf: int = 64, style_dim: int = 16) -> None:
        super().__init__()
        chans = [3, ndf, ndf * 2, ndf * 4, ndf * 8, ndf * 8]
        for i in range(1, 6):
            setattr(self, f"conv{i}f", PartialConv2d(chans[i - 1], chans[i], kernel_size=3, stride=2,
                                                     padding=0, bias=i == 1))
            if 2 <= i <= 4:
                setattr(self, f"norm{i}f", nn.BatchNorm2d(chans[i]))
        self.convs = nn.Conv2d(chans[5], style_dim, kernel_size=1)

    def forward(self, image: torch.Tensor, region: torch.Tensor) -> torch.Tensor:
        x, m = image, region
        for i in range(1, 6):
            x, m = getattr(self, f"conv{i}f")(x, m)
            if 2 <= i <= 4:
                x = getattr(self, f"norm{i}f")(x)
            if i <= 4:
                x = F.relu(x)
        return self.convs(F.adaptive_avg_pool2d(x, 1))


class CodeConditionedUNet(AttentionUNet):
    """The attention U-Net fed [image, mask, weight·tiled code]; `weight` is a learnable scalar."""

    def __init__(self, cfg: UNetConfig) -> None:
        super().__init__(cfg)
        self.weight = nn.Parameter(torch.tensor([0.1]))

    def forward(self, image_and_mask: torch.Tensor, code: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        n, _, h, w = image_and_mask.shape
        code_map = code.expand(n, code.shape[1], h, w) * self.weight.clamp(min=0.001)
        return self.model(torch.cat([image_and_mask, code_map], 1))


# ------------------------------------------------------------------------------------------------ model
class BargainNet(nn.Module):
    """Harmonizer: `forward(composite, fg_mask, ref_mask)`. With `use_reference=False` (Bargain-Net) the code
    comes from the whole background (1 − fg_mask) and ref_mask is ignored; with True (Bargain-Net (R)) it
    comes from the reference region."""

    resolution = 256

    def __init__(self, cfg: BargainNetConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.input_multiple = 2 ** cfg.num_downs  # every down-sampling halves H and W, down to the bottleneck
        # "reference" on a Bargain-Net trained with the background: the IPH paper's guide-mask protocol (the
        # same weights, the reference region in place of the background); set by `bargainnet:guide=reference`
        self.guide = "reference" if cfg.use_reference else "background"
        self.generator = CodeConditionedUNet(UNetConfig(input_nc=4 + cfg.style_dim, num_downs=cfg.num_downs,
                                                        ngf=cfg.ngf, use_dropout=cfg.use_dropout))
        self.extractor = DomainCodeExtractor(cfg.ndf, cfg.style_dim)
        init_weights(self.generator)
        init_weights(self.extractor)

    @property
    def uses_reference(self) -> bool:
        return self.guide == "reference"

    def region(self, fg_mask: torch.Tensor, ref_mask: torch.Tensor) -> torch.Tensor:
        """The region whose domain code conditions the generator."""
        return ref_mask if self.guide == "reference" else 1.0 - fg_mask

    def domain_code(self, image: torch.Tensor, region: torch.Tensor) -> torch.Tensor:
        """The code of `image` (in [0, 1]) inside `region`."""
        return self.extractor(to_pm1(image), region)

    def generate(self, composite: torch.Tensor, fg_mask: torch.Tensor, ref_mask: torch.Tensor,
                 code: torch.Tensor | None = None) -> torch.Tensor:
        """The raw full-image generator output in [0, 1]; `code` defaults to the composite's region code."""
        check_inputs(composite, fg_mask, ref_mask, self.input_multiple)
        if code is None:
            code = self.domain_code(composite, self.region(fg_mask, ref_mask))
        return from_pm1(self.generator(torch.cat([to_pm1(composite), fg_mask], 1), code))

    def forward(self, composite: torch.Tensor, fg_mask: torch.Tensor, ref_mask: torch.Tensor) -> torch.Tensor:
        return composite_over(self.generate(composite, fg_mask, ref_mask), composite, fg_mask)


# ----------------------------------------------------------------------------------------------- losses
def triplet(anchor: torch.Tensor, positive: torch.Tensor, negative: torch.Tensor, margin: float = 0.1,
            per_dimension: bool = True) -> torch.Tensor:
    """Triplet margin loss mean(max(0, margin + d(a, p) − d(a, n))).

    The official code applies nn.TripletMarginLoss to N×16×1×1 codes; torch measures the distance along the
    last dimension, which has size 1, so the official loss is a per-dimension one (d = |a_i − p_i|, averaged
    over N·16 terms). `per_dimension=True` reproduces that; False uses the Euclidean distance between codes.
    """
    if not per_dimension:
        anchor, positive, negative = (t.flatten(1) for t in (anchor, positive, negative))
    return F.triplet_margin_loss(anchor, positive, negative, margin=margin, p=2)


def triplet_losses(z_real_f: torch.Tensor, z_harm_f: torch.Tensor, z_comp_f: torch.Tensor,
                   z_region: torch.Tensor, margin: float = 0.1,
                   per_dimension: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
    """The two Bargain-Net triplets: the harmonized foreground's code should be closer to the real
    foreground's than the composite's is (anchor z_f(real)), and closer to the region's code than the
    composite's foreground code is (anchor z_f(harmonized))."""
    return (triplet(z_real_f, z_harm_f, z_comp_f, margin, per_dimension),
            triplet(z_harm_f, z_region, z_comp_f, margin, per_dimension))


def training_loss(model: BargainNet, composite: torch.Tensor, real: torch.Tensor, fg_mask: torch.Tensor,
                  ref_mask: torch.Tensor) -> tuple[torch.Tensor, dict[str, float]]:
    """One official training objective (images in [0, 1]); G and E are optimised jointly on it.
    As officially, the region code is taken from the ground truth and L1 is in [-1, 1] units."""
    z_region = model.domain_code(real, model.region(fg_mask, ref_mask))
    harm = model.generate(composite, fg_mask, ref_mask, code=z_region)
    z_real_f = model.domain_code(real, fg_mask)
    z_harm_f = model.domain_code(harm, fg_mask)
    z_comp_f = model.domain_code(composite, fg_mask)
    l1 = (to_pm1(harm) - to_pm1(real)).abs().mean()
    t_ff, t_fb = triplet_losses(z_real_f, z_harm_f, z_comp_f, z_region, model.cfg.margin)
    total = l1 + model.cfg.lambda_tri * (t_ff + t_fb)
    return total, {"L1": float(l1.detach()), "tri_ff": float(t_ff.detach()), "tri_fb": float(t_fb.detach())}


# ------------------------------------------------------------------------------------ official weights
def load_official(model: BargainNet, paths: str | Path | Sequence[str | Path]) -> None:
    """Load the released `latest_net_G.pth` and `latest_net_E.pth` strictly.

    `paths` is a folder holding both files, or a (G, E) pair of file paths.
    """
    if isinstance(paths, (str, Path)):
        folder = Path(paths)
        if not folder.is_dir():
            raise ValueError(f"{folder}: Bargain-Net needs a folder with latest_net_G.pth and latest_net_E.pth, "
                             "or the two files as a (G, E) pair")
        g_path, e_path = folder / "latest_net_G.pth", folder / "latest_net_E.pth"
    else:
        if len(paths) != 2:
            raise ValueError(f"Bargain-Net needs two checkpoint files (G, E), got {len(paths)}")
        g_path, e_path = (Path(p) for p in paths)
    load_state_dict_file(model.generator, g_path, "Bargain-Net generator (latest_net_G.pth)")
    load_state_dict_file(model.extractor, e_path, "Bargain-Net domain-code extractor (latest_net_E.pth)")


# ------------------------------------------------------------------------------------------- registry
def build(size: str = "tiny", **overrides) -> BargainNet:
    """Bargain-Net: the domain code of the whole background conditions the generator."""
    return BargainNet(resolve_config(SIZES, size, {"use_reference": False, **overrides}))


def build_r(size: str = "tiny", **overrides) -> BargainNet:
    """Bargain-Net (R): the domain code of the user's reference region conditions the generator."""
    return BargainNet(resolve_config(SIZES, size, {"use_reference": True, **overrides}))
