"""Harmonizer: six white-box filter arguments regressed from an EfficientNet-B0, applied at full resolution.

Paper: Ke et al., "Harmonizer: Learning to Perform White-Box Image and Video Harmonization", ECCV 2022.
Official code: github.com/ZHKKKe/Harmonizer (CC BY-NC-SA 4.0). Written here from the paper and the official
architecture (layer shapes and key names read from it); no code copied.

- Backbone (`src/model/backbone/efficientnet/__init__.py`, `EfficientBackbone`): EfficientNet-B0 (the lukemelas
  layout and key names, `backbone._blocks.N._depthwise_conv.weight`, …) without its stem and classifier; two
  stems instead, `_conv_fg` on (composite, mask) and `_conv_bg` on (composite, 1 − mask), 16 channels each,
  concatenated into the 32 the first block takes; the head's 1280 channels go to the regressor.
- Regressor (`src/model/module.py`, `CascadeArgumentRegressor(1280, 160, 1, 6)`): global average pool, two
  linear maps f and g of the pooled features; head i maps cat(f, g_{i−1}) to g_i and g_i to argument i.
- Filters (`src/model/filter.py`), in the order of `src/model/harmonizer.py`: temperature, brightness,
  contrast, saturation, highlight, shadow, each on the whole image with its argument clamped to [−1, 1];
  after each, the foreground of the filtered image over the input (`FilterPerformer.restore`). The
  official filters convert with kornia (RGB↔HSV, invert); here the same formulas in torch (tests check them
  against scikit-image).
- Inference (`demo/image_harmonization/run.py`, `Harmonizer.predict_arguments`): composite in [0, 1]
  (`to_tensor` of the PIL RGB image), mask = the mask file through PIL `convert('1')` (Floyd–Steinberg
  dithered to 0/1), both resized bilinearly (align_corners=False) to 256² for the arguments only; the filters
  run on the image at its own size — no resize of the output; the demo saves `(x * 255).astype(uint8)`
  (truncation). `predict` = `forward` then that truncation; the dithering is PIL's own, so the harness does it
  (`dither_mask`: harness/methods/learned.py); `forward` is the differentiable part (soft masks as given).
- Training (`src/train/harmonizer/`: criterion.py, trainer.py): per image, the foreground-normalised
  Charbonnier L1 (ε = 1e-6) + 10 × the foreground-normalised MSE. "Fine" items are made from the truth by
  applying the filters in reverse with random arguments (uniform in [−1, 1], scaled by 0.3, 0.5, 0.5, 0.6,
  0.4, 0.4): every stage has its own target, and stage i is charged only its improvement over stage i − 1,
  all divided by the detached sum of the losses ("dynamic loss"); real composites ("coarse") are charged
  on the last stage, × 10. `training_loss` below; Adam, lr 3e-4 officially.

Differences: the padding of the convolutions is TensorFlow's "same" computed for the actual input, which
equals the official static padding (computed for 224²) whenever the input side is a multiple of 32 (256 is).
Smaller sizes (`tiny`, `small`) scale widths and depths as EfficientNet's compound scaling does; `small` (the
shipped CPU checkpoint) low-passes before its 64² resize (`antialias`; docs/checkpoints.md says why). `full`
— the released configuration — resizes exactly as the official code does.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from baselines.unet import load_state_dict_file, resolve_config

FILTERS = ("temperature", "brightness", "contrast", "saturation", "highlight", "shadow")  # applied in this order
ADJUST_RANGES = (0.3, 0.5, 0.5, 0.6, 0.4, 0.4)  # training: how far each reversed filter may push the truth
EPS = 1e-6


@dataclass(frozen=True)
class HarmonizerConfig:
    width: float = 1.0  # EfficientNet's width coefficient (B0: 1.0)
    depth: float = 1.0  # its depth coefficient (B0: 1.0)
    input_size: int = 256  # the side the arguments are predicted at (the filters run at the input's own size)
    regressor_channels: int = 160
    drop_connect: float = 0.2  # stochastic depth in training, growing linearly over the blocks
    # low-pass before resizing to input_size (not official): a 512² photo resized bilinearly to 64² aliases, and
    # the small CPU-trained network, which never saw aliased inputs, answered it with arguments at ±1
    antialias: bool = False


SIZES = {"full": HarmonizerConfig(),
         "tiny": HarmonizerConfig(width=0.25, depth=0.34, input_size=64, regressor_channels=32),
         # the shipped CPU checkpoint (0.89M): half the widths, one block per stage, predicting from 64²
         "small": HarmonizerConfig(width=0.5, depth=0.34, input_size=64, regressor_channels=96, antialias=True)}

# EfficientNet-B0's stages (Tan & Le 2019, table 1): repeats, kernel, stride, expansion, in, out; SE ratio 0.25
B0_STAGES = ((1, 3, 1, 1, 32, 16), (2, 3, 2, 6, 16, 24), (2, 5, 2, 6, 24, 40), (3, 3, 2, 6, 40, 80),
             (3, 5, 1, 6, 80, 112), (4, 5, 2, 6, 112, 192), (1, 3, 1, 6, 192, 320))
B0_HEAD = 1280


def round_filters(channels: int, width: float, divisor: int = 8) -> int:
    """EfficientNet's channel rounding: scale, round to a multiple of 8, never more than 10 % down."""
    if width == 1.0:
        return channels
    scaled = channels * width
    out = max(divisor, int(scaled + divisor / 2) // divisor * divisor)
    return out + divisor if out < 0.9 * scaled else out


# ----------------------------------------------------------------------------------------------- filters
def rgb_to_hsv(image: torch.Tensor) -> torch.Tensor:
    """N×3×H×W RGB → HSV with hue in [0, 1) (kornia's 2π·h), s = Δ / (V + 1e-8), V = max."""
    v, arg = image.max(dim=1)
    delta = v - image.min(dim=1).values
    s = delta / (v + 1e-8)
    d = torch.where(delta == 0, torch.ones_like(delta), delta)
    r, g, b = image.unbind(1)
    hues = torch.stack(((g - b) / d, 2.0 + (b - r) / d, 4.0 + (r - g) / d), 1)  # by which channel is the max
    h = (hues.gather(1, arg[:, None])[:, 0] / 6.0) % 1.0
    return torch.stack((h, s, v), 1)


def hsv_to_rgb(hsv: torch.Tensor) -> torch.Tensor:
    """The inverse of `rgb_to_hsv` (the six-sector formula)."""
    h, s, v = hsv.unbind(1)
    sector = torch.floor(h * 6.0)
    f = h * 6.0 - sector
    i = sector.long() % 6
    p, q, t = v * (1 - s), v * (1 - f * s), v * (1 - (1 - f) * s)

    def pick(*by_sector: torch.Tensor) -> torch.Tensor:  # a selection, not a stack: 2048² stays light
        out = by_sector[5]
        for k in range(4, -1, -1):
            out = torch.where(i == k, by_sector[k], out)
        return out

    return torch.stack((pick(v, q, p, p, t, v), pick(t, v, v, q, p, p), pick(p, p, t, v, v, q)), 1)


def temperature(image: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Grey-world gains after moving the channel means by |x| (blue's for x > 0, red's for x < 0, green's by
    half): x > 0 warms (blue's gain falls), x < 0 cools; the gains add to the image's own grey-world offsets."""
    means = image.mean(dim=(2, 3), keepdim=True)
    offset = 1 - means.mean(1, keepdim=True) / (means + EPS)
    a = x.abs()
    moved = means + torch.cat((a * (x < 0), 0.5 * a * (x != 0), a * (x > 0)), 1)
    gains = moved.mean(1, keepdim=True) / (moved + EPS) + offset
    return (gains * image).clamp(0, 1)


def brightness(image: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """HSV value × 1/(1 − x) for x ≥ 0, × (1 + x) below."""
    alpha = torch.where(x >= 0, 1 / (1 - x + EPS), 1 + x)
    h, s, v = rgb_to_hsv(image).unbind(1)
    return hsv_to_rgb(torch.stack((h, s, v * alpha[:, 0]), 1)).clamp(0, 1)


def contrast(image: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Stretch about the image's mean (all channels): by x below 0, by 255/(256 − ⌊255x⌋) − 1 above."""
    mean = image.mean(dim=(1, 2, 3), keepdim=True)
    k = torch.where(x.detach() > 0, 255 / (256 - torch.floor(x * 255)) - 1, x)
    return (image + (image - mean) * k).clamp(0, 1)


def saturation(image: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """HSL-style saturation about each pixel's (max + min) / 2: x ≥ 0 by 1/max(1 − x, s) − 1 (capped where
    the pixel would saturate), x < 0 towards grey by 1 + x."""
    hi, lo = image.max(1, keepdim=True).values, image.min(1, keepdim=True).values
    spread, total = hi - lo, hi + lo
    mid = total / 2
    s = torch.where(mid < 0.5, spread / (total + EPS), spread / (2 - total + EPS))
    up = 1 / (torch.where(x + s > 1, s, 1 - x) + EPS) - 1
    positive = x.detach() >= 0
    out = torch.where(positive, image + (image - mid) * up, mid + (image - mid) * (1 + x))
    return out.clamp(0, 1)


def highlight(image: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """A gamma 1 + x on the inverted image: x > 0 darkens the highlights, x < 0 lifts them."""
    return (1 - ((1 - image) + 1e-9).pow(x + 1).clamp(0, 1)).clamp(0, 1)


def shadow(image: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """A gamma 1 − x: x > 0 lifts the shadows, x < 0 deepens them."""
    return (image + 1e-9).pow(1 - x).clamp(0, 1)


FILTER_FNS = {"temperature": temperature, "brightness": brightness, "contrast": contrast,
              "saturation": saturation, "highlight": highlight, "shadow": shadow}


# ------------------------------------------------------------------------------------------------ blocks
def _bn(channels: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(channels, eps=1e-3, momentum=0.01)  # TensorFlow's 0.99 decay, in torch's terms


def _same(x: torch.Tensor, kernel: int, stride: int) -> torch.Tensor:
    """TensorFlow "same" padding (the extra pixel right/bottom) for a kernel × kernel, stride convolution."""
    pads = []
    for n in (x.shape[-1], x.shape[-2]):
        total = max((math.ceil(n / stride) - 1) * stride + kernel - n, 0)
        pads += [total // 2, total - total // 2]
    return F.pad(x, pads) if any(pads) else x


class MBConv(nn.Module):
    """Mobile inverted bottleneck with squeeze-and-excitation (key names as lukemelas's MBConvBlock)."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int, expand: int) -> None:
        super().__init__()
        self.kernel, self.stride = kernel, stride
        mid = c_in * expand
        if expand != 1:
            self._expand_conv = nn.Conv2d(c_in, mid, 1, bias=False)
            self._bn0 = _bn(mid)
        self._depthwise_conv = nn.Conv2d(mid, mid, kernel, stride, groups=mid, bias=False)
        self._bn1 = _bn(mid)
        squeezed = max(1, int(c_in * 0.25))
        self._se_reduce = nn.Conv2d(mid, squeezed, 1)
        self._se_expand = nn.Conv2d(squeezed, mid, 1)
        self._project_conv = nn.Conv2d(mid, c_out, 1, bias=False)
        self._bn2 = _bn(c_out)
        self.residual = stride == 1 and c_in == c_out

    def forward(self, x: torch.Tensor, drop: float = 0.0) -> torch.Tensor:
        y = F.silu(self._bn0(self._expand_conv(x))) if hasattr(self, "_expand_conv") else x
        y = F.silu(self._bn1(self._depthwise_conv(_same(y, self.kernel, self.stride))))
        y = y * torch.sigmoid(self._se_expand(F.silu(self._se_reduce(y.mean((2, 3), keepdim=True)))))
        y = self._bn2(self._project_conv(y))
        if not self.residual:
            return y
        if self.training and drop > 0:  # stochastic depth: the whole branch dropped per sample
            keep = torch.rand(y.shape[0], 1, 1, 1, device=y.device, dtype=y.dtype) >= drop
            y = y * keep / (1 - drop)
        return y + x


class EfficientBackbone(nn.Module):
    """EfficientNet-B0 (scaled by `cfg`) with two stems: foreground view and background view."""

    def __init__(self, cfg: HarmonizerConfig) -> None:
        super().__init__()
        self.drop_connect = cfg.drop_connect
        stem = round_filters(32, cfg.width) // 2
        self._conv_fg, self._bn_fg = nn.Conv2d(4, stem, 3, 2, bias=False), _bn(stem)
        self._conv_bg, self._bn_bg = nn.Conv2d(4, stem, 3, 2, bias=False), _bn(stem)
        blocks = []
        for repeats, kernel, stride, expand, c_in, c_out in B0_STAGES:
            c_in, c_out = round_filters(c_in, cfg.width), round_filters(c_out, cfg.width)
            for r in range(int(math.ceil(cfg.depth * repeats))):
                blocks.append(MBConv(c_in if r == 0 else c_out, c_out, kernel, stride if r == 0 else 1, expand))
        self._blocks = nn.ModuleList(blocks)
        self.out_channels = round_filters(B0_HEAD, cfg.width)
        self._conv_head = nn.Conv2d(round_filters(B0_STAGES[-1][-1], cfg.width), self.out_channels, 1, bias=False)
        self._bn1 = _bn(self.out_channels)

    def forward(self, fg: torch.Tensor, bg: torch.Tensor) -> torch.Tensor:
        x = torch.cat((F.silu(self._bn_fg(self._conv_fg(_same(fg, 3, 2)))),
                       F.silu(self._bn_bg(self._conv_bg(_same(bg, 3, 2))))), 1)
        for i, block in enumerate(self._blocks):
            x = block(x, self.drop_connect * i / len(self._blocks))
        return F.silu(self._bn1(self._conv_head(x)))


class ArgumentRegressor(nn.Module):
    """Pooled features → f and g; head i: g ← W_i·[f, g], argument_i = V_i·g (a cascade over the filters)."""

    def __init__(self, in_channels: int, channels: int, n_args: int) -> None:
        super().__init__()
        self.f = nn.Linear(in_channels, channels)
        self.g = nn.Linear(in_channels, channels)
        self.headers = nn.ModuleList(nn.ModuleList([nn.Linear(2 * channels, channels), nn.Linear(channels, 1)])
                                     for _ in range(n_args))

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        pooled = features.mean((2, 3))
        f, g = self.f(pooled), self.g(pooled)
        out = []
        for hidden, head in self.headers:
            g = hidden(torch.cat((f, g), 1))
            out.append(head(g))
        return torch.cat(out, 1)  # N × 6, unclamped


# ------------------------------------------------------------------------------------------------ model
class Harmonizer(nn.Module):
    """`forward(composite, fg_mask, ref_mask)` at any size (ref_mask unused: the whole background is read).
    The arguments come from `cfg.input_size`² resizes; the filters run at the input's own size."""

    uses_reference = False
    resolution = 256  # the official argument-prediction size: 256² protocols feed their 256² input as it is
    input_multiple = 1
    dither_mask = True  # the official demo reads the mask through PIL convert('1') (Floyd–Steinberg)

    def __init__(self, cfg: HarmonizerConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.backbone = EfficientBackbone(cfg)
        self.regressor = ArgumentRegressor(self.backbone.out_channels, cfg.regressor_channels, len(FILTERS))
        for m in self.modules():  # the official trainer's initialisation (before its ImageNet backbone)
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_uniform_(m.weight, a=0, mode="fan_in", nonlinearity="relu")
                if m.bias is not None:
                    nn.init.zeros_(m.bias)

    def predict_arguments(self, composite: torch.Tensor, fg_mask: torch.Tensor) -> torch.Tensor:
        """The six arguments (N×6, clamped to [−1, 1]) from bilinear resizes of the composite and mask."""
        size = (self.cfg.input_size, self.cfg.input_size)
        aa = self.cfg.antialias
        comp = F.interpolate(composite, size, mode="bilinear", align_corners=False, antialias=aa)
        mask = F.interpolate(fg_mask, size, mode="bilinear", align_corners=False, antialias=aa)
        args = self.regressor(self.backbone(torch.cat((comp, mask), 1), torch.cat((comp, 1 - mask), 1)))
        return args.clamp(-1, 1)

    def stages(self, composite: torch.Tensor, fg_mask: torch.Tensor, args: torch.Tensor | None = None):
        """The six filter stages (each composited over the input with `fg_mask`), at the input's size."""
        args = self.predict_arguments(composite, fg_mask) if args is None else args
        return apply_filters(composite, fg_mask, args, FILTERS)

    def forward(self, composite: torch.Tensor, fg_mask: torch.Tensor, ref_mask: torch.Tensor) -> torch.Tensor:
        return self.stages(composite, fg_mask)[-1]

    @torch.no_grad()
    def predict(self, composite: torch.Tensor, fg_mask: torch.Tensor, ref_mask: torch.Tensor) -> torch.Tensor:
        """What the official demo writes, as floats: the output truncated to 8 bits (give the dithered mask)."""
        return truncate_8bit(self(composite, fg_mask, ref_mask))


def apply_filters(image: torch.Tensor, mask: torch.Tensor, args: torch.Tensor, order) -> list[torch.Tensor]:
    """Each filter on the whole image in turn; after each, its foreground over `image`."""
    out, current = [], image
    for i, name in enumerate(order):
        current = FILTER_FNS[name](current, args[:, i].view(-1, 1, 1, 1))
        out.append(current * mask + image * (1 - mask))
    return out


def truncate_8bit(image: torch.Tensor) -> torch.Tensor:
    """`(x * 255).astype(uint8)` / 255: the demo truncates, it does not round."""
    return (image * 255).to(torch.uint8).to(image.dtype) / 255


# ----------------------------------------------------------------------------------------------- losses
def image_loss(pred: torch.Tensor, truth: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Per image: foreground-normalised Charbonnier L1 + 10 × foreground-normalised MSE (official criterion)."""
    area = mask.sum((1, 2, 3)) + 1e-6
    l1 = (torch.sqrt((pred - truth) ** 2 + 1e-6) * mask).sum((1, 2, 3)) / area
    l2 = (((pred - truth) ** 2) * mask).sum((1, 2, 3)) / area
    return l1 + 10 * l2


def adjust(model: Harmonizer, real: torch.Tensor, mask: torch.Tensor, args: torch.Tensor) -> list[torch.Tensor]:
    """The official "fine" data: the filters in reverse order on the truth, arguments scaled by ADJUST_RANGES."""
    scaled = args * torch.tensor(ADJUST_RANGES, device=args.device, dtype=args.dtype)
    return apply_filters(real, mask, scaled.flip(1), FILTERS[::-1])


def training_loss(model: Harmonizer, composite: torch.Tensor, real: torch.Tensor, fg_mask: torch.Tensor):
    """The official objective (module docstring) on one batch: fine items made from `real`, coarse = the
    batch's composites. Returns (total, {term: value})."""
    with torch.no_grad():
        made = adjust(model, real, fg_mask, torch.rand(real.shape[0], len(FILTERS), device=real.device) * 2 - 1)
    targets = [*made[-2::-1], real]
    fine = [image_loss(p, t, fg_mask) for p, t in zip(model.stages(made[-1], fg_mask), targets)]
    norm = fine[0].detach() + sum(F.relu(b.detach() - a.detach()) for a, b in zip(fine, fine[1:])) + 1e-9
    terms = [(fine[0] / norm).mean()] + [F.relu((b - a.detach()) / norm).mean() for a, b in zip(fine, fine[1:])]
    coarse = image_loss(model(composite, fg_mask, fg_mask), real, fg_mask).mean() * 10
    total = sum(terms) + coarse
    # the normalised fine terms sum to 1 by construction: the last stage's own loss says more
    return total, {"fine": float(sum(terms).detach()), "fine_last": float(fine[-1].detach().mean()),
                   "coarse": float(coarse.detach()), "total": float(total.detach())}


# ------------------------------------------------------------------------------------ official weights
def load_official(model: Harmonizer, path: str | Path) -> None:
    """Load the released `harmonizer.pth` (a file, or a folder holding it) strictly."""
    path = Path(path)
    if path.is_dir():
        path = path / "harmonizer.pth"
    load_state_dict_file(model, path, "Harmonizer (harmonizer.pth)")


# ------------------------------------------------------------------------------------------- registry
def build(size: str = "tiny", **overrides) -> Harmonizer:
    """`build("full")` = the released configuration (EfficientNet-B0, 4,726,882 parameters)."""
    return Harmonizer(resolve_config(SIZES, size, overrides))
