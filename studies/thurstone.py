"""Thurstone Case V: maximum likelihood (probit), JOD units, and Mosteller's least squares.

Units: P(a beats b) = Φ(z_a − z_b) (Mosteller's scale: one unit = one standard deviation of the difference
of two discriminal processes), centred to mean 0. JOD (pwcmp): 1 JOD = 75% preference, so
JOD = z / Φ⁻¹(0.75) = 1.4826 z.

When the MLE does not exist (the "beat" graph is not strongly connected: some method never lost, or never
won, against a group, or the design is disconnected), the fit adds an independent N(0, PRIOR_SD²) prior on
each scale value (MAP), so every value stays finite; callers report that in a warning.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.stats import norm

from studies.pairfit import fit_batch
from studies.votes import strongly_connected

JOD_PER_Z = float(1.0 / norm.ppf(0.75))  # 1.4826
PRIOR_SD = 1.0  # weak next to real data (one unit = 84% preference), decisive only under separation


@dataclass(frozen=True)
class Fit:
    values: np.ndarray
    regularised: bool


def prior_precision(counts: np.ndarray) -> np.ndarray:
    """Per study: 0 where the MLE exists, 1/PRIOR_SD² where it does not."""
    return np.where(strongly_connected(counts), 0.0, 1.0 / PRIOR_SD**2)


def fit(counts: np.ndarray) -> Fit:
    """Thurstone Case V scale values (z units, mean 0) from an N×N win-count matrix."""
    prec = float(prior_precision(counts))
    return Fit(fit_batch(counts, "probit", prec), prec > 0)


def fit_many(counts: np.ndarray) -> np.ndarray:
    """(B, N) scale values for a (B, N, N) stack, each with the prior only where it needs it."""
    return fit_batch(counts, "probit", prior_precision(counts))


PRIORS = ("none", "gaussian")


def fitter(prior: str = "none"):
    """The batch fit for `--prior`: "none" = the MLE above (the N(0, PRIOR_SD²) prior only where no MLE
    exists), "gaussian" = pwcmp's default distance prior (studies/pwprior.py)."""
    if prior == "none":
        return fit_many
    if prior == "gaussian":
        from studies import pwprior

        return pwprior.fit_many
    raise ValueError(f"prior must be one of {PRIORS}, not {prior!r}")


def to_jod(z: np.ndarray) -> np.ndarray:
    return np.asarray(z) * JOD_PER_Z


def mosteller(counts: np.ndarray) -> np.ndarray | None:
    """Mosteller (1951) least squares for a complete design (every pair compared): z_ij = Φ⁻¹(p_ij), scale
    value = row mean. Proportions are clamped to [1/(2n), 1 − 1/(2n)] so unanimous pairs stay finite.
    None when some pair was never compared (the row-mean solution needs every cell)."""
    n = counts + counts.T
    off = ~np.eye(len(counts), dtype=bool)
    if not np.all(n[off] > 0):
        return None
    nn = np.where(off, n, 1.0)
    p = np.clip(counts / nn, 1.0 / (2 * nn), 1.0 - 1.0 / (2 * nn))
    z = np.where(off, norm.ppf(p), 0.0)
    s = z.mean(axis=1)
    return s - s.mean()
