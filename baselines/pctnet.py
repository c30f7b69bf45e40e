"""PCT-Net (CNN): per-pixel colour transforms predicted at 256² and applied at the image's own size.

Paper: Guerreiro et al., "PCT-Net: Full Resolution Image Harmonization Using Pixel-Wise Color
Transformations", CVPR 2023. Official code: github.com/rakutentech/PCT-Net-Image-Harmonization (MPL-2.0),
config `CNN_pct` in `iharm/mconfigs/base.py`: PCTNet(backbone_type='ssam', depth=4, ch=32, image_fusion=True,
attention_mid_k=0.5, batchnorm_from=2, attend_from=2, transform_type='linear', affine=True, clamp=True,
use_attn=True), released as `PCTNet_CNN.pth`. Built from reading its layer shapes, key names and inference
path; no code copied.

- Backbone: iSSAM's encoder and up blocks (baselines/issam.py; `iharm/model/modeling/unet.py`
  UNetDecoderUpsample): the same keys, `decoder.to_rgb` included though it is never used; the decoder returns
  its last features and the attention map sigmoid(3·conv_attention).
- `get_params`: a 1×1 conv, 32 → 12 channels: per pixel a 3×3 matrix M (row-major: M[i][j] = p[3i + j]) and
  an offset b (p[9..11]) — `iharm/model/pct_functions.py` Linear_PCT, `linear`, affine.
- The transform (`PCT.__call__`): y = M·x + b on the **normalised** input x, clamped to [0, 1], then
  normalised again; output = y·a + x·(1 − a) with the attention map a (`use_attn`).
- Official parameter count: 2,185,736 (115 state-dict keys).

Inference, and the official file each step follows (`scripts/evaluate_folder.py` + `iharm/inference/
predictor.py` + `iharm/model/base/pct_net.py`), in `generate(composite, fg_mask, ref_mask)` at any size:
  1. the low-resolution input: the 8-bit composite and the soft mask (`/ 255`, no threshold) resized to 256²
     with cv2.resize's default INTER_LINEAR — here torch bilinear, half-pixel centres, no antialiasing (what
     INTER_LINEAR computes; OpenCV's 8-bit fixed point can differ by one level), the composite rounded back to
     8 bits as cv2 returns it; no padding (PCT-Net's Predictor has none);
  2. /255, ImageNet mean/std (`ToTensor`, `NormalizeTensor`) for both resolutions;
  3. the backbone on the 256² input → parameters and attention map, both **bicubically** upsampled
     (F.interpolate 'bicubic', align_corners False) to the input's own size;
  4. the transform applied to the full-resolution pixels, blended by the upsampled attention; de-normalised,
     clamped to [0, 1] (0..255 officially). The output is the whole image (registry `output="raw"`) at the
     input's size: the image itself is never resized.
- Training (`models/PCTNet_CNN.py`): MaskWeightedMSE(min_area=1000) on the full-resolution output +
  0.1 · ParamSmoothness (mean Sobel gradient magnitude of the parameter map, kornia `filters.sobel`) +
  0.01 · a contrastive loss on VGG-16 features. The recipe here trains the first two; the contrastive term
  needs ImageNet VGG-16 weights and is left out.

Differences from the official code: `lowres` (256 officially) and the backbone's widths are configurable, so
that small CPU models train at 128² with a 64² backbone input; the small size starts its parameter head at the
identity transform (`identity_init`; officially Gluon-Xavier like every layer): from a random transform, the
shipped CPU model had stayed far worse than the composite after 1500 steps.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from baselines.ihblocks import (IMAGENET_MEAN, IMAGENET_STD, denormalize, load_official as _load, mask_weighted_mse,
                               normalize, xavier_gluon_)
from baselines.issam import Decoder, Encoder, ISSAMConfig
from baselines.unet import check_inputs, composite_over, resolve_config

N_PARAMS = 12  # linear, affine: a 3×3 matrix and an offset per pixel


@dataclass(frozen=True)
class PCTNetConfig:
    depth: int = 4
    ch: int = 32
    max_channels: int = 512
    batchnorm_from: int = 2
    attend_from: int = 2
    attention_mid_k: float = 0.5
    lowres: int = 256  # the backbone's input size (evaluate_folder.py: cv2.resize to 256²)
    init_magnitude: float = 2.0  # XavierGluon magnitude of models/PCTNet_CNN.py
    min_area: float = 1000.0  # MaskWeightedMSE(min_area=1000)
    smooth_weight: float = 0.1  # ParamSmoothness weight
    # start get_params at the identity transform (M = diag(std), b = mean undo the normalisation): not the
    # official init; for the CPU-trained small size, which otherwise starts from a random colour transform
    identity_init: bool = False


SIZES = {"full": PCTNetConfig(),  # CNN_pct
         "tiny": PCTNetConfig(depth=3, ch=8, attend_from=1, lowres=32),
         # ≈ 0.55M parameters (iSSAM small's backbone); the backbone sees 64², trained at 128²
         "small": PCTNetConfig(ch=16, lowres=64, identity_init=True)}


# ----------------------------------------------------------------------------------------------- blocks
def apply_linear_transform(x: torch.Tensor, params: torch.Tensor) -> torch.Tensor:
    """y_i = Σ_j p[3i + j] · x_j + p[9 + i] per pixel (N×3×H×W image, N×12×H×W parameters)."""
    n, _, h, w = x.shape
    m = params[:, :9].reshape(n, 3, 3, h, w)
    return torch.einsum("nijhw,njhw->nihw", m, x) + params[:, 9:12]


def low_resolution(composite: torch.Tensor, fg_mask: torch.Tensor, size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """evaluate_folder.py's cv2.resize (INTER_LINEAR) of the 8-bit composite and of the soft mask."""
    def resize(t: torch.Tensor) -> torch.Tensor:
        if t.shape[-2:] == (size, size):
            return t
        return F.interpolate(t, size=(size, size), mode="bilinear", align_corners=False, antialias=False)
    return torch.round(resize(composite) * 255) / 255, resize(fg_mask)


# ------------------------------------------------------------------------------------------------ model
class PCTNet(nn.Module):
    """`generate` = the official full-resolution output (whole image); `forward` composites it (registry)."""

    uses_reference = False
    # the official state dict has iSSAM's output head, which PCT-Net never calls: loaded, counted, never trained
    unused_parameters = ("decoder.to_rgb.weight", "decoder.to_rgb.bias")
    resolution = 256  # the size 256² protocols feed it as it is; any other size is harmonized at that size
    input_multiple = 1  # the backbone always sees lowres², whatever the input's size
    normalize = staticmethod(normalize)  # input_normalization (ImageNet): the space training_loss compares in

    def __init__(self, cfg: PCTNetConfig) -> None:
        super().__init__()
        if cfg.lowres % 2 ** (cfg.depth - 1):
            raise ValueError(f"lowres {cfg.lowres} must be a multiple of {2 ** (cfg.depth - 1)} (depth {cfg.depth})")
        self.cfg = cfg
        backbone = ISSAMConfig(depth=cfg.depth, ch=cfg.ch, max_channels=cfg.max_channels,
                               batchnorm_from=cfg.batchnorm_from, attend_from=cfg.attend_from,
                               attention_mid_k=cfg.attention_mid_k, image_fusion=True)
        self.encoder = Encoder(backbone)
        self.decoder = Decoder(backbone, self.encoder.channels)
        self.get_params = nn.Conv2d(self.encoder.channels[0], N_PARAMS, 1)
        xavier_gluon_(self, cfg.init_magnitude)
        if cfg.identity_init:
            with torch.no_grad():
                self.get_params.weight.zero_()
                self.get_params.bias.copy_(torch.tensor([IMAGENET_STD[0], 0, 0, 0, IMAGENET_STD[1], 0, 0, 0,
                                                         IMAGENET_STD[2], *IMAGENET_MEAN]))

    def backbone(self, image_lr: torch.Tensor, mask_lr: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(parameter map, attention map) at low resolution; `image_lr` normalised."""
        latent = self.decoder.features(self.encoder(torch.cat([image_lr, mask_lr], 1)), mask_lr)
        return self.get_params(latent), torch.sigmoid(3.0 * self.decoder.conv_attention(latent))

    def harmonize_normalized(self, composite: torch.Tensor, fg_mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(full-resolution output in the normalised space, low-resolution parameter map)."""
        comp_lr, mask_lr = low_resolution(composite, fg_mask, self.cfg.lowres)
        params, attention = self.backbone(normalize(comp_lr), mask_lr)
        size = composite.shape[-2:]
        params_fr = F.interpolate(params, size=size, mode="bicubic", align_corners=False)
        attention_fr = F.interpolate(attention, size=size, mode="bicubic", align_corners=False)
        x = normalize(composite)
        y = normalize(apply_linear_transform(x, params_fr).clamp(0.0, 1.0))
        return y * attention_fr + x * (1.0 - attention_fr), params

    def generate(self, composite: torch.Tensor, fg_mask: torch.Tensor, ref_mask: torch.Tensor) -> torch.Tensor:
        check_inputs(composite, fg_mask, ref_mask, self.input_multiple)
        return denormalize(self.harmonize_normalized(composite, fg_mask)[0]).clamp(0.0, 1.0)

    def forward(self, composite: torch.Tensor, fg_mask: torch.Tensor, ref_mask: torch.Tensor) -> torch.Tensor:
        return composite_over(self.generate(composite, fg_mask, ref_mask), composite, fg_mask)


# ----------------------------------------------------------------------------------------------- losses
def param_smoothness(params: torch.Tensor) -> torch.Tensor:
    """ParamSmoothness: the mean Sobel gradient magnitude of the parameter map (kornia filters.sobel:
    kernels normalised by 1/8, replicate border, sqrt(gx² + gy² + 1e-6))."""
    kx = params.new_tensor([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]]) / 8
    c = params.shape[1]
    padded = F.pad(params, (1, 1, 1, 1), mode="replicate")
    gx = F.conv2d(padded, kx.expand(c, 1, 3, 3), groups=c)
    gy = F.conv2d(padded, kx.t().expand(c, 1, 3, 3), groups=c)
    return torch.sqrt(gx.square() + gy.square() + 1e-6).mean()


def training_loss(model: PCTNet, composite: torch.Tensor, fg_mask: torch.Tensor,
                  real: torch.Tensor) -> tuple[torch.Tensor, dict[str, float]]:
    """MaskWeightedMSE(min_area) on the full-resolution output in the model's normalised space (its
    `normalize`: ImageNet here, none for pctnet_vit.py) + smooth_weight ·
    ParamSmoothness on the low-resolution parameter map (the official contrastive term is left out)."""
    out, params = model.harmonize_normalized(composite, fg_mask)
    parts = {"mask_weighted_mse": mask_weighted_mse(out, model.normalize(real), fg_mask, model.cfg.min_area),
             "param_smoothness": param_smoothness(params)}
    total = parts["mask_weighted_mse"] + model.cfg.smooth_weight * parts["param_smoothness"]
    return total, {**{k: float(v.detach()) for k, v in parts.items()}, "total": float(total.detach())}


# ------------------------------------------------------------------------------------ official weights
def load_official(model: PCTNet, path: str | Path) -> None:
    """The released `PCTNet_CNN.pth` (a file, or a folder holding it), strictly."""
    _load(model, path, "PCTNet_CNN.pth", "released PCT-Net CNN (PCTNet_CNN.pth)")


# ------------------------------------------------------------------------------------------- registry
def build(size: str = "tiny", **overrides) -> PCTNet:
    """`build("full")` = CNN_pct; "tiny" runs in milliseconds at any size."""
    return PCTNet(resolve_config(SIZES, size, overrides))
