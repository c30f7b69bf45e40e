"""Bradley–Terry strengths with choix: P(a beats b) = 1 / (1 + e^−(θa − θb)), θ centred (natural-log
units).

`fit` calls `choix.ilsr_pairwise_dense` on the win-count matrix. Without regularisation the MLE exists only
when the "beat" graph is strongly connected; otherwise (unanimous pairs cutting the graph, or a disconnected
design) choix's I-LSR fails, so we pass ALPHA, choix's Markov-chain regulariser (a lone 10-0 pair then gives
θ difference ≈ 6.2 instead of ∞), and the caller reports it. `fit_many` is the same estimator for bootstrap
stacks: a batched Newton MLE (tested equal to choix) where the MLE exists, choix with ALPHA elsewhere.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from studies.pairfit import fit_batch
from studies.votes import strongly_connected

ALPHA = 0.01


@dataclass(frozen=True)
class Fit:
    values: np.ndarray
    alpha: float


def fit(counts: np.ndarray) -> Fit:
    """Centred BT log-strengths from an N×N win-count matrix (choix I-LSR)."""
    import choix

    alpha = 0.0 if bool(strongly_connected(counts)) else ALPHA
    theta = choix.ilsr_pairwise_dense(np.asarray(counts, dtype=float), alpha=alpha, max_iter=1000)
    return Fit(theta - theta.mean(), alpha)


def fit_many(counts: np.ndarray) -> np.ndarray:
    """(B, N) centred log-strengths for a (B, N, N) stack of count matrices."""
    ok = strongly_connected(counts)
    out = np.empty(counts.shape[:2])
    if ok.any():
        out[ok] = fit_batch(counts[ok], "logit")
    for b in np.flatnonzero(~ok):
        out[b] = fit(counts[b]).values
    return out
