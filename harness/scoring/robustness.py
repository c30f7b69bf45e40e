"""Does the output follow the reference region? run-robustness's two statistics, defined once.

Input: sweep rows (harness/engine/worker.py), one per (method, sample, candidate reference region), each with
`fg_lab` (the output foreground's mean CIE L*a*b*), `ref_lab` (the candidate region's mean L*a*b*, in the
composite), and — where the suite knows the truth each region implies — `de2000_to` (the output foreground's
mean ΔE2000 to every per-reference truth) and `truth_apart` (the truths' foreground ΔE2000 to each other).

**Responsiveness** — how much the foreground moves when the reference moves, relative to how much the
references themselves differ:

    R = Σ_s Σ_{i<j} ‖fg_lab(s, i) − fg_lab(s, j)‖  /  Σ_s Σ_{i<j} ‖ref_lab(s, i) − ref_lab(s, j)‖

over samples s and pairs of candidate regions i, j (CIE ΔE76 between mean colours). `composite` is 0 by
construction; a method that shifts the foreground's mean colour exactly as far as the reference's mean colour
moves scores 1; Reinhard transfer, which copies the reference's mean, is near 1. A ratio of sums, so samples
whose regions barely differ weigh little. 95% CI: percentile bootstrap over samples.

**Reference accuracy** — for every sample, method and ordered pair (A, B) of regions that both have a truth and
whose truths differ on the foreground by at least MIN_TRUTH_GAP (mean ΔE2000; closer truths cannot be told
apart): the output under A is a success when it is closer to truth A than to truth B. Accuracy = successes /
pairs; chance (and `composite`, whose output never moves) is 50 %. null when the suite has no per-reference
truth. 95% CI: percentile bootstrap over samples.
"""

from __future__ import annotations

from itertools import combinations

import numpy as np
import pandas as pd

MIN_TRUTH_GAP = 3.0  # ΔE2000 between two regions' truths on the foreground, below which a pair is not scored


def _per_sample(rows: pd.DataFrame) -> pd.DataFrame:
    """Per (method, sample): Σ output distance, Σ reference distance, successes, pairs."""
    out = []
    for (method, sid), g in rows.groupby(["method", "id"], sort=False):
        fg = np.array(g["fg_lab"].tolist(), dtype=float)
        ref = np.array(g["ref_lab"].tolist(), dtype=float)
        d_out = d_ref = 0.0
        for i, j in combinations(range(len(g)), 2):
            d_out += float(np.linalg.norm(fg[i] - fg[j]))
            d_ref += float(np.linalg.norm(ref[i] - ref[j]))
        wins = pairs = 0
        if "de2000_to" in g:
            for _, r in g.iterrows():
                to, apart = r.get("de2000_to"), r.get("truth_apart")
                if not isinstance(to, dict) or not isinstance(apart, dict) or r["reference"] not in to:
                    continue
                for other, gap in apart.items():
                    if other != r["reference"] and gap >= MIN_TRUTH_GAP:
                        pairs += 1
                        wins += int(to[r["reference"]] < to[other])
        out.append({"method": method, "id": sid, "d_out": d_out, "d_ref": d_ref, "wins": wins, "pairs": pairs})
    return pd.DataFrame(out, columns=["method", "id", "d_out", "d_ref", "wins", "pairs"])


def _ratio_ci(num: np.ndarray, den: np.ndarray, n_boot: int, seed: int) -> tuple[float, float, float]:
    """Σnum/Σden and its percentile-bootstrap 95% CI over the entries (samples)."""
    total = den.sum()
    value = float(num.sum() / total) if total > 0 else float("nan")
    if len(num) == 0 or total <= 0:
        return value, float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(num), size=(n_boot, len(num)))
    with np.errstate(invalid="ignore", divide="ignore"):
        boot = num[idx].sum(axis=1) / den[idx].sum(axis=1)
    boot = boot[np.isfinite(boot)]
    if boot.size == 0:
        return value, float("nan"), float("nan")
    lo, hi = np.percentile(boot, [2.5, 97.5])
    return value, float(lo), float(hi)


def robustness_summary(rows: pd.DataFrame, n_boot: int = 2000, seed: int = 0) -> pd.DataFrame:
    """Per method: responsiveness [CI], reference accuracy [CI] (NaN without truths), samples, pairs."""
    per = _per_sample(rows)
    out = []
    for method, g in per.groupby("method", sort=False):
        r, r_lo, r_hi = _ratio_ci(g["d_out"].to_numpy(), g["d_ref"].to_numpy(), n_boot, seed)
        pairs = int(g["pairs"].sum())
        if pairs:
            a, a_lo, a_hi = _ratio_ci(g["wins"].to_numpy(float), g["pairs"].to_numpy(float), n_boot, seed)
        else:
            a = a_lo = a_hi = float("nan")
        out.append({"method": method, "responsiveness": r, "responsiveness_lo": r_lo, "responsiveness_hi": r_hi,
                    "reference_accuracy": a, "reference_accuracy_lo": a_lo, "reference_accuracy_hi": a_hi,
                    "samples": len(g), "pairs": pairs})
    return pd.DataFrame(out)
