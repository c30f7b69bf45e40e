"""Batched maximum-likelihood (or MAP) fitting of paired-comparison models on count matrices.

`fit_batch(C, link)` fits B independent studies at once: C has shape (B, N, N), C[b, i, j] = wins of i over j.
Model: P(i beats j) = F(x_i − x_j), F = Φ (probit: Thurstone Case V) or the logistic function (logit:
Bradley–Terry). Newton's method on the whole batch (the log-likelihood is concave in the differences), with
step halving per study; the result is centred to mean 0. The bootstrap and the leave-one-out observer
analysis need hundreds to thousands of fits, which is why this is vectorised instead of calling a per-study
optimiser. `prior_prec` > 0 adds an independent N(0, 1/prior_prec) prior on every value (MAP), which keeps
the estimate finite when the MLE does not exist.
"""

from __future__ import annotations

import numpy as np
from scipy.special import log_ndtr, ndtr

LOG_SQRT_2PI = 0.5 * np.log(2 * np.pi)


def _link(d: np.ndarray, link: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """log F(d), d/dd log F(d), −d²/dd² log F(d) (≥ 0)."""
    if link == "probit":
        logf = log_ndtr(d)
        lam = np.exp(-0.5 * d * d - LOG_SQRT_2PI - logf)  # inverse Mills ratio φ/Φ, stable in the tails
        return logf, lam, lam * (d + lam)
    if link == "logit":
        logf = -np.logaddexp(0.0, -d)
        s = np.exp(logf)
        return logf, 1.0 - s, s * (1.0 - s)
    raise ValueError(f"unknown link {link!r}")


def log_likelihood(C: np.ndarray, x: np.ndarray, link: str) -> np.ndarray:
    """Σ_ij C_ij log F(x_i − x_j) for each study in the batch."""
    d = x[..., :, None] - x[..., None, :]
    return np.sum(C * _link(d, link)[0], axis=(-2, -1))


def fit_batch(C: np.ndarray, link: str, prior_prec: float | np.ndarray = 0.0, max_iter: int = 100,
              tol: float = 1e-10) -> np.ndarray:
    """Centred ML/MAP scale values, shape (B, N). Studies whose MLE does not exist must get prior_prec > 0
    (see `votes.strongly_connected`), otherwise their values run off (and a RuntimeError is raised)."""
    C = np.asarray(C, dtype=float)
    squeeze = C.ndim == 2
    if squeeze:
        C = C[None]
    B, N, _ = C.shape
    prec = np.broadcast_to(np.asarray(prior_prec, dtype=float), (B,)).copy()
    x = np.zeros((B, N))
    J = np.ones((N, N)) / N  # fixes the free common shift; the gradient is orthogonal to it

    def objective(x: np.ndarray, idx: np.ndarray) -> np.ndarray:
        return log_likelihood(C[idx], x, link) - 0.5 * prec[idx] * np.sum(x * x, axis=-1)

    active = np.arange(B)
    f = objective(x, active)
    for _ in range(max_iter):
        xa, Ca = x[active], C[active]
        d = xa[:, :, None] - xa[:, None, :]
        _, g1, h1 = _link(d, link)
        gd = Ca * g1
        grad = gd.sum(axis=2) - gd.sum(axis=1) - prec[active, None] * xa
        w = Ca * h1
        w = w + np.swapaxes(w, 1, 2)
        H = -w + np.eye(N) * (w.sum(axis=2)[:, :, None] + prec[active, None, None]) + J
        step = np.linalg.solve(H, grad[..., None])[..., 0]
        t = np.ones(active.size)
        f_old = f[active]
        for _ in range(40):  # halve the step where it does not improve the objective
            f_new = objective(xa + t[:, None] * step, active)
            bad = ~(f_new >= f_old - 1e-12 * np.abs(f_old))
            if not bad.any():
                break
            t[bad] *= 0.5
        x[active] = xa + t[:, None] * step
        f[active] = f_new
        done = np.max(np.abs(t[:, None] * step), axis=1) < tol
        active = active[~done]
        if active.size == 0:
            break
    else:
        raise RuntimeError(f"{active.size} of {B} fits did not converge in {max_iter} Newton steps")
    x -= x.mean(axis=1, keepdims=True)
    return x[0] if squeeze else x


def probability(x: np.ndarray, link: str) -> np.ndarray:
    """P[i, j] = P(i beats j) under the model."""
    d = x[..., :, None] - x[..., None, :]
    return ndtr(d) if link == "probit" else 1.0 / (1.0 + np.exp(-d))
