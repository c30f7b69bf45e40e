"""PCT-Net (ViT): a small vision transformer predicts the per-pixel colour transforms at 256²; they are applied
at the image's own size.

Paper: Guerreiro et al., "PCT-Net: Full Resolution Image Harmonization Using Pixel-Wise Color
Transformations", CVPR 2023. Official code: github.com/rakutentech/PCT-Net-Image-Harmonization (MPL-2.0),
config `ViT_pct` in `iharm/mconfigs/base.py`: PCTNet(backbone_type='ViT', input_normalization mean 0, std 1,
dim=3, transform_type='linear', affine=True, clamp=True, color_space='RGB', use_attn=False), released as
`PCTNet_ViT.pth`. Built from reading its layer shapes, key names and inference path; no code copied. The
transform and the parameter smoothness are PCT-Net CNN's (baselines/pctnet.py), imported.

- Backbone (`iharm/model/modeling/vit_base.py` ViT_Harmonizer, output_nc 12, the defaults ksize 4, 2 heads, 9
  layers, dim_forward 2, GELU; dim 256): the image and mask (4 channels) cut into 4×4 patches flattened in
  (row, column, channel) order — einops `b c (h p1) (w p2) -> b (h w) (p1 p2 c)` — and embedded by a linear
  layer (`encoder.patch_to_embedding.1`; index 0 is the parameter-free rearrange); **no position embedding**;
  nn.TransformerEncoder's post-norm layers (`encoder.transformer_enc.layers.N.{self_attn, linear1, linear2,
  norm1, norm2}`, dropout 0.1, LayerNorm eps 1e-5); the tokens back onto the 64² grid and a 4×4 stride-4
  transposed conv + tanh to 12 channels at 256² (`encoder.dec.0`).
- `get_params` (`iharm/model/base/pct_net.py`: input_dim = the PCT's out_dim for the ViT): a 1×1 conv,
  12 → 12: per pixel a 3×3 matrix M (row-major) and an offset b (`iharm/model/pct_functions.py` Linear_PCT).
- The decoder is the identity (`lambda intermediates, img, mask: (intermediates, mask)`): the "attention map"
  is the mask, and with use_attn=False the transformed image is blended with the input by the **mask**.
- Official parameter count: 4,809,896 (114 state-dict keys).

Inference, and the official file each step follows (`scripts/evaluate_folder.py` + `iharm/inference/
predictor.py` + `iharm/model/base/pct_net.py`), in `forward(composite, fg_mask, ref_mask)` at any size:
  1. the low-resolution input: the 8-bit composite and the soft mask (`/ 255`, no threshold) resized to 256²
     with cv2.resize's INTER_LINEAR (evaluate_folder.py) — pctnet.low_resolution: torch bilinear, half-pixel
     centres, no antialiasing, the composite rounded back to 8 bits; no padding (the Predictor has none);
  2. `ToTensor` (/255) then `NormalizeTensor` with ViT_pct's input_normalization, mean 0 and std 1
     (predictor.py, from the config as evaluate_folder.py passes it): the identity on [0, 1] images;
  3. the backbone on the 256² input and the mask → the parameter map, upsampled **bicubically**
     (pct_net.py: F.interpolate 'bicubic', align_corners False) to the input's own size;
  4. the transform applied to the full-resolution pixels, clamped to [0, 1] (`PCT.__call__`, clamp=True),
     then blended with the input by the full-resolution **soft** mask: y·m + x·(1 − m) (pct_net.py,
     use_attn=False); ×255 and clamped to 0..255 by the Predictor's inverse transforms (here: [0, 1]). So the
     output equals the input wherever the mask is 0: it is composited, by the script itself (registry
     `output="composited"`); the image itself is never resized. evaluate_folder.py then writes it as a JPEG;
     the harness scores the float output.
- Training (`models/PCTNet_ViT.py`): MaskWeightedMSE(min_area=1000) on the full-resolution output in the
  (identity-)normalised space + 0.1 · ParamSmoothness + 0.01 · a VGG-16 contrastive loss, Adam (0.9, 0.999)
  at 1e-4 · batch / 16; init: convs and linears N(0, 0.02), biases 0 (`init_func`: nn.MultiheadAttention's
  in_proj keeps PyTorch's own init, as its class name holds neither "Conv" nor "Linear"). The recipe here is
  PCT-Net CNN's (`baselines.pctnet.training_loss`: the first two terms, in the model's `normalize` space).

Differences from the official code: `lowres` and the transformer's width and depth are configurable, so that
small CPU models train at 128² with a 64² backbone input; the small size starts its parameter head at the
identity transform (`identity_init`; officially N(0, 0.02), which starts at M ≈ 0: a black foreground).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from baselines.ihblocks import load_official as _load
from baselines.pctnet import N_PARAMS, apply_linear_transform, low_resolution
from baselines.unet import check_inputs, resolve_config

IDENTITY_PARAMS = (1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0)  # M = I, b = 0


@dataclass(frozen=True)
class PCTNetViTConfig:
    n_layer: int = 9  # tr_r_enc_layers
    lowres: int = 256  # the backbone's input size (evaluate_folder.py: cv2.resize to 256²)
    patch: int = 4  # ksize
    dim: int = 256  # token width (vit_base.py: dim = 256)
    n_head: int = 2  # tr_r_enc_head
    ff_mult: int = 2  # dim_forward: the feed-forward width is dim · ff_mult
    dropout: float = 0.1  # nn.TransformerEncoderLayer's default
    init_std: float = 0.02  # init_func's init_gain (models/PCTNet_ViT.py)
    min_area: float = 1000.0  # MaskWeightedMSE(min_area=1000)
    smooth_weight: float = 0.1  # ParamSmoothness weight
    # start get_params at the identity transform (weights 0, bias M = I, b = 0): not the official init; for the
    # CPU-trained small size, which otherwise starts by painting the foreground black
    identity_init: bool = False


SIZES = {"full": PCTNetViTConfig(),  # ViT_pct
         "tiny": PCTNetViTConfig(lowres=32, dim=32, n_layer=2),
         # ≈ 0.56M parameters; the backbone sees 64² (16×16 tokens), trained at 128²
         "small": PCTNetViTConfig(lowres=64, dim=128, n_layer=4, identity_init=True)}


# ----------------------------------------------------------------------------------------------- blocks
class Patchify(nn.Module):
    """einops `b c (h p1) (w p2) -> b (h w) (p1 p2 c)`: row-major patches, each flattened row, column, channel."""

    def __init__(self, patch: int) -> None:
        super().__init__()
        self.patch = patch

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        p = self.patch
        x = x.reshape(n, c, h // p, p, w // p, p).permute(0, 2, 4, 3, 5, 1)
        return x.reshape(n, (h // p) * (w // p), p * p * c)


class EncoderLayer(nn.Module):
    """nn.TransformerEncoderLayer(dim, n_head, dim · ff_mult, activation='gelu'): post-norm, its key names."""

    def __init__(self, cfg: PCTNetViTConfig) -> None:
        super().__init__()
        self.self_attn = nn.MultiheadAttention(cfg.dim, cfg.n_head, dropout=cfg.dropout, batch_first=True)
        self.linear1 = nn.Linear(cfg.dim, cfg.dim * cfg.ff_mult)
        self.linear2 = nn.Linear(cfg.dim * cfg.ff_mult, cfg.dim)
        self.norm1 = nn.LayerNorm(cfg.dim)
        self.norm2 = nn.LayerNorm(cfg.dim)
        self.dropout = nn.Dropout(cfg.dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.norm1(x + self.dropout(self.self_attn(x, x, x, need_weights=False)[0]))
        return self.norm2(x + self.dropout(self.linear2(self.dropout(F.gelu(self.linear1(x))))))


class Transformer(nn.Module):
    """nn.TransformerEncoder without a final norm: its state-dict keys are `layers.N.*`."""

    def __init__(self, cfg: PCTNetViTConfig) -> None:
        super().__init__()
        self.layers = nn.ModuleList(EncoderLayer(cfg) for _ in range(cfg.n_layer))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.layers:
            x = layer(x)
        return x


class ViTBackbone(nn.Module):
    """ViT_Harmonizer: image + mask at lowres² → N_PARAMS tanh channels at lowres²."""

    def __init__(self, cfg: PCTNetViTConfig) -> None:
        super().__init__()
        self.patch_to_embedding = nn.Sequential(Patchify(cfg.patch), nn.Linear(cfg.patch * cfg.patch * 4, cfg.dim))
        self.transformer_enc = Transformer(cfg)
        self.dec = nn.Sequential(nn.ConvTranspose2d(cfg.dim, N_PARAMS, cfg.patch, stride=cfg.patch), nn.Tanh())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, _, h, w = x.shape
        p = self.patch_to_embedding[0].patch
        tokens = self.transformer_enc(self.patch_to_embedding(x))
        return self.dec(tokens.transpose(1, 2).reshape(n, -1, h // p, w // p))


# ------------------------------------------------------------------------------------------------ model
class PCTNetViT(nn.Module):
    """`forward` = the official full-resolution output, composited by the soft mask as the script does."""

    uses_reference = False
    resolution = 256  # the size 256² protocols feed it as it is; any other size is harmonized at that size
    input_multiple = 1  # the backbone always sees lowres², whatever the input's size

    def __init__(self, cfg: PCTNetViTConfig) -> None:
        super().__init__()
        if cfg.lowres % cfg.patch:
            raise ValueError(f"lowres {cfg.lowres} must be a multiple of the patch size {cfg.patch}")
        self.cfg = cfg
        self.encoder = ViTBackbone(cfg)
        self.get_params = nn.Conv2d(N_PARAMS, N_PARAMS, 1)
        self.init_weights()

    @torch.no_grad()
    def init_weights(self) -> None:
        """init_func: every conv and linear (out_proj included) N(0, init_std), biases 0."""
        for m in self.modules():
            if isinstance(m, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d)):
                m.weight.normal_(0.0, self.cfg.init_std)
                if m.bias is not None:
                    m.bias.zero_()
        if self.cfg.identity_init:
            self.get_params.weight.zero_()
            self.get_params.bias.copy_(torch.tensor(IDENTITY_PARAMS))

    @staticmethod
    def normalize(x: torch.Tensor) -> torch.Tensor:
        """ViT_pct's input_normalization (mean 0, std 1): the network works on [0, 1] images as they are."""
        return x

    def backbone(self, image_lr: torch.Tensor, mask_lr: torch.Tensor) -> torch.Tensor:
        """The parameter map at low resolution."""
        return self.get_params(self.encoder(torch.cat([image_lr, mask_lr], 1)))

    def harmonize_normalized(self, composite: torch.Tensor, fg_mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(full-resolution output, low-resolution parameter map); the normalisation is the identity."""
        comp_lr, mask_lr = low_resolution(composite, fg_mask, self.cfg.lowres)
        params = self.backbone(comp_lr, mask_lr)
        params_fr = F.interpolate(params, size=composite.shape[-2:], mode="bicubic", align_corners=False)
        y = apply_linear_transform(composite, params_fr).clamp(0.0, 1.0)
        return y * fg_mask + composite * (1.0 - fg_mask), params

    def forward(self, composite: torch.Tensor, fg_mask: torch.Tensor, ref_mask: torch.Tensor) -> torch.Tensor:
        check_inputs(composite, fg_mask, ref_mask, self.input_multiple)
        return self.harmonize_normalized(composite, fg_mask)[0].clamp(0.0, 1.0)


# ------------------------------------------------------------------------------------ official weights
def load_official(model: PCTNetViT, path: str | Path) -> None:
    """The released `PCTNet_ViT.pth` (a file, or a folder holding it), strictly."""
    _load(model, path, "PCTNet_ViT.pth", "released PCT-Net ViT (PCTNet_ViT.pth)")


# ------------------------------------------------------------------------------------------- registry
def build(size: str = "tiny", **overrides) -> PCTNetViT:
    """`build("full")` = ViT_pct; "tiny" runs in milliseconds at any size."""
    return PCTNetViT(resolve_config(SIZES, size, overrides))
