"""Ranking studies (each subject ranks the top methods on each image): paper scores, Friedman / Kendall's W,
and Plackett–Luce strengths with choix.

Conventions: rank 1 = best; unranked methods (blank rank) share the places below the ranked ones, so a
top-3 of 4 is a full ranking (the unranked method is last). Score: 3 / 2 / 1 points for ranks 1 / 2 / 3 and
0 below or unranked, averaged over all blocks (subject × image), as in the paper.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from studies.agreement import friedman
from studies.votes import RankingVotes, count_tensor, rank_break, strongly_connected

PL_ALPHA = 0.01  # choix regulariser, used only when the rank-broken "beat" graph is not strongly connected


def scores(rv: RankingVotes) -> np.ndarray:
    """Mean points per method (3/2/1 for ranks 1/2/3, 0 otherwise)."""
    points = np.where((rv.ranks >= 1) & (rv.ranks <= 3), 4 - rv.ranks, 0)
    return points.mean(axis=0)


def full_ranks(rv: RankingVotes) -> np.ndarray:
    """Ranks with ties: unranked methods share the mean of the remaining places (for Friedman / W)."""
    k = rv.ranks.shape[1]
    r = rv.ranks.astype(float)
    n_ranked = (rv.ranks > 0).sum(axis=1, keepdims=True)
    tail = (n_ranked + 1 + k) / 2.0  # mean of places n_ranked+1 .. k
    return np.where(r > 0, r, tail)


def friedman_overall_and_per_image(rv: RankingVotes) -> tuple[tuple[float, float, float], list[tuple]]:
    """Friedman (χ², p, W) with blocks = subject × image, and per image with blocks = subjects."""
    r = full_ranks(rv)
    per_image = []
    for i in range(len(rv.images)):
        sel = rv.image == i
        per_image.append(friedman(r[sel]) if sel.sum() >= 2 else (float("nan"),) * 3)
    return friedman(r), per_image


def plackett_luce(rv: RankingVotes) -> tuple[np.ndarray, float, int]:
    """Centred PL log-strengths from the blocks with at most one unranked method (a complete ranking once
    the unranked method is appended last); choix's I-LSR, regularised with PL_ALPHA only when the MLE does not
    exist. Returns (theta, alpha used, number of blocks left out because ≥ 2 methods were unranked)."""
    import choix

    k = rv.ranks.shape[1]
    usable = (rv.ranks == 0).sum(axis=1) <= 1
    data = []
    for row in rv.ranks[usable]:
        order = sorted(range(k), key=lambda m: row[m] if row[m] else k + 1)
        data.append(order)
    counts = count_tensor(rank_break(replace(rv, ranks=rv.ranks[usable], subject=rv.subject[usable],
                                             image=rv.image[usable])), "split").sum(axis=(0, 1))
    alpha = 0.0 if bool(strongly_connected(counts)) else PL_ALPHA
    theta = choix.ilsr_rankings(k, data, alpha=alpha, max_iter=1000) if data else np.zeros(k)
    return theta - theta.mean(), alpha, int((~usable).sum())
