"""Validation during and after training, on data that is never an evaluation suite: relit pairs made from the
training photos with a seed of their own (VALIDATION_SEED), so the objective can be chosen without looking at
`relit`, `sample` or any other suite the harness reports on.

For each pair (one composite, two reference regions, a truth under each) the model harmonizes the composite
towards each region; reported: reference accuracy (the output under region A closer to truth A than to truth
B, foreground mean ΔE2000, both orders, over pairs whose truths differ by MIN_TRUTH_GAP or more, as the sweep
counts them — harness/scoring/robustness.py; chance is 50 %), the output's and the composite's foreground ΔE2000 to
the truth, and the spread of the style codes (iph.losses.code_spread).
"""

from __future__ import annotations

from typing import Any

import numpy as np

VALIDATION_SEED = 10_007


def validate(model, pairs: int = 32, resolution: int = 128, seed: int = VALIDATION_SEED,
             device: str = "cpu") -> dict[str, Any]:
    import torch

    from harness.scoring.metrics import delta_e2000, srgb_to_lab
    from harness.scoring.robustness import MIN_TRUTH_GAP
    from harness.train.relit import RelitDataset

    ds = RelitDataset(resolution, stage=2, seed=seed, pairs="regions")  # two regions of one composite, as in `relit`
    was_training = model.training
    model.eval()

    def fde(a: torch.Tensor, b: torch.Tensor, fg: torch.Tensor) -> float:
        m = fg[0] > 0.5
        la, lb = srgb_to_lab(a[:, m].double()), srgb_to_lab(b[:, m].double())
        return float(delta_e2000(lb, la).mean())

    wins = total = 0
    out_de, comp_de, codes = [], [], []
    with torch.no_grad():
        for k in range(pairs):
            items = [ds[2 * k], ds[2 * k + 1]]
            batch = {key: torch.stack([it[key] for it in items]).to(device) for key in items[0]}
            out = model(batch["composite"], batch["fg_mask"], batch["ref_mask"]).cpu()
            if getattr(model, "style_encoder", None) is not None:  # IPH with a style encoder
                codes.append(model.style_code(batch["composite"], batch["ref_mask"]).cpu())
            real, comp, fg = batch["real"].cpu(), batch["composite"].cpu(), batch["fg_mask"].cpu()
            if fde(real[0], real[1], fg[0]) < MIN_TRUTH_GAP:
                continue  # the two regions imply nearly the same truth: nothing to tell apart
            for i, j in ((0, 1), (1, 0)):
                wins += int(fde(out[i], real[i], fg[i]) < fde(out[i], real[j], fg[i]))
                total += 1
                out_de.append(fde(out[i], real[i], fg[i]))
                comp_de.append(fde(comp[i], real[i], fg[i]))
    if was_training:
        model.train()
    result = {"val/reference_accuracy": wins / total if total else float("nan"), "val/pairs": total / 2,
              "val/fde2000": float(np.mean(out_de)), "val/fde2000_composite": float(np.mean(comp_de))}
    if codes:
        from iph.losses import code_spread

        result["val/code_spread"] = code_spread(torch.cat(codes))
    return result
