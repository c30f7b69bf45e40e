"""pwcmp's default Thurstone scaling: maximum a posteriori with its 'gaussian' distance prior.

Port of `pw_scale.m` (mantiuk/pwcmp, HEAD 07876b2, options {'prior','gaussian'} and 'mean0', both its
defaults), in z units (P(i beats j) = Φ(z_i − z_j); pwcmp's JOD = 1.4826 z, the prior only sees
probabilities, so the fit is the same). For every compared ordered pair a = (i, j) with n_a comparisons, k_a of
them won by i:

    prior_a = Σ_b  p_a^k_b (1 − p_a)^(n_b − k_b) / Σ_c p_c^k_b (1 − p_c)^(n_b − k_b),   p_a = Φ(z_i − z_j)

("how probable is this distance given the counts of every compared pair"), with unanimous counts moved to
the nearest non-unanimous value (0 → 1, n → n − 1) for the prior only. The objective is

    −Σ_a [k_a log p_a + (n_a − k_a) log(1 − p_a)] − Σ_a log(prior_a + 0.1) + 0.01·mean(JOD)²

minimised from z = 0 (pwcmp: fminunc from 0; here BFGS with the analytic gradient). Each unordered pair
appears twice, as (i, j) and (j, i), exactly as in pwcmp. A disconnected comparison graph is linked as in
pwcmp: the best condition of each component (by the ISO 20462 arcsine score) gets one fake win each way
against the best of every other component.

Where pwcmp multiplies raw probabilities (which underflow to 0 for a few thousand votes on one pair), this
works with logarithms (log-sum-exp): the same numbers wherever pwcmp's are finite. Non-integer counts (ties
split half a vote each way) are accepted; pwcmp itself refuses them.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize
from scipy.special import log_ndtr, logsumexp

JOD_PER_Z = 1.482602218505602  # 1 / Φ⁻¹(0.75)
PRIOR_OFFSET = 0.1  # pwcmp: log(prior + 0.1)
MEAN0_WEIGHT = 0.01  # pwcmp: 0.01 · mean(JOD)²
LOG_SQRT_2PI = 0.5 * np.log(2 * np.pi)


def _mills(d: np.ndarray) -> np.ndarray:
    """φ(d)/Φ(d), stable in both tails."""
    return np.exp(-0.5 * d * d - LOG_SQRT_2PI - log_ndtr(d))


def iso20462_scores(counts: np.ndarray) -> np.ndarray:
    """pwcmp's starting scores (ISO 20462 arcsine transform of the win proportions), used to pick each
    component's best condition."""
    tot = counts + counts.T
    with np.errstate(invalid="ignore", divide="ignore"):
        m = np.where(tot > 0, counts / np.where(tot > 0, tot, 1), 0.5)
    return np.sum(-(12 / np.pi * np.arcsin(np.sqrt(m)) - 3) / 2, axis=0)


def link_components(counts: np.ndarray) -> tuple[np.ndarray, int]:
    """(counts with pwcmp's 1:1 links between the best conditions of disconnected components, number of
    components)."""
    from scipy.sparse.csgraph import connected_components

    D = np.array(counts, dtype=float)
    n_comp, labels = connected_components((D + D.T) > 0, directed=False)
    if n_comp > 1:
        q = iso20462_scores(D)
        best = [int(np.flatnonzero(labels == g)[np.argmax(q[labels == g])]) for g in range(n_comp)]
        for x in range(n_comp):
            for y in range(x + 1, n_comp):
                D[best[x], best[y]] = D[best[y], best[x]] = 1.0
    return D, n_comp


class _Problem:
    """The objective and its gradient for one (already linked) count matrix."""

    def __init__(self, counts: np.ndarray, original: np.ndarray) -> None:
        D = np.asarray(counts, dtype=float)
        self.N = D.shape[0]
        tot = D + D.T
        self.i, self.j = np.nonzero(tot > 0)  # ordered compared pairs, both directions
        self.win, self.lose = D[self.i, self.j], D[self.j, self.i]
        # unanimous cells are judged on the original matrix (pwcmp computes UA before linking components)
        o = np.asarray(original, dtype=float)
        ua = ((o > 0) != (o.T > 0))[self.i, self.j]
        k = self.win.copy()
        k[ua & (k == 0)] = 1.0
        k[ua & (self.win != 0)] -= 1.0
        self.k, self.m = k, tot[self.i, self.j] - k  # the prior's counts (the shifted k, n − k)

    def __call__(self, z: np.ndarray) -> tuple[float, np.ndarray]:
        d = z[self.i] - z[self.j]
        lp, lq = log_ndtr(d), log_ndtr(-d)  # log p_a, log(1 − p_a)
        gp, gq = _mills(d), -_mills(-d)  # their derivatives in d
        like = np.sum(self.win * lp + self.lose * lq)
        g_like = self.win * gp + self.lose * gq
        ell = lp[:, None] * self.k[None, :] + lq[:, None] * self.m[None, :]  # [a, b]
        w = np.exp(ell - logsumexp(ell, axis=0, keepdims=True))  # each column b sums to 1 over a
        prior = w.sum(axis=1)
        r = 1.0 / (prior + PRIOR_OFFSET)
        g_ab = gp[:, None] * self.k[None, :] + gq[:, None] * self.m[None, :]
        t = r @ w  # t_b = Σ_a r_a w_ab
        g_prior = np.sum(w * g_ab * (r[:, None] - t[None, :]), axis=1)
        g_d = -(g_like + g_prior)
        grad = np.bincount(self.i, g_d, self.N) - np.bincount(self.j, g_d, self.N)
        mean = z.mean()
        f = -like - np.sum(np.log(prior + PRIOR_OFFSET)) + MEAN0_WEIGHT * (JOD_PER_Z * mean) ** 2
        grad += 2 * MEAN0_WEIGHT * JOD_PER_Z**2 * mean / self.N
        return float(f), grad


def fit(counts: np.ndarray) -> np.ndarray:
    """pwcmp's default scale values in z units (mean 0) for an N×N win-count matrix."""
    counts = np.asarray(counts, dtype=float)
    linked, _ = link_components(counts)
    problem = _Problem(linked, counts)
    res = minimize(problem, np.zeros(counts.shape[0]), jac=True, method="BFGS",
                   options={"gtol": 1e-9, "maxiter": 2000})
    z = res.x
    return z - z.mean()


def fit_many(counts: np.ndarray) -> np.ndarray:
    """(B, N) scale values for a (B, N, N) stack (bootstrap resamples)."""
    return np.array([fit(c) for c in counts]).reshape(counts.shape[0], counts.shape[1])
