"""Observer statistics: Kendall's coefficient of agreement u, the coefficient of consistence ζ (circular
triads), pwcmp's leave-one-out outlier score, and Kendall's W / Friedman for rankings.

References: Kendall & Babington Smith (1940); Kendall (1962) *Rank correlation methods*; Perez-Ortiz &
Mantiuk (2017) arXiv:1712.03686, Sec. 9 (outliers).
"""

from __future__ import annotations

import numpy as np
from scipy.stats import chi2, rankdata

from studies import thurstone
from studies.pairfit import probability


def kendall_u(a: np.ndarray, m: int) -> float:
    """u = 2 Σ_{i≠j} C(a_ij, 2) / (C(m, 2) C(t, 2)) − 1, a_ij = #judges preferring i to j, m judges who each
    judged every pair of the t items once. 1 = complete agreement; minimum −1/(m−1) (m even), −1/m (odd)."""
    t = a.shape[0]
    off = ~np.eye(t, dtype=bool)
    s = np.sum((a * (a - 1) / 2)[off])
    return float(2 * s / ((m * (m - 1) / 2) * (t * (t - 1) / 2)) - 1)


def circular_triads(wins: np.ndarray) -> int:
    """d = C(t, 3) − Σ_i C(s_i, 2), s_i = wins of item i in one judge's complete, tie-free tournament."""
    t = wins.shape[0]
    s = wins.sum(axis=1)
    return int(round(t * (t - 1) * (t - 2) / 6 - np.sum(s * (s - 1) / 2)))


def zeta(d: int, t: int) -> float:
    """Coefficient of consistence: 1 − 24d/(t³ − t) for odd t, 1 − 24d/(t³ − 4t) for even t (t ≥ 3)."""
    denom = t**3 - t if t % 2 else t**3 - 4 * t
    return float(1 - 24 * d / denom)


def complete_tournaments(C: np.ndarray) -> np.ndarray:
    """(S, I) mask: subject s judged every pair on image i exactly once and never tied."""
    t = C.shape[-1]
    n = C + np.swapaxes(C, -1, -2)
    off = ~np.eye(t, dtype=bool)
    once = np.all(n[..., off] == 1, axis=-1)
    whole = np.all((C[..., off] == 0) | (C[..., off] == 1), axis=-1)
    return once & whole


def agreement_per_image(C: np.ndarray) -> list[float | None]:
    """Kendall's u per image over the subjects with a complete, tie-free tournament there (None if < 2)."""
    ok = complete_tournaments(C)
    out: list[float | None] = []
    for i in range(C.shape[1]):
        m = int(ok[:, i].sum())
        out.append(kendall_u(C[ok[:, i], i].sum(axis=0), m) if m >= 2 and C.shape[-1] >= 2 else None)
    return out


def consistence_per_subject(C: np.ndarray) -> list[tuple[float | None, int, int]]:
    """Per subject: (mean ζ over their complete, tie-free tournaments, total circular triads, number of
    such tournaments); ζ is None when there is none or fewer than 3 methods."""
    t = C.shape[-1]
    ok = complete_tournaments(C)
    out = []
    for s in range(C.shape[0]):
        imgs = np.flatnonzero(ok[s])
        if t < 3 or imgs.size == 0:
            out.append((None, 0, int(imgs.size)))
            continue
        ds = [circular_triads(C[s, i]) for i in imgs]
        out.append((float(np.mean([zeta(d, t) for d in ds])), int(sum(ds)), int(imgs.size)))
    return out


def outlier_scores(C: np.ndarray, prior: str = "none") -> tuple[np.ndarray, np.ndarray]:
    """pwcmp's leave-one-observer-out analysis. For every subject s and image i, Thurstone values are fitted
    to all other subjects' votes on that image; L_s = Σ log10 P(s's answers) / (s's number of trials) (a tie
    counts half each way). Score = (Q1 − L_s)/IQR below the first quartile, else 0; investigate > 1.5.
    Returns (L, score)."""
    S, I, N, _ = C.shape
    total = C.sum(axis=0)  # (I, N, N)
    loo = (total[None] - C).reshape(S * I, N, N)
    z = thurstone.fitter(prior)(loo).reshape(S, I, N)
    logp = np.log10(np.clip(probability(z, "probit"), 1e-300, 1.0))
    trials = C.sum(axis=(1, 2, 3))
    with np.errstate(invalid="ignore", divide="ignore"):
        L = np.where(trials > 0, np.sum(C * logp, axis=(1, 2, 3)) / trials, np.nan)
    q1, q3 = np.nanpercentile(L, [25, 75])
    iqr = q3 - q1
    if not iqr > 0:  # no spread among observers: the score is undefined
        return L, np.full(S, np.nan)
    score = np.where(L < q1, (q1 - L) / iqr, 0.0)
    return L, np.where(np.isnan(L), np.nan, score)


def kendall_w(ranks: np.ndarray) -> float:
    """Kendall's W for m judges (rows) ranking k items (columns), tie-corrected:
    W = 12 S / (m²(k³ − k) − m Σ T), S = Σ (R_j − mean R)², T = Σ(t³ − t) over each judge's tie
    groups."""
    m, k = ranks.shape
    r = rankdata(ranks, axis=1)
    R = r.sum(axis=0)
    S = np.sum((R - R.mean()) ** 2)
    T = 0.0
    for row in r:
        _, counts = np.unique(row, return_counts=True)
        T += np.sum(counts**3 - counts)
    denom = m**2 * (k**3 - k) - m * T
    return float(12 * S / denom) if denom > 0 else float("nan")


def friedman(ranks: np.ndarray) -> tuple[float, float, float]:
    """(χ², p, W): Friedman's test with blocks = rows; χ² = m(k − 1)W (tie-corrected), k − 1 df."""
    m, k = ranks.shape
    w = kendall_w(ranks)
    stat = m * (k - 1) * w
    return float(stat), float(chi2.sf(stat, k - 1)), w
