"""What iDIH and iSSAM share: the conv block, the image-fusion output head, the official pre- and
post-processing, the Gluon-Xavier init, the foreground-normalised MSE and the strict official load.

Paper: Sofiiuk et al., "Foreground-aware Semantic Representations for Image Harmonization", WACV 2021.
Official code: github.com/saic-vul/image_harmonization (MPL-2.0). Built from reading its layer shapes, key
names and inference path; no code copied. Which official file each step follows:

- `ConvBlock` — `iharm/model/modeling/basic_blocks.py` ConvBlock: Sequential[conv (with bias unless told),
  norm or Identity, activation], so its keys are `block.0.*` (conv) and `block.1.*` (batch norm).
- `image_fusion` — the end of `DeconvDecoder.forward` (`conv_autoencoder.py`) and `UNetDecoder.forward`
  (`unet.py`): a 1×1 conv to one channel, a = sigmoid(3·that), output = a·input + (1 − a)·to_rgb(features),
  in the normalised image space. The attention map blends the input and the prediction **everywhere**, so
  the whole output image is the network's (nothing is composited outside the mask).
- Inference (`HarmonizationNet.generate`) — `scripts/predict_for_dir.py` + `iharm/inference/predictor.py`
  + `iharm/inference/transforms.py`:
  1. the mask: the script resizes the 8-bit mask file (channel 0) and keeps `> 100` as 1, else 0
     (`binarize_mask`: the [0, 1] mask rounded to 8 bits, then > 100);
  2. `PadToDivisor(2 ** (depth + 1), border 0)`: zeros added, ⌊pad/2⌋ before and the rest after, on each
     side (`pad_amounts`);
  3. `ToTensor`: /255 (the harness's images are already in [0, 1]); `NormalizeTensor`: ImageNet mean/std;
  4. the network's `images`, then the inverse transforms: de-normalise, ×255, crop the padding, clamp to
     0..255 (here: clamp to [0, 1]).
  The resize to 256² is not the network's: the harness gives a 256² network its input (`--protocol idih`
  resizes as iDIH's scripts do: OpenCV bilinear on the 8-bit images).
- `xavier_gluon_` — `iharm/model/initializer.py` XavierGluon(rnd_type='gaussian'): weights
  N(0, sqrt(magnitude / ((fan_in + fan_out) / 2))), biases 0, batch norm γ 1, β 0.
- `mask_weighted_mse` — `iharm/model/losses.py` MaskWeightedMSE: per image Σ(pred − target)² /
  (C · max(Σ mask, min_area)), in the normalised space, averaged over the batch (`simple_trainer.py`).
- `load_official` — the released `.pth` is a plain state dict (`iharm/utils/misc.py` save_checkpoint:
  `torch.save(net.state_dict())`); it is loaded strictly here (the official `load_weights` updates the
  model's own dict, so a missing key would silently keep its random init).

Difference from the official inference: `scripts/evaluate_model.py` (the script behind `--protocol idih`'s
tables) feeds the mask soft (`hdataset.py`: channel 0 / 255, no threshold); `predict_for_dir.py`, followed
here, thresholds it. They differ only on the mask's edge pixels.
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from baselines.unet import check_inputs, composite_over, load_state_dict_file

IMAGENET_MEAN = (0.485, 0.456, 0.406)  # model_cfg.input_normalization of every official 256² config
IMAGENET_STD = (0.229, 0.224, 0.225)
MASK_THRESHOLD = 100  # predict_for_dir.py: mask[mask > 100] = 1, on the 8-bit mask


# ----------------------------------------------------------------------------------------------- blocks
class ConvBlock(nn.Module):
    """conv → batch norm (or nothing) → activation; keys `block.0.*`, `block.1.*` as officially."""

    def __init__(self, in_nc: int, out_nc: int, kernel_size: int = 4, stride: int = 2, padding: int = 1,
                 norm: bool = True, activation: type[nn.Module] = nn.ELU, bias: bool = True) -> None:
        super().__init__()
        self.block = nn.Sequential(nn.Conv2d(in_nc, out_nc, kernel_size, stride, padding, bias=bias),
                                   nn.BatchNorm2d(out_nc) if norm else nn.Identity(), activation())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.block(x)


def image_fusion(decoder: nn.Module, features: torch.Tensor, image: torch.Tensor) -> torch.Tensor:
    """The decoder's output head: `to_rgb`, blended with the (normalised) input image by the learned
    attention `conv_attention` where the decoder has one (official `image_fusion=True`)."""
    rgb = decoder.to_rgb(features)
    if getattr(decoder, "conv_attention", None) is None:
        return rgb
    a = torch.sigmoid(3.0 * decoder.conv_attention(features))
    return a * image + (1.0 - a) * rgb


# -------------------------------------------------------------------------------- pre/post-processing
def _stats(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    return (x.new_tensor(IMAGENET_MEAN).view(1, 3, 1, 1), x.new_tensor(IMAGENET_STD).view(1, 3, 1, 1))


def normalize(x: torch.Tensor) -> torch.Tensor:
    """[0, 1] RGB → the ImageNet-normalised space the network works in."""
    mean, std = _stats(x)
    return (x - mean) / std


def denormalize(x: torch.Tensor) -> torch.Tensor:
    mean, std = _stats(x)
    return x * std + mean


def binarize_mask(mask: torch.Tensor) -> torch.Tensor:
    """predict_for_dir.py's mask: the 8-bit value (here the [0, 1] mask rounded to 8 bits) > 100 → 1."""
    return (torch.round(mask * 255) > MASK_THRESHOLD).to(mask.dtype)


def pad_amounts(size: int, divisor: int) -> tuple[int, int]:
    """PadToDivisor: (before, after) so that size + both is a multiple of `divisor`; before = ⌊pad/2⌋."""
    pad = (divisor - size % divisor) % divisor
    return pad // 2, pad - pad // 2


# ------------------------------------------------------------------------------------------------ model
class HarmonizationNet(nn.Module):
    """The iDIH-family contract around an `encoder` and a `decoder` (attributes named as the official keys).

    `network(image, mask)` is the official `net(image, mask)['images']` (normalised space);
    `predict_normalized` pads to `pad_multiple` first and crops after (training reads it, with the official
    loss in the normalised space); `generate` is the official predictor's output in [0, 1] (raw: the whole
    image); `forward` composites it over the input outside the foreground (the registry's contract).
    """

    uses_reference = False
    resolution = 256
    input_multiple = 1  # the network pads itself, as the official Predictor does

    def __init__(self, cfg) -> None:
        super().__init__()
        self.cfg = cfg
        self.pad_multiple = 2 ** (cfg.depth + 1)  # Predictor: size_divisor = 2 ** (net.depth + 1)

    def network(self, image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        features = self.encoder(torch.cat([image, mask], 1))
        return self.decoder(features, image, mask)

    def predict_normalized(self, composite: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        h, w = composite.shape[-2:]
        (top, bottom), (left, right) = pad_amounts(h, self.pad_multiple), pad_amounts(w, self.pad_multiple)
        pads = (left, right, top, bottom)
        out = self.network(normalize(F.pad(composite, pads)), F.pad(mask, pads))
        return out[..., top:top + h, left:left + w]

    def generate(self, composite: torch.Tensor, fg_mask: torch.Tensor, ref_mask: torch.Tensor) -> torch.Tensor:
        check_inputs(composite, fg_mask, ref_mask, self.input_multiple)
        return denormalize(self.predict_normalized(composite, binarize_mask(fg_mask))).clamp(0.0, 1.0)

    def forward(self, composite: torch.Tensor, fg_mask: torch.Tensor, ref_mask: torch.Tensor) -> torch.Tensor:
        return composite_over(self.generate(composite, fg_mask, ref_mask), composite, fg_mask)


# ------------------------------------------------------------------------------------ training, weights
@torch.no_grad()
def xavier_gluon_(module: nn.Module, magnitude: float) -> None:
    """The official init (model.apply(XavierGluon('gaussian', magnitude))) on convs and linears; batch norms
    γ 1, β 0. Buffers are left alone (see issam.py on the mask-blurring kernel)."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            fan_in, fan_out = nn.init._calculate_fan_in_and_fan_out(m.weight)
            m.weight.normal_(0.0, (magnitude / ((fan_in + fan_out) / 2.0)) ** 0.5)
            if m.bias is not None:
                m.bias.zero_()
        elif isinstance(m, nn.BatchNorm2d):
            m.weight.fill_(1.0)
            m.bias.zero_()


def mask_weighted_mse(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor,
                      min_area: float) -> torch.Tensor:
    """Foreground-normalised MSE: per image Σ(pred − target)² / (C · max(Σ mask, min_area)), batch mean."""
    per_image = (pred - target).square().flatten(1).sum(1)
    area = mask.flatten(1).sum(1).clamp_min(min_area)
    return (per_image / (pred.shape[1] * area)).mean()


def load_official(model: HarmonizationNet, path: str | Path, filename: str, what: str) -> None:
    """The released `filename` (a file, or a folder holding it), strictly: every key, every shape."""
    path = Path(path)
    if path.is_dir():
        path = path / filename
    load_state_dict_file(model, path, what)
