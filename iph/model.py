"""IPH — Interactive Portrait Harmonization (Valanarasu et al., ICLR 2023), §4 of the paper, top to bottom.

The official code was never released; this follows the paper's Fig. 2 and text (see
shared notes harmonization-facts.md §1.1), with the closest public designs filling the gaps:

1. **Style encoder** φ — strided partial convolutions (Liu et al. 2018) over the reference region and its mask,
   so no pixel outside the region is ever seen, then a *masked* average pool and a linear map to a 1×D style
   code (as Bargain-Net's domain-code extractor, with the pooling restricted to the region). No normalisation
   layers: instance norm would erase the very colour statistics the code must carry.
2. **Harmonizer** — input = the masked-out foreground (composite × fg mask) + the fg mask + the style code
   "resized and concatenated with the input". Only the foreground goes in: the paper found the style leaks into
   the background otherwise. The concatenated code is a constant map, so its share of the first convolution is
   a style-dependent bias; it is computed as one (exactly equal away from the zero-padded border) instead of
   convolving D constant channels at full resolution. Encoder: a 4×4 stride-2 stem, then 4 blocks of (4×4
   stride-2 conv + residual blocks) down to H/32; a bottleneck of AdaIN residual blocks driven by the style
   code; decoder: 4 blocks of (×2 upsampling + conv + AdaIN residual blocks) with additive skips from the
   encoder, then ×2 to full size. Narrow where the image is large, wide where it is small: the full model has
   the paper's ≈27M parameters at about a twentieth of the compute of full-resolution residual blocks
   (benchmarks/bench_models.py). The head predicts a colour *residual* added to the composite foreground.
3. **Output** — the harmonized foreground in [0, 1], composited over the composite with the fg mask, so pixels
   outside the foreground (mask ≤ 0.5) are returned bit-for-bit unchanged.
4. **H-Net alone** (Table 3's first row, `use_style_encoder=False`) — the harmonizer with the style encoder taken
   out, and with it everything the code fed: no concatenation, and plain residual blocks where the AdaIN ones
   were. It sees the masked foreground only.

Images are in [0, 1] at the API and mapped to [-1, 1] inside. Sizes that are not multiples of 2^scales (32
for `full`) are padded (replicate) and cropped back. §7's colour-transfer control is `blend_styles` / `IPH.harmonize_blend`.
"""

from __future__ import annotations

import dataclasses
import difflib
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from iph.layers import AdaINResBlock, PartialConv2d, ResBlock

INSIDE = 0.5  # mask > INSIDE is inside a region: harness/data/sample.py's value, restated (iph imports no harness)


@dataclass(frozen=True)
class IPHConfig:
    """Everything that decides IPH's architecture. `full` ≈ 27M parameters, the paper's reported size."""

    # Harmonizer widths at H/2, H/4, H/8, H/16, H/32 (the stem's, then after each strided conv); one entry
    # per scale, so the number of entries sets the depth (the bottleneck is at H/2^len).
    channels: tuple[int, ...] = (32, 64, 128, 256, 512)
    enc_res_blocks: tuple[int, ...] = (0, 0, 1, 1, 1)  # plain residual blocks at each scale
    mid_blocks: int = 3  # AdaIN residual blocks at the bottleneck, where the style does most of its work
    dec_res_blocks: tuple[int, ...] = (0, 1, 1, 1)  # AdaIN residual blocks at each scale above it, on the way up
    skips: bool = True  # add the encoder's features at each scale into the decoder (U-Net style, additive)
    # Style encoder: one stride-2 partial conv per entry (Fig. 2 draws 5 blocks), then masked avg-pool → D.
    style_channels: tuple[int, ...] = (64, 128, 256, 256, 256)
    style_dim: int = 128  # D, the length of the style code
    # False = "H-Net alone", the first row of the paper's ablation (Table 3): no style encoder, no code
    # concatenated with the input and no AdaIN — the bottleneck and decoder blocks are plain residual blocks
    # (instance norm, no style) — so the harmonizer sees the masked foreground and nothing of the reference.
    use_style_encoder: bool = True
    resolution: int = 256  # working size the engine resizes to (the network itself takes any size)


SIZES: dict[str, IPHConfig] = {
    "full": IPHConfig(),  # 28.9M parameters (harmonizer 27.3M + style encoder 1.6M), 10.8 GFLOP per 256² forward
    # tests: a forward+backward at 64×64 takes milliseconds on one CPU core; 4 scales (a 4×4 bottleneck there)
    "tiny": IPHConfig(channels=(8, 16, 16, 32), enc_res_blocks=(0, 0, 1, 1), mid_blocks=1,
                      dec_res_blocks=(0, 1, 1), style_channels=(8, 16, 16, 32, 32), style_dim=16),
    # the shipped CPU-trained checkpoint (docs/checkpoints.md)
    "small": IPHConfig(channels=(16, 24, 48, 96, 128), enc_res_blocks=(0, 0, 1, 1, 1), mid_blocks=1,
                       dec_res_blocks=(0, 1, 1, 1), style_channels=(16, 32, 64, 64, 64), style_dim=32),
}


def _did_you_mean(name: str, known) -> str:
    close = difflib.get_close_matches(name, list(known), n=3, cutoff=0.5)
    return f" Did you mean: {', '.join(close)}?" if close else ""


def config_for(size: str = "tiny", **overrides) -> IPHConfig:
    """The named size with fields replaced by `overrides` (unknown size/field → ValueError with did-you-mean)."""
    if size not in SIZES:
        raise ValueError(f"unknown IPH size '{size}'.{_did_you_mean(size, SIZES)} Known: {', '.join(SIZES)}")
    fields = {f.name for f in dataclasses.fields(IPHConfig)}
    for key in overrides:
        if key not in fields:
            raise ValueError(f"unknown IPH config field '{key}'.{_did_you_mean(key, fields)} "
                             f"Known: {', '.join(sorted(fields))}")
    # Lists (from JSON or a CLI) become tuples, so configs stay hashable and compare equal.
    overrides = {k: tuple(v) if isinstance(v, list) else v for k, v in overrides.items()}
    cfg = dataclasses.replace(SIZES[size], **overrides)
    scales = len(cfg.channels)
    if scales < 2:
        raise ValueError(f"channels needs at least 2 widths (one per scale), got {cfg.channels}")
    for name, n in (("enc_res_blocks", scales), ("dec_res_blocks", scales - 1)):
        if len(getattr(cfg, name)) != n:
            raise ValueError(f"{name} needs {n} entries (one per scale of channels), got {getattr(cfg, name)}")
    if not cfg.style_channels:
        raise ValueError("style_channels needs at least one width")
    return cfg


# --------------------------------------------------------------------------------------------- style encoder
class StyleEncoder(nn.Module):
    """φ(image, mask) -> N×D: the style code of the region `mask` of `image` (image in [-1, 1])."""

    def __init__(self, cfg: IPHConfig) -> None:
        super().__init__()
        widths = (3, *cfg.style_channels)
        self.convs = nn.ModuleList(
            PartialConv2d(cin, cout, 3, stride=2, padding=1) for cin, cout in zip(widths[:-1], widths[1:])
        )
        self.act = nn.LeakyReLU(0.2)
        self.to_code = nn.Linear(widths[-1], cfg.style_dim)

    def forward(self, image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        x, m = image, mask
        for conv in self.convs:
            x, m = conv(x, m)
            x = self.act(x)  # partial conv gives exactly 0 outside the region, and act(0) = 0
        # Masked average: only the positions that saw the region count (an empty region gives the bias).
        pooled = (x * m).sum(dim=(2, 3)) / m.sum(dim=(2, 3)).clamp_min(1e-6)
        return self.to_code(pooled)

    def encode(self, image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """φ at the API's conventions: `image` in [0, 1], `mask` > 0.5 inside."""
        return self(image * 2.0 - 1.0, (mask > INSIDE).to(image.dtype))


# ------------------------------------------------------------------------------------------------ harmonizer
def _down(cin: int, cout: int) -> nn.Module:
    return nn.Sequential(nn.Conv2d(cin, cout, 4, stride=2, padding=1), nn.LeakyReLU(0.2))


class Harmonizer(nn.Module):
    """(masked foreground and fg mask, style) -> N×3×H×W colour residual for the foreground. Without a style
    encoder (H-Net alone) `style` is None and every style-driven layer is a plain one."""

    def __init__(self, cfg: IPHConfig) -> None:
        super().__init__()
        c = cfg.channels
        self.scales = len(c)
        self.skips = cfg.skips
        self.styled = cfg.use_style_encoder
        self.stem = nn.Conv2d(3 + 1, c[0], 4, stride=2, padding=1)
        # the concatenated code's share of the stem (none without a code)
        self.stem_style = nn.Linear(cfg.style_dim, c[0], bias=False) if self.styled else None

        def block(ch: int) -> nn.Module:
            return AdaINResBlock(ch, cfg.style_dim) if self.styled else ResBlock(ch)

        self.enc = nn.ModuleList(
            nn.Sequential(*([] if i == 0 else [_down(c[i - 1], c[i])]),
                          *(ResBlock(c[i]) for _ in range(cfg.enc_res_blocks[i])))
            for i in range(self.scales)
        )
        self.mid = nn.ModuleList(block(c[-1]) for _ in range(cfg.mid_blocks))
        # Decoder step j goes from scale 4-j to 3-j (widths c[4-j] -> c[3-j]).
        self.up = nn.ModuleList(nn.Conv2d(c[i + 1], c[i], 3, padding=1) for i in reversed(range(self.scales - 1)))
        self.dec = nn.ModuleList(
            nn.ModuleList(block(c[i]) for _ in range(cfg.dec_res_blocks[i]))
            for i in reversed(range(self.scales - 1))
        )
        self.head = nn.Sequential(nn.LeakyReLU(0.2), nn.Conv2d(c[0], 3, 3, padding=1))

    def forward(self, x: torch.Tensor, style: torch.Tensor | None) -> torch.Tensor:
        h = self.stem(x)
        if self.stem_style is not None:
            h = h + self.stem_style(style)[:, :, None, None]
        h = F.leaky_relu(h, 0.2)
        feats = []
        for block in self.enc:
            h = block(h)
            feats.append(h)
        for block in self.mid:
            h = block(h, style) if self.styled else block(h)
        for j, (up, blocks) in enumerate(zip(self.up, self.dec)):
            h = up(F.interpolate(h, scale_factor=2.0, mode="bilinear", align_corners=False))
            if self.skips:
                h = h + feats[self.scales - 2 - j]
            for block in blocks:
                h = block(h, style) if self.styled else block(h)
        h = F.interpolate(h, scale_factor=2.0, mode="bilinear", align_corners=False)
        return self.head(h)


# ------------------------------------------------------------------------------------------------------- IPH
def _check(composite: torch.Tensor, *masks: torch.Tensor) -> None:
    if composite.ndim != 4 or composite.shape[1] != 3:
        raise ValueError(f"composite must be N×3×H×W, got {tuple(composite.shape)}")
    n, _, h, w = composite.shape
    for m in masks:
        if m.shape != (n, 1, h, w):
            raise ValueError(f"masks must be N×1×H×W = {(n, 1, h, w)}, got {tuple(m.shape)}")


def _pad(t: torch.Tensor, mode: str, scales: int) -> torch.Tensor:
    """Pad bottom/right to a multiple of 2^scales (at least twice that, so the bottleneck keeps >1 pixel for
    instance norm)."""
    m = 2 ** scales
    h, w = t.shape[-2:]
    ph, pw = max(2 * m, -(-h // m) * m) - h, max(2 * m, -(-w // m) * m) - w
    if ph == 0 and pw == 0:
        return t
    return F.pad(t, (0, pw, 0, ph), mode=mode) if mode != "constant" else F.pad(t, (0, pw, 0, ph))


def blend_styles(style_a: torch.Tensor, style_b: torch.Tensor, r1: float, r2: float) -> torch.Tensor:
    """§7 colour-transfer control: r1·style_a + r2·style_b. r1 + r2 = 1 interpolates between the two regions'
    styles; other sums are allowed (extrapolation), r1 = 1, r2 = 0 gives style_a exactly."""
    if style_a.shape != style_b.shape:
        raise ValueError(f"style codes differ in shape: {tuple(style_a.shape)} vs {tuple(style_b.shape)}")
    return r1 * style_a + r2 * style_b


class IPH(nn.Module):
    """`forward(composite, fg_mask, ref_mask) -> harmonized` (the contract every network of the harness follows; see harness/methods/registry.py)."""

    input_multiple = 1  # any H and W: it pads to its own multiple and crops back

    def __init__(self, cfg: IPHConfig | None = None) -> None:
        super().__init__()
        self.cfg = cfg or IPHConfig()
        self.uses_reference: bool = self.cfg.use_style_encoder
        self.resolution: int = self.cfg.resolution
        self.style_encoder = StyleEncoder(self.cfg) if self.cfg.use_style_encoder else None
        self.harmonizer = Harmonizer(self.cfg)

    def style_code(self, image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """φ: the N×D style code of the region `mask` (> 0.5 inside) of `image` in [0, 1]."""
        _check(image, mask)
        if self.style_encoder is None:
            raise ValueError("H-Net alone (use_style_encoder=False) has no style encoder, so no style code")
        return self.style_encoder.encode(image, mask)

    def harmonize_with_style(self, composite: torch.Tensor, fg_mask: torch.Tensor,
                             style: torch.Tensor | None) -> torch.Tensor:
        """Harmonize the foreground towards `style` (N×D; None for H-Net alone, which takes no style); the
        background is returned unchanged."""
        _check(composite, fg_mask)
        if self.style_encoder is None:
            if style is not None:
                raise ValueError("H-Net alone (use_style_encoder=False) takes no style code")
        elif style is None or style.shape != (composite.shape[0], self.cfg.style_dim):
            raise ValueError(f"style must be N×D = {(composite.shape[0], self.cfg.style_dim)}, "
                             f"got {None if style is None else tuple(style.shape)}")
        h, w = composite.shape[-2:]
        comp = _pad(composite, "replicate", len(self.cfg.channels))
        fg = _pad(fg_mask, "constant", len(self.cfg.channels))
        x = torch.cat([(comp * 2.0 - 1.0) * fg, fg], dim=1)  # the style code joins inside (Harmonizer.stem_style)
        residual = self.harmonizer(x, style)
        foreground = (comp + residual).clamp(0.0, 1.0)[..., :h, :w]
        # Composite with the soft mask inside; pixels outside (≤ 0.5) are copied, not blended, so they stay exact.
        inside = fg_mask > INSIDE
        blended = composite + fg_mask * (foreground - composite)
        return torch.where(inside.expand_as(composite), blended, composite)

    def forward(self, composite: torch.Tensor, fg_mask: torch.Tensor, ref_mask: torch.Tensor) -> torch.Tensor:
        _check(composite, fg_mask, ref_mask)
        # The reference image is the composite itself, seen only through ref_mask (H-Net alone ignores it).
        style = None if self.style_encoder is None else self.style_code(composite, ref_mask)
        return self.harmonize_with_style(composite, fg_mask, style)

    def harmonize_blend(self, composite: torch.Tensor, fg_mask: torch.Tensor, ref_mask: torch.Tensor,
                        ref_mask_b: torch.Tensor, r1: float, r2: float,
                        image_b: torch.Tensor | None = None) -> torch.Tensor:
        """§7: harmonize towards r1·φ(ref region) + r2·φ(second region, of `image_b` or the composite)."""
        style_a = self.style_code(composite, ref_mask)
        style_b = self.style_code(composite if image_b is None else image_b, ref_mask_b)
        return self.harmonize_with_style(composite, fg_mask, blend_styles(style_a, style_b, r1, r2))


def count_parameters(model: nn.Module) -> int:
    """Trainable parameters (no forward pass needed)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def build(size: str = "tiny", **overrides) -> IPH:
    """Registry entry ("iph.model:build"): `build("full")`, `build("tiny", style_dim=32)`."""
    return IPH(config_for(size, **overrides))
