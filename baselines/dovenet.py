"""Dove-Net: the attention U-Net harmonizer and its domain-verification discriminator.

Paper: Cong et al., "DoveNet: Deep Image Harmonization via Domain Verification", CVPR 2020.
Official code: github.com/bcmi/Image-Harmonization-Dataset-iHarmony4 (DoveNet/; netG "s2ad", netD with
partial convolutions). Built from the architecture facts in the project notes; no code copied.

- Generator (baselines/unet.py): pix2pix U-Net, 8 down-samplings, ngf 64, batch norm, dropout in the middle,
  attention on the three outer skips; input = composite RGB in [-1, 1] + foreground mask in {0, 1}.
  ≈ 54.76M parameters.
- Discriminator (training only, not part of the harmonizer): a partial-convolution PatchGAN with spectral
  norm. A global branch sees the whole image; a second branch, shared between the two regions, encodes the
  foreground (mask) and the background (1 − mask) separately; the verification score is a 1×1-conv MLP on
  their product. Losses: L1·100 + hinge GAN on both scores (official `gan_mode wgangp`) + gradient penalty.

Differences from the official code:
- `forward` returns the output composited over the input with the foreground mask (only the foreground
  changes). The official test script scores the raw full-image output (`harmonized`), so its background is
  the network's reconstruction, not the input.
- Evaluate in eval mode (batch-norm running statistics, no dropout). The official test command omits
  `--eval`, so the published numbers come from train-mode batch norm (batch-1 statistics) with dropout on.
- The discriminator's number of stride-2 convolutions is configurable (official: 6, for 256×256) so that it
  also runs on 64×64 test images, and it uses the parametrization form of spectral norm (its own weights
  are never released, so its key names do not matter).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from baselines.unet import (AttentionUNet, UNetConfig, check_inputs, composite_over, from_pm1, init_weights,
                            load_state_dict_file, resolve_config, to_pm1)
from iph.layers import PartialConv2d


@dataclass(frozen=True)
class DoveNetConfig:
    num_downs: int = 8  # 256 → 1 at the bottleneck
    ngf: int = 64
    use_dropout: bool = True
    # discriminator (training only)
    ndf: int = 64
    d_strided: int = 6  # stride-2 partial convs before the final stride-1 one: 256 → 127 → … → 3 → 1


SIZES = {"full": DoveNetConfig(), "tiny": DoveNetConfig(num_downs=6, ngf=8, ndf=8, d_strided=4),
           # 1.03M generator parameters, trains at 128² (D: 5 strided convs, 128 → 3): the shipped CPU checkpoint
           "small": DoveNetConfig(num_downs=7, ngf=10, ndf=16, d_strided=5)}


# ----------------------------------------------------------------------------------------------- blocks
def _sn(conv: nn.Module) -> nn.Module:
    init_weights(conv)  # before spectral norm re-parametrizes the weight
    return spectral_norm(conv)


def _sn_pconv(in_nc: int, out_nc: int, stride: int, bias: bool) -> nn.Module:
    return _sn(PartialConv2d(in_nc, out_nc, kernel_size=3, stride=stride, padding=0, bias=bias))


class DomainVerificationDiscriminator(nn.Module):
    """`forward(image, mask)` → (global score map, verification score map); images in [-1, 1].

    conv1..conv{n+1} form the global branch, conv1f..conv{n+1}f the region branch (run once on the
    foreground, once on the background). Channels ndf·min(2^i, 8); a norm after conv2..conv{n}: batch norm
    for Dove-Net, instance norm for Rain-Net's discriminator (its official `normD`).
    """

    def __init__(self, input_nc: int = 3, ndf: int = 64, n_strided: int = 6, norm: str = "batch") -> None:
        super().__init__()
        if norm not in ("batch", "instance"):
            raise ValueError(f"norm must be 'batch' or 'instance', got '{norm}'")
        self.n_strided = n_strided
        chans = [ndf * min(2 ** i, 8) for i in range(n_strided)] + [ndf * 8]
        prev = input_nc
        for i, out in enumerate(chans, start=1):
            stride = 2 if i <= n_strided else 1
            bias = i == 1 or norm == "instance"  # official use_bias rule: no bias before a batch norm
            setattr(self, f"conv{i}", _sn_pconv(prev, out, stride, bias))
            setattr(self, f"conv{i}f", _sn_pconv(prev, out, stride, bias))
            if 2 <= i <= n_strided:
                for suffix in ("", "f"):
                    setattr(self, f"norm{i}{suffix}", nn.BatchNorm2d(out) if norm == "batch" else
                            nn.InstanceNorm2d(out, affine=False, track_running_stats=False))
            prev = out
        self.convl1 = _sn(nn.Conv2d(prev, prev, kernel_size=1))
        self.convl2 = _sn(nn.Conv2d(prev, prev, kernel_size=1))
        self.convl3 = nn.Conv2d(prev, 1, kernel_size=1)
        self.convg3 = nn.Conv2d(prev, 1, kernel_size=1)
        for m in (self.convl3, self.convg3, *(m for m in self.modules() if isinstance(m, nn.BatchNorm2d))):
            init_weights(m)

    def _branch(self, x: torch.Tensor, mask: torch.Tensor, suffix: str) -> torch.Tensor:
        for i in range(1, self.n_strided + 2):
            x, mask = getattr(self, f"conv{i}{suffix}")(x, mask)
            if 2 <= i <= self.n_strided:
                x = getattr(self, f"norm{i}{suffix}")(x)
            if i <= self.n_strided:
                x = F.leaky_relu(x, 0.2)
        return x

    def features(self, image: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(global, foreground, background) features. The region branch multiplies its input by the region
        mask at every layer, so the foreground features never see a background pixel and vice versa."""
        ones = torch.ones_like(mask)  # the global branch is a plain conv: an all-valid mask
        return (self._branch(image, ones, ""), self._branch(image, mask, "f"),
                self._branch(image, 1.0 - mask, "f"))

    def forward(self, image: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        g, xf, xb = self.features(image, mask)
        sim = F.leaky_relu(self.convl1(xf * xb), 0.2)
        sim = self.convl3(F.leaky_relu(self.convl2(sim), 0.2))
        return self.convg3(g), sim


# ------------------------------------------------------------------------------------------------ model
class DoveNet(nn.Module):
    """Harmonizer: `forward(composite, fg_mask, ref_mask)` (ref_mask unused: Dove-Net sees the whole
    background). See the module docstring for what differs from the official test protocol."""

    uses_reference = False
    resolution = 256

    def __init__(self, cfg: DoveNetConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.input_multiple = 2 ** cfg.num_downs  # every down-sampling halves H and W, down to the bottleneck
        self.generator = AttentionUNet(UNetConfig(input_nc=4, num_downs=cfg.num_downs, ngf=cfg.ngf,
                                                  use_dropout=cfg.use_dropout))
        init_weights(self.generator)

    def generate(self, composite: torch.Tensor, fg_mask: torch.Tensor, ref_mask: torch.Tensor) -> torch.Tensor:
        """The raw full-image generator output in [0, 1] (what the official code scores and trains on)."""
        check_inputs(composite, fg_mask, ref_mask, self.input_multiple)
        return from_pm1(self.generator(torch.cat([to_pm1(composite), fg_mask], 1)))

    def forward(self, composite: torch.Tensor, fg_mask: torch.Tensor, ref_mask: torch.Tensor) -> torch.Tensor:
        return composite_over(self.generate(composite, fg_mask, ref_mask), composite, fg_mask)

    def make_discriminator(self) -> DomainVerificationDiscriminator:
        """A freshly initialised discriminator matching this configuration (for the trainer)."""
        return DomainVerificationDiscriminator(3, self.cfg.ndf, self.cfg.d_strided)


# ----------------------------------------------------------------------------------------------- losses
def gradient_penalty(netD: DomainVerificationDiscriminator, real: torch.Tensor, fake: torch.Tensor,
                     mask: torch.Tensor, weight: float = 10.0) -> torch.Tensor:
    """WGAN-GP on random real/fake mixes, scored by the mean of the two heads; images in [-1, 1]."""
    alpha = torch.rand(real.shape[0], 1, 1, 1, device=real.device, dtype=real.dtype)
    mixed = (alpha * real + (1 - alpha) * fake).requires_grad_(True)
    g, v = netD(mixed, mask)
    score = (g + v) * 0.5
    (grad,) = torch.autograd.grad(score, mixed, torch.ones_like(score), create_graph=True)
    return ((grad.flatten(1) + 1e-16).norm(2, dim=1) - 1.0).square().mean() * weight


def discriminator_loss(netD: DomainVerificationDiscriminator, fake: torch.Tensor, real: torch.Tensor,
                       fg_mask: torch.Tensor, gp_ratio: float = 1.0) -> tuple[torch.Tensor, dict[str, float]]:
    """Hinge loss on the global and verification scores plus gradient penalty.

    `fake` is the image the discriminator judges — Dove-Net's raw output (`DoveNet.generate`), Rain-Net's
    composited output (`RainNet.forward`), as in each official trainer — and `real` the ground truth, both
    in [0, 1] (converted to the official [-1, 1] here); `fake` is detached.
    """
    fake, real = to_pm1(fake.detach()), to_pm1(real)
    g_fake, v_fake = netD(fake, fg_mask)
    g_real, v_real = netD(real, fg_mask)
    parts = {"D_global": F.relu(1 + g_fake).mean() + F.relu(1 - g_real).mean(),
             "D_local": F.relu(1 + v_fake).mean() + F.relu(1 - v_real).mean(),
             "D_gp": gradient_penalty(netD, real, fake, fg_mask)}
    total = parts["D_global"] + parts["D_local"] + gp_ratio * parts["D_gp"]
    return total, {k: float(v.detach()) for k, v in parts.items()}


def generator_loss(netD: DomainVerificationDiscriminator, fake: torch.Tensor, real: torch.Tensor,
                   fg_mask: torch.Tensor, lambda_l1: float = 100.0, lambda_a: float = 1.0,
                   lambda_v: float = 1.0) -> tuple[torch.Tensor, dict[str, float]]:
    """L1·100 (in [-1, 1] units, as officially) + adversarial (global) + verification terms; `fake` as in
    `discriminator_loss`. Freeze netD's parameters (requires_grad False) around this call, as the official
    loop does."""
    fake, real = to_pm1(fake), to_pm1(real)
    g_fake, v_fake = netD(fake, fg_mask)
    parts = {"G_global": -g_fake.mean(), "G_local": -v_fake.mean(), "G_L1": (fake - real).abs().mean()}
    total = lambda_a * parts["G_global"] + lambda_v * parts["G_local"] + lambda_l1 * parts["G_L1"]
    return total, {k: float(v.detach()) for k, v in parts.items()}


# ------------------------------------------------------------------------------------ official weights
def load_official(model: DoveNet, path: str | Path) -> None:
    """Load the released `latest_net_G.pth` (a file, or a folder holding it) strictly into the generator."""
    path = Path(path)
    if path.is_dir():
        path = path / "latest_net_G.pth"
    load_state_dict_file(model.generator, path, "Dove-Net generator (latest_net_G.pth)")


# ------------------------------------------------------------------------------------------- registry
def build(size: str = "tiny", **overrides) -> DoveNet:
    """`build("full")` = the published configuration; "tiny" runs a 64×64 forward in milliseconds."""
    return DoveNet(resolve_config(SIZES, size, overrides))
