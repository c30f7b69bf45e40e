"""IPH's training objective (§4 of the paper): harmonization L1, luminance matching, style consistency, triplets.

    total = L_harm + α·L_LM + λ·L_consis + β·(L_t1 + L_t2)

- L_harm   = mean |harmonized − real| over the whole image (the background is identical by construction, so
             only the foreground contributes; `harm_per_foreground` divides by the foreground area instead).
- L_LM     = L_highlight + L_midtone + L_shadow: per sample, the absolute difference between the harmonized
             foreground's and the reference region's luminance 90th percentile, mean and 10th percentile.
             Luminance here is **Rec. 709 luma on the stored [0, 1] (sRGB-encoded) values**,
             Y' = 0.2126 R' + 0.7152 G' + 0.0722 B' — what an eyedropper on the image reads, as in the paper's
             highlight/mid-tone/shadow picture. Percentiles use linear interpolation between order statistics
             (numpy's default), over the pixels with mask > 0.5; `torch.quantile` keeps them differentiable.
- L_consis = mean |φ(harmonized fg) − sg(φ(reference))| with φ the model's own style encoder; the reference's
             code is held fixed (stop-gradient, `consistency_stop_grad`), so the term pulls the harmonized
             foreground towards the reference's style and not the encoder towards one constant code — which
             satisfies it trivially (the first shipped IPH's codes collapsed that way).
- L_t1     = triplet(anchor h = φ(harmonized fg), positive b = φ(reference), negative c = φ(composite fg)).
- L_t2     = triplet(anchor h, positive r = φ(real fg), negative c): max(0, ‖h−p‖₂ − ‖h−n‖₂ + m), batch mean.
             L_consis and both triplets compare L2-normalised codes: the codes' scale is free (AdaIN's affine
             maps absorb it), and left free these terms trade it against each other and grow it without end.

The paper's weights were not published; the defaults below are ours (Bargain-Net's triplet weight 0.01 and
margin 0.1 for β and m). Every term has a switch so the ablations (H-Net alone, + style encoder, + each
luminance term) are configs, not code. `Objective` wraps model + loss in one nn.Module for DDP.

**H-Net alone.** Table 3 trains every row with L_harm, L_consis and L_triplet. Those compare style codes, and
H-Net alone (iph/model.py, `use_style_encoder=False`) has no style encoder, so we read the table's "SE" column as
"the harmonizer is conditioned on φ's code": for H-Net alone φ still exists *in the objective* — trained by the
triplets exactly as in the other rows, and pulling the output's style towards the reference's through L_consis
— but the harmonizer never sees a code, and φ is not part of the model (nor of its checkpoint), like a
discriminator. So the first two rows differ only in whether the code reaches the harmonizer.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from iph.model import INSIDE, IPH, StyleEncoder

REC709 = (0.2126, 0.7152, 0.0722)


@dataclass(frozen=True)
class LossConfig:
    """Weights and switches of IPH's objective. A term is computed only when it is on and its weight is > 0."""

    harmonization: bool = True  # L_harm, L1 to the ground truth
    harm_per_foreground: bool = False  # divide L_harm by the foreground area instead of the image area
    alpha: float = 0.1  # α, weight of L_LM (its terms are foreground statistics, L_harm an image mean)
    highlight: bool = True  # L_highlight: |P_hi(h) − P_hi(ref)|
    midtone: bool = True  # L_midtone: |mean(h) − mean(ref)|
    shadow: bool = True  # L_shadow: |P_lo(h) − P_lo(ref)|
    highlight_q: float = 0.9  # the highlight percentile, as a fraction
    shadow_q: float = 0.1  # the shadow percentile, as a fraction
    lam: float = 0.1  # λ, weight of L_consis
    consistency: bool = True
    consistency_stop_grad: bool = True  # hold φ(reference) fixed in L_consis (a guard against code collapse)
    beta: float = 0.01  # β, weight of the two triplet losses
    triplet_reference: bool = True  # L_t1 (h, b, c)
    triplet_real: bool = True  # L_t2 (h, r, c)
    margin: float = 0.1  # m


# The rows of the paper's ablation (Table 3: H-Net alone, + style encoder, + each luminance term). "hnet" has the
# same loss as "style"; its model is built with use_style_encoder=False (harness/train/recipes.py: IPHRecipe).
LOSS_PRESETS: dict[str, LossConfig] = {
    "hnet": LossConfig(alpha=0.0),
    "style": LossConfig(alpha=0.0),
    "style+highlight": LossConfig(midtone=False, shadow=False),
    "style+highlight+midtone": LossConfig(shadow=False),
    "all": LossConfig(),  # the whole objective
}


def luma(image: torch.Tensor) -> torch.Tensor:
    """Rec. 709 luma of N×3×H×W [0, 1] images -> N×H×W."""
    w = torch.tensor(REC709, dtype=image.dtype, device=image.device)
    return torch.einsum("nchw,c->nhw", image, w)


def luminance_stats(image: torch.Tensor, mask: torch.Tensor, highlight_q: float = 0.9,
                    shadow_q: float = 0.1) -> torch.Tensor:
    """N×3: (highlight percentile, mean, shadow percentile) of the luma inside `mask` (> 0.5), per sample."""
    y = luma(image)
    inside = mask[:, 0] > INSIDE
    qs = torch.tensor([highlight_q, shadow_q], dtype=y.dtype, device=y.device)
    rows = []
    for i in range(y.shape[0]):  # regions differ in size: one sample at a time
        vals = y[i][inside[i]]
        if vals.numel() == 0:
            raise ValueError(f"sample {i}: empty region (no mask value > {INSIDE}) for the luminance loss")
        hi, lo = torch.quantile(vals, qs)
        rows.append(torch.stack([hi, vals.mean(), lo]))
    return torch.stack(rows)


def luminance_matching(harmonized: torch.Tensor, fg_mask: torch.Tensor, reference: torch.Tensor,
                       ref_mask: torch.Tensor, cfg: LossConfig = LossConfig()) -> dict[str, torch.Tensor]:
    """The enabled L_LM terms {"highlight", "midtone", "shadow"}, each a batch mean of |Δ| (a scalar tensor)."""
    a = luminance_stats(harmonized, fg_mask, cfg.highlight_q, cfg.shadow_q)
    b = luminance_stats(reference, ref_mask, cfg.highlight_q, cfg.shadow_q)
    diff = (a - b).abs().mean(dim=0)
    on = {"highlight": cfg.highlight, "midtone": cfg.midtone, "shadow": cfg.shadow}
    return {name: diff[k] for k, name in enumerate(on) if on[name]}


def _triplet(anchor: torch.Tensor, positive: torch.Tensor, negative: torch.Tensor, margin: float) -> torch.Tensor:
    return F.triplet_margin_loss(anchor, positive, negative, margin=margin, p=2.0)


def needs_codes(cfg: LossConfig) -> bool:
    """Whether the objective compares style codes (L_consis or a triplet is on)."""
    return (cfg.lam > 0 and cfg.consistency) or (cfg.beta > 0 and (cfg.triplet_reference or cfg.triplet_real))


def compute_losses(model: IPH, composite: torch.Tensor, fg_mask: torch.Tensor, ref_mask: torch.Tensor,
                   real: torch.Tensor, cfg: LossConfig = LossConfig(), encoder: StyleEncoder | None = None
                   ) -> tuple[torch.Tensor, dict[str, float]]:
    """Run IPH on the batch and return (total loss, {term: float} for logging, "total" included).

    The reference is the composite seen through `ref_mask`; the style encoder is trained jointly through
    L_consis and the triplets (as Bargain-Net trains its extractor), and the margins keep it from collapsing.
    φ is the model's style encoder, or — for H-Net alone, which has none — `encoder` (see the module docstring).
    """
    phi = model.style_encoder if model.style_encoder is not None else encoder
    style_b = None if model.style_encoder is None else model.style_code(composite, ref_mask)
    harmonized = model.harmonize_with_style(composite, fg_mask, style_b)
    terms: dict[str, torch.Tensor] = {}

    if cfg.harmonization:
        err = (harmonized - real).abs()
        if cfg.harm_per_foreground:
            area = (fg_mask > INSIDE).sum(dim=(1, 2, 3)).clamp_min(1) * 3
            terms["harmonization"] = (err.sum(dim=(1, 2, 3)) / area).mean()
        else:
            terms["harmonization"] = err.mean()
    total = terms.get("harmonization", harmonized.new_zeros(()))

    if cfg.alpha > 0 and (cfg.highlight or cfg.midtone or cfg.shadow):
        lm = luminance_matching(harmonized, fg_mask, composite, ref_mask, cfg)
        terms.update(lm)
        terms["lm"] = sum(lm.values())
        total = total + cfg.alpha * terms["lm"]

    need_consis = cfg.lam > 0 and cfg.consistency
    need_triplet = cfg.beta > 0 and (cfg.triplet_reference or cfg.triplet_real)
    if need_consis or need_triplet:
        if phi is None:
            raise ValueError("L_consis and the triplet losses need a style encoder: the model's, or for H-Net "
                             "alone one beside it (`encoder`; iph.losses.Objective makes it)")
        h = F.normalize(phi.encode(harmonized, fg_mask), dim=1)
        b = F.normalize(style_b if style_b is not None else phi.encode(composite, ref_mask), dim=1)
        if need_consis:
            target = b.detach() if cfg.consistency_stop_grad else b
            terms["consistency"] = (h - target).abs().mean()
            total = total + cfg.lam * terms["consistency"]
        if need_triplet:
            c = F.normalize(phi.encode(composite, fg_mask), dim=1)
            trip = harmonized.new_zeros(())
            if cfg.triplet_reference:
                terms["triplet_reference"] = _triplet(h, b, c, cfg.margin)
                trip = trip + terms["triplet_reference"]
            if cfg.triplet_real:
                r = F.normalize(phi.encode(real, fg_mask), dim=1)
                terms["triplet_real"] = _triplet(h, r, c, cfg.margin)
                trip = trip + terms["triplet_real"]
            total = total + cfg.beta * trip

    logged = {k: float(v.detach()) for k, v in terms.items()}
    logged["total"] = float(total.detach())
    if model.style_encoder is not None:  # a diagnostic, not a loss term: the codes must tell regions apart
        logged["code_spread"] = code_spread(style_b)
    return total, logged


def code_spread(codes: torch.Tensor) -> float:
    """How different a batch's style codes are: the mean per-dimension standard deviation across the batch
    over the mean code norm (0 = every region gets the same code: collapse)."""
    codes = codes.detach().float()
    if codes.shape[0] < 2:
        return float("nan")
    return float(codes.std(dim=0).mean() / codes.norm(dim=1).mean().clamp_min(1e-8))


class Objective(nn.Module):
    """model + loss as one module, so that DDP (which only hooks `forward`) sees every parameter used.

    `forward(composite, fg_mask, ref_mask, real) -> (total, terms)`; the wrapped IPH is `.model`. For H-Net
    alone with code-comparing terms, `.loss_encoder` is the φ the objective trains beside the model (saved with
    the training state, never with the model); otherwise None.
    """

    def __init__(self, model: IPH, cfg: LossConfig = LossConfig()) -> None:
        super().__init__()
        self.model = model
        self.cfg = cfg
        self.loss_encoder = StyleEncoder(model.cfg) if model.style_encoder is None and needs_codes(cfg) else None

    def forward(self, composite: torch.Tensor, fg_mask: torch.Tensor, ref_mask: torch.Tensor,
                real: torch.Tensor) -> tuple[torch.Tensor, dict[str, float]]:
        return compute_losses(self.model, composite, fg_mask, ref_mask, real, self.cfg, self.loss_encoder)
