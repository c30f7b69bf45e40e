"""Observer-level bootstrap (pwcmp's `pw_scale_bootstrp`) and the pairwise tests built on it.

Subjects are resampled with replacement. Rather than re-reading votes, each subject's N×N count matrix is
built once; a resample is then a weighted sum of those matrices (weights = how often each subject was drawn),
i.e. one (B×S)·(S×N²) product, and all B resamples are fitted in one batch.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import binomtest, norm

from studies import bradley_terry, thurstone
from studies.multiple_testing import holm
from studies.votes import strongly_connected


def resample_counts(per_subject: np.ndarray, n_boot: int, seed: int | None) -> np.ndarray:
    """(B, N, N) count matrices of B subject resamples; per_subject has shape (S, N, N)."""
    S, N, _ = per_subject.shape
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, S, size=(n_boot, S))
    weights = np.zeros((n_boot, S))
    np.add.at(weights, (np.repeat(np.arange(n_boot), S), draws.ravel()), 1.0)
    return (weights @ per_subject.reshape(S, N * N)).reshape(n_boot, N, N)


def bootstrap(per_subject: np.ndarray, n_boot: int, seed: int | None,
              prior: str = "none") -> dict[str, np.ndarray]:
    """{'thurstone': (B, N), 'bt': (B, N)} scale values of each resample (empty (0, N) when n_boot == 0) and
    'no_mle': (B,) which resamples had no finite MLE (fitted with the prior / regulariser). `prior` is the
    Thurstone fit's (thurstone.fitter), as pwcmp's bootstrap re-scales every resample with its own prior."""
    N = per_subject.shape[1]
    if n_boot <= 0:
        return {"thurstone": np.empty((0, N)), "bt": np.empty((0, N)), "no_mle": np.zeros(0, bool)}
    counts = resample_counts(per_subject, n_boot, seed)
    return {"thurstone": thurstone.fitter(prior)(counts), "bt": bradley_terry.fit_many(counts),
            "no_mle": ~strongly_connected(counts)}


def percentile_ci(samples: np.ndarray, level: float = 0.95) -> np.ndarray:
    """(N, 2) percentile intervals; NaN without samples."""
    if samples.shape[0] < 2:
        return np.full((samples.shape[1], 2), np.nan)
    a = (1 - level) / 2
    return np.percentile(samples, [100 * a, 100 * (1 - a)], axis=0).T


def difference_tests(values: np.ndarray, samples: np.ndarray, groups: np.ndarray | None = None) -> list[dict]:
    """pwcmp's z-test for every pair i<j: d = v_i − v_j, var(d) = c_ii + c_jj − 2c_ij from the bootstrap
    covariance; two-sided p = 2Φ(−|d|/sd) (pwcmp's one-sided p < 0.025 is the same 5% test); Holm across
    the tested pairs. p is NaN (untested) without bootstrap samples, where the bootstrap difference never
    varies (sd = 0, e.g. a unanimous pair with few observers: no evidence of spread, not certainty), and
    for pairs in different comparison groups (`groups` = component label per method)."""
    N = values.size
    ii, jj = np.triu_indices(N, 1)
    diff = values[ii] - values[jj]
    if samples.shape[0] >= 2:
        cov = np.cov(samples, rowvar=False)
        sd = np.sqrt(np.maximum(cov[ii, ii] + cov[jj, jj] - 2 * cov[ii, jj], 0.0))
        with np.errstate(divide="ignore", invalid="ignore"):
            p = np.where(sd > 1e-12, 2 * norm.sf(np.abs(diff) / sd), np.nan)
    else:
        p = np.full(diff.shape, np.nan)
    if groups is not None:
        p = np.where(groups[ii] == groups[jj], p, np.nan)
    p_holm = holm(p)
    return [{"i": int(i), "j": int(j), "diff": float(d), "p": float(q), "p_holm": float(h)}
            for i, j, d, q, h in zip(ii, jj, diff, p, p_holm)]


def binomial_tests(raw_wins: np.ndarray) -> list[dict]:
    """Exact two-sided binomial test of 50:50 for every pair i<j on its decided (non-tie) votes."""
    N = raw_wins.shape[0]
    out = []
    for i, j in zip(*np.triu_indices(N, 1)):
        k, n = int(raw_wins[i, j]), int(raw_wins[i, j] + raw_wins[j, i])
        p = binomtest(k, n, 0.5).pvalue if n else float("nan")
        out.append({"i": int(i), "j": int(j), "wins_i": k, "wins_j": n - k, "p": float(p)})
    return out
