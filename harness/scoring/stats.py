"""Summaries of per-image metric rows: means with bootstrap CIs, foreground-ratio buckets, paired tests.

Input: a pandas DataFrame with one row per (method, image): a group column (`by`, e.g. "method"), an id column,
one column per metric and `fg_ratio`.

Non-finite values (decided here, once):
- `inf` (PSNR / fPSNR of an image predicted exactly) is a real value, not missing: a group's mean is `inf` if
  any of its values is, and its bootstrap CI is taken with order statistics that never interpolate across
  `inf` (lower bound: percentile method "lower", upper: "higher"), so it reads e.g. [41.2, inf].
- `NaN` (a metric undefined for an image, e.g. f-metrics with an empty foreground) is missing: dropped, and
  `n` in every output counts the values actually used.
- Paired comparisons use the images where both methods have a finite value (for psnr/fpsnr: the finite
  pairs only; `n` says how many); a pair with an infinite value has no defined difference.

Bootstrap: percentile method, resampling images with replacement, vectorised in blocks; the paired bootstrap
resamples image ids, i.e. the per-image differences. Tests: Wilcoxon signed-rank (scipy, two-sided, zero
differences dropped as in Wilcoxon's original method; all-zero differences → p = 1), Holm-corrected over the
method pairs within each metric.
"""

from __future__ import annotations

from itertools import combinations
from typing import Sequence

from functools import lru_cache

import numpy as np
import pandas as pd

FG_BUCKETS: tuple[str, ...] = ("0-5%", "5-15%", "15-100%")
_BLOCK_CELLS = 4_000_000  # resample indices held at once (n_boot × n), ~32 MB of int64


def bootstrap_ci(values: Sequence[float], n_boot: int = 2000, seed: int = 0, level: float = 0.95) -> tuple[float, float]:
    """Percentile-bootstrap CI of the mean. NaNs are dropped; (nan, nan) when nothing is left."""
    x = np.asarray(values, dtype=float)
    x = x[~np.isnan(x)]
    n = x.size
    if n == 0:
        return (float("nan"), float("nan"))
    if n_boot * n <= _BLOCK_CELLS and np.isfinite(x).all():
        means = _resample_counts(n, n_boot, seed) @ x / n
    else:  # 0 × inf is nan: values with an inf are averaged the long way; so are resamples over one block
        rng = np.random.default_rng(seed)
        means = np.empty(n_boot)
        step = max(1, _BLOCK_CELLS // n)
        for i in range(0, n_boot, step):
            k = min(step, n_boot - i)
            means[i:i + k] = x[rng.integers(0, n, size=(k, n))].mean(axis=1)
    return _percentile_ci(means, level)


def bootstrap_cis(columns: Sequence[Sequence[float]], n_boot: int = 2000, seed: int = 0,
                  level: float = 0.95) -> list[tuple[float, float]]:
    """`bootstrap_ci` of each column (the same numbers): the columns of one length without NaN or inf — the
    metrics of one method over the same images — are resampled together, in one matrix product."""
    xs = [np.asarray(c, dtype=float) for c in columns]
    out: list[tuple[float, float] | None] = [None] * len(xs)
    together: dict[int, list[int]] = {}
    for i, x in enumerate(xs):
        if x.size and n_boot * x.size <= _BLOCK_CELLS and np.isfinite(x).all():
            together.setdefault(x.size, []).append(i)
        else:
            out[i] = bootstrap_ci(x, n_boot=n_boot, seed=seed, level=level)
    for n, idx in together.items():
        means = _resample_counts(n, n_boot, seed) @ np.stack([xs[i] for i in idx], axis=1) / n
        for j, i in enumerate(idx):
            out[i] = _percentile_ci(means[:, j], level)
    return out  # type: ignore[return-value]


@lru_cache(maxsize=4)
def _resample_counts(n: int, n_boot: int, seed: int) -> np.ndarray:
    """How often each of n values is drawn in each of n_boot resamples (n_boot × n) — the same resamples as
    drawing indices with `default_rng(seed)`. A summary bootstraps many metrics and methods over the same
    images with the same seed: the resamples are drawn once, and each mean is one matrix-vector product."""
    idx = np.random.default_rng(seed).integers(0, n, size=(n_boot, n))
    counts = np.bincount((idx + n * np.arange(n_boot)[:, None]).ravel(), minlength=n_boot * n)
    counts = counts.reshape(n_boot, n).astype(float)
    counts.flags.writeable = False
    return counts


def _percentile_ci(means: np.ndarray, level: float) -> tuple[float, float]:
    alpha = (1.0 - level) / 2.0
    if np.isfinite(means).all():
        lo, hi = np.percentile(means, [100 * alpha, 100 * (1 - alpha)])
    else:  # linear interpolation towards ±inf would give inf or nan: use order statistics
        lo = np.percentile(means, 100 * alpha, method="lower")
        hi = np.percentile(means, 100 * (1 - alpha), method="higher")
    return (float(lo), float(hi))


def crossed_bootstrap_ci(matrix: np.ndarray, n_boot: int = 2000, seed: int = 0,
                         level: float = 0.95) -> tuple[float, float]:
    """Percentile-bootstrap CI of the mean of a seeds × images matrix (one trained model per row, every model
    scored on the same images), resampling seeds and images independently with replacement — so the interval
    reflects both where the training seeds and where the test images happened to fall. NaN cells are missing
    (each resample averages what it has); (nan, nan) when nothing is left. With one seed it is the images'
    bootstrap; with few seeds the seed resampling is coarse (3 seeds: 10 distinct multisets), and says so by
    widening the interval when the seeds disagree."""
    m = np.atleast_2d(np.asarray(matrix, dtype=float))
    if not (~np.isnan(m)).any():
        return (float("nan"), float("nan"))
    rng = np.random.default_rng(seed)
    s, n = m.shape
    means = np.empty(n_boot)
    for b in range(n_boot):
        sub = m[np.ix_(rng.integers(0, s, size=s), rng.integers(0, n, size=n))]
        vals = sub[~np.isnan(sub)]
        means[b] = vals.mean() if vals.size else np.nan
    means = means[~np.isnan(means)]
    return _percentile_ci(means, level)


def _mean(x: np.ndarray) -> float:
    x = x[~np.isnan(x)]
    return float(x.mean()) if x.size else float("nan")


def summarize(df: pd.DataFrame, metrics: Sequence[str], by: str = "method", n_boot: int = 2000,
              seed: int = 0, level: float = 0.95) -> pd.DataFrame:
    """Long table, one row per group × metric: [by, metric, n, mean, ci_lo, ci_hi] (groups in order of
    first appearance, metrics in the given order)."""
    out = []
    for g, sub in df.groupby(by, sort=False):
        xs = [sub[m].to_numpy(dtype=float) for m in metrics]
        for m, x, (lo, hi) in zip(metrics, xs, bootstrap_cis(xs, n_boot=n_boot, seed=seed, level=level)):
            out.append({by: g, "metric": m, "n": int((~np.isnan(x)).sum()), "mean": _mean(x),
                        "ci_lo": lo, "ci_hi": hi})
    return pd.DataFrame(out, columns=[by, "metric", "n", "mean", "ci_lo", "ci_hi"])


ALL = "All"  # the all-images row of per-value tables (what the iHarmony4 papers call "All")


def summarize_per_value(df: pd.DataFrame, metrics: Sequence[str], column: str, by: str | None = "method",
                        n_boot: int = 2000, seed: int = 0, level: float = 0.95,
                        all_label: str = ALL) -> pd.DataFrame:
    """Means and bootstrap CIs per value of any row column (`subset` of iHarmony4, an augmentation, …):
    long table [column, by, metric, n, mean, ci_lo, ci_hi], one block per value of `column` in order of
    first appearance, then the all-images block `all_label` (every row, those without a value included).
    `by=None` summarises all rows as one group (the column `by` is then absent). Empty when `df` has no
    such column or no row has a value — a suite without subsets has no per-subset table."""
    key = by or "_group"
    cols = [column, *([by] if by else []), "metric", "n", "mean", "ci_lo", "ci_hi"]
    if column not in df or not df[column].notna().any():
        return pd.DataFrame(columns=cols)
    values = list(dict.fromkeys(df[column].dropna()))
    if all_label in values:
        raise ValueError(f"column '{column}' has a value '{all_label}', the name of the all-images row")
    data = df if by else df.assign(_group="")
    parts = []
    for value, rows in [*((v, data[data[column] == v]) for v in values), (all_label, data)]:
        part = summarize(rows, metrics, by=key, n_boot=n_boot, seed=seed, level=level)
        parts.append(part.assign(**{column: value}))
    out = pd.concat(parts, ignore_index=True)
    return out[cols].reset_index(drop=True)


def fg_ratio_bucket(ratio: float) -> str:
    """'0-5%' for ratio < 0.05, '5-15%' for < 0.15, else '15-100%' (the buckets users of the published
    iHarmony4 code report)."""
    if not 0.0 <= ratio <= 1.0:
        raise ValueError(f"foreground ratio must be in [0, 1], got {ratio}")
    return FG_BUCKETS[0] if ratio < 0.05 else FG_BUCKETS[1] if ratio < 0.15 else FG_BUCKETS[2]


def bucket_means(df: pd.DataFrame, metrics: Sequence[str], by: str = "method",
                 ratio_col: str = "fg_ratio") -> pd.DataFrame:
    """Mean of each metric per group × foreground-ratio bucket: [by, bucket, n, *metrics]; only buckets
    that hold images appear, in FG_BUCKETS order within each group."""
    if df.empty:
        return pd.DataFrame(columns=[by, "bucket", "n", *metrics])
    bucket = df[ratio_col].map(fg_ratio_bucket)
    out = []
    for g, sub in df.groupby(by, sort=False):
        b = bucket.loc[sub.index]
        for name in FG_BUCKETS:
            rows = sub[b == name]
            if len(rows):
                out.append({by: g, "bucket": name, "n": len(rows),
                            **{m: _mean(rows[m].to_numpy(dtype=float)) for m in metrics}})
    return pd.DataFrame(out, columns=[by, "bucket", "n", *metrics])


def _wilcoxon_p(d: np.ndarray) -> float:
    from scipy.stats import wilcoxon

    if d.size == 0:
        return float("nan")
    if not np.any(d != 0):
        return 1.0  # no difference at all (scipy would warn and return nan)
    return float(wilcoxon(d, zero_method="wilcox", alternative="two-sided").pvalue)


def paired_comparisons(df: pd.DataFrame, metrics: Sequence[str], by: str = "method", id_col: str = "id",
                       n_boot: int = 2000, seed: int = 0, level: float = 0.95) -> pd.DataFrame:
    """Every pair (a, b) of groups, in order of first appearance, compared on the ids both have:
    [metric, a, b, n, diff, ci_lo, ci_hi, p, p_holm] with diff = mean(a − b) over the finite pairs, its
    paired-bootstrap CI, the Wilcoxon signed-rank p and its Holm correction over all pairs of that metric."""
    from studies.multiple_testing import holm

    cols = ["metric", "a", "b", "n", "diff", "ci_lo", "ci_hi", "p", "p_holm"]
    if df.empty:
        return pd.DataFrame(columns=cols)
    dup = df.duplicated([by, id_col])
    if dup.any():
        r = df[dup].iloc[0]
        raise ValueError(f"{by} '{r[by]}' has more than one row for {id_col} '{r[id_col]}'")
    groups = list(dict.fromkeys(df[by]))
    wide = {g: df[df[by] == g].set_index(id_col) for g in groups}
    diffs: dict[tuple[str, str, str], np.ndarray] = {}
    cis: dict[tuple[str, str, str], tuple[float, float]] = {}
    for a, b in combinations(groups, 2):
        common = wide[a].index.intersection(wide[b].index, sort=False)
        for m in metrics:
            xa = wide[a].loc[common, m].to_numpy(dtype=float)
            xb = wide[b].loc[common, m].to_numpy(dtype=float)
            ok = np.isfinite(xa) & np.isfinite(xb)  # inf − inf is undefined, inf − x is no difference to test
            diffs[(m, a, b)] = xa[ok] - xb[ok]
        keys = [(m, a, b) for m in metrics]
        cis.update(zip(keys, bootstrap_cis([diffs[k] for k in keys], n_boot=n_boot, seed=seed, level=level)))
    out = []
    for m in metrics:
        rows = []
        for a, b in combinations(groups, 2):
            d = diffs[(m, a, b)]
            lo, hi = cis[(m, a, b)]
            rows.append({"metric": m, "a": a, "b": b, "n": int(d.size), "diff": _mean(d), "ci_lo": lo,
                         "ci_hi": hi, "p": _wilcoxon_p(d)})
        adjusted = holm([r["p"] for r in rows]) if rows else []
        for r, q in zip(rows, adjusted):
            r["p_holm"] = float(q)
        out += rows
    return pd.DataFrame(out, columns=cols)


def consecutive_comparisons(df: pd.DataFrame, metrics: Sequence[str], order: Sequence[str], by: str = "arm",
                            seed_col: str = "seed", id_col: str = "id", n_boot: int = 2000, seed: int = 0,
                            level: float = 0.95) -> pd.DataFrame:
    """Each group of `order` against the one before it (an ablation's rows: what adding one thing changes), on
    the seeds and images both have: [metric, a, b, n_seeds, n, diff, ci_lo, ci_hi, p, p_holm] with diff =
    mean(b − a) over seeds × images, its crossed-bootstrap CI (seeds and images resampled: see
    `crossed_bootstrap_ci`), the Wilcoxon signed-rank p over images of the seed-averaged differences, and
    Holm's correction over the consecutive pairs of that metric. Seeds are paired by number (the same data
    order and initial seed). Pairs with a missing group get NaN."""
    from studies.multiple_testing import holm

    cols = ["metric", "a", "b", "n_seeds", "n", "diff", "ci_lo", "ci_hi", "p", "p_holm"]
    out = []
    for m in metrics:
        rows = []
        for a, b in zip(order[:-1], order[1:]):
            wide = {g: df[df[by] == g].pivot_table(index=seed_col, columns=id_col, values=m, aggfunc="first",
                                                    dropna=False) for g in (a, b)}
            seeds = wide[a].index.intersection(wide[b].index)
            ids = wide[a].columns.intersection(wide[b].columns)
            d = (wide[b].loc[seeds, ids].to_numpy(dtype=float) - wide[a].loc[seeds, ids].to_numpy(dtype=float))
            d[~np.isfinite(d)] = np.nan  # inf − inf, or inf − x: no difference to test (as paired_comparisons)
            per_image = np.array([_mean(col) for col in d.T]) if d.size else np.array([])
            per_image = per_image[~np.isnan(per_image)]
            lo, hi = crossed_bootstrap_ci(d, n_boot=n_boot, seed=seed, level=level) if d.size else (np.nan, np.nan)
            rows.append({"metric": m, "a": a, "b": b, "n_seeds": len(seeds), "n": int(per_image.size),
                         "diff": _mean(d.ravel()) if d.size else float("nan"), "ci_lo": lo, "ci_hi": hi,
                         "p": _wilcoxon_p(per_image)})
        for r, q in zip(rows, holm([r["p"] for r in rows]) if rows else []):
            r["p_holm"] = float(q)
        out += rows
    return pd.DataFrame(out, columns=cols)
