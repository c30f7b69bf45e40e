"""harness.stats against scipy (bootstrap, wilcoxon), numpy/pandas and hand-computed values."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from harness.scoring import stats
from harness.scoring.stats import (FG_BUCKETS, bootstrap_ci, bootstrap_cis, bucket_means, fg_ratio_bucket, paired_comparisons,
                           summarize)


def scipy_percentile_ci(x: np.ndarray, level: float = 0.95) -> tuple[float, float]:
    res = sps.bootstrap((x,), np.mean, n_resamples=20000, method="percentile", confidence_level=level,
                        rng=np.random.default_rng(123))
    return res.confidence_interval.low, res.confidence_interval.high


# ------------------------------------------------------------------ bootstrap_ci


@pytest.mark.parametrize("dist", ["normal", "skewed"])
def test_bootstrap_ci_agrees_with_scipy(dist: str) -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(3.0, 1.0, 150) if dist == "normal" else rng.exponential(2.0, 150)
    lo, hi = bootstrap_ci(x, n_boot=20000, seed=1)
    slo, shi = scipy_percentile_ci(x)
    se = x.std() / math.sqrt(x.size)
    # two Monte-Carlo estimates of the same percentiles: agree to a few hundredths of a standard error
    assert lo == pytest.approx(slo, abs=0.05 * se) and hi == pytest.approx(shi, abs=0.05 * se)
    assert lo < x.mean() < hi


def test_bootstrap_ci_hand_cases() -> None:
    assert bootstrap_ci([2.5] * 10) == (2.5, 2.5)
    assert bootstrap_ci([7.0]) == (7.0, 7.0)
    # two values 0, 1: resample means are 0, ½, 1 with probability ¼, ½, ¼ → 2.5%/97.5% percentiles 0 and 1
    assert bootstrap_ci([0.0, 1.0], n_boot=4000) == (0.0, 1.0)
    assert all(math.isnan(v) for v in bootstrap_ci([]))
    assert bootstrap_ci([1.0, np.nan, 1.0]) == (1.0, 1.0)  # NaN is missing, dropped


def test_bootstrap_ci_seed_and_level() -> None:
    x = np.random.default_rng(2).normal(size=60)
    assert bootstrap_ci(x, seed=5) == bootstrap_ci(x, seed=5)
    lo90, hi90 = bootstrap_ci(x, level=0.90)
    lo95, hi95 = bootstrap_ci(x, level=0.95)
    assert lo95 < lo90 < hi90 < hi95


def test_bootstrap_ci_large_sample_is_blocked(monkeypatch: pytest.MonkeyPatch) -> None:
    """More images than one resampling block holds: the blocks draw the same resamples as one big draw,
    and the interval is the normal-theory one (CLT, n = 10000)."""
    x = np.random.default_rng(3).normal(0.0, 2.0, 10000)
    lo, hi = bootstrap_ci(x, n_boot=2000)  # 5 blocks of 400 resamples
    se = x.std() / math.sqrt(x.size)
    assert lo == pytest.approx(x.mean() - 1.96 * se, abs=0.25 * se)
    assert hi == pytest.approx(x.mean() + 1.96 * se, abs=0.25 * se)
    monkeypatch.setattr(stats, "_BLOCK_CELLS", 10**12)
    # one block: the resamples are counted (one matrix product) instead of gathered — the same resamples,
    # summed in another order
    assert bootstrap_ci(x, n_boot=2000) == pytest.approx((lo, hi), rel=1e-12)


def test_bootstrap_ci_counted_resamples_are_the_drawn_ones() -> None:
    """The fast path (resample counts × values) gives the means of exactly the index draws of default_rng."""
    x = np.random.default_rng(7).exponential(3.0, 50)
    idx = np.random.default_rng(11).integers(0, 50, size=(300, 50))
    drawn = np.percentile(x[idx].mean(axis=1), [2.5, 97.5])
    assert bootstrap_ci(x, n_boot=300, seed=11) == pytest.approx(tuple(drawn), rel=1e-12)


def test_bootstrap_ci_with_inf() -> None:
    lo, hi = bootstrap_ci([30.0, 31.0, 32.0, 33.0, math.inf])
    assert hi == math.inf and 30.0 <= lo <= 31.5  # the lower end comes from inf-free resamples


# ------------------------------------------------------------------ summarize and buckets


def frame() -> pd.DataFrame:
    rng = np.random.default_rng(4)
    rows = []
    for i in range(40):
        ratio = [0.02, 0.1, 0.4][i % 3]
        base = rng.normal(100, 20)
        for m, shift in (("composite", 30.0), ("reinhard", 10.0), ("iph", 0.0)):
            rows.append({"method": m, "id": f"img{i:02d}", "fmse": base + shift + rng.normal(0, 5),
                         "psnr": 30 + rng.normal(0, 1) - shift / 10, "fg_ratio": ratio})
    return pd.DataFrame(rows)


def test_summarize_means_counts_and_order() -> None:
    df = frame()
    s = summarize(df, ["fmse", "psnr"], by="method", n_boot=500)
    assert list(s.columns) == ["method", "metric", "n", "mean", "ci_lo", "ci_hi"]
    assert list(s["method"]) == ["composite"] * 2 + ["reinhard"] * 2 + ["iph"] * 2
    assert list(s["metric"]) == ["fmse", "psnr"] * 3
    want = df.groupby("method")[["fmse", "psnr"]].mean()
    for r in s.itertuples():
        assert r.mean == pytest.approx(want.loc[r.method, r.metric], rel=1e-12)
        assert r.n == 40 and r.ci_lo < r.mean < r.ci_hi


def test_summarize_inf_mean() -> None:
    df = pd.DataFrame({"method": ["a"] * 4, "psnr": [30.0, 31.0, math.inf, 33.0]})
    r = summarize(df, ["psnr"]).iloc[0]
    assert r["mean"] == math.inf and r["ci_hi"] == math.inf and math.isfinite(r["ci_lo"])


@pytest.mark.parametrize("ratio,bucket", [(0.0, "0-5%"), (0.0499, "0-5%"), (0.05, "5-15%"), (0.1499, "5-15%"),
                                          (0.15, "15-100%"), (1.0, "15-100%")])
def test_fg_ratio_bucket(ratio: float, bucket: str) -> None:
    assert fg_ratio_bucket(ratio) == bucket


@pytest.mark.parametrize("bad", [-0.01, 1.2, math.nan])
def test_fg_ratio_bucket_rejects(bad: float) -> None:
    with pytest.raises(ValueError, match="foreground ratio"):
        fg_ratio_bucket(bad)


def test_bucket_means_hand_computed() -> None:
    df = pd.DataFrame({"method": ["a", "a", "a", "b", "b"], "fmse": [1.0, 3.0, 10.0, 4.0, 8.0],
                       "fg_ratio": [0.01, 0.04, 0.5, 0.2, 0.3]})
    b = bucket_means(df, ["fmse"])
    assert b.to_dict(orient="records") == [
        {"method": "a", "bucket": "0-5%", "n": 2, "fmse": 2.0},
        {"method": "a", "bucket": "15-100%", "n": 1, "fmse": 10.0},
        {"method": "b", "bucket": "15-100%", "n": 2, "fmse": 6.0}]
    assert FG_BUCKETS == ("0-5%", "5-15%", "15-100%")


# ------------------------------------------------------------------ paired comparisons


def holm_by_hand(p: list[float]) -> list[float]:
    order = sorted(range(len(p)), key=lambda i: p[i])
    out, running = [0.0] * len(p), 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (len(p) - rank) * p[i]))
        out[i] = running
    return out


def test_paired_comparisons_against_scipy() -> None:
    df = frame()
    pairs = paired_comparisons(df, ["fmse", "psnr"], n_boot=20000)
    assert list(pairs.columns) == ["metric", "a", "b", "n", "diff", "ci_lo", "ci_hi", "p", "p_holm"]
    assert [(r.a, r.b) for r in pairs.itertuples()][:3] == [("composite", "reinhard"), ("composite", "iph"),
                                                            ("reinhard", "iph")]
    for metric in ("fmse", "psnr"):
        sub = pairs[pairs["metric"] == metric]
        for r in sub.itertuples():
            xa = df[df.method == r.a].set_index("id")[metric]
            xb = df[df.method == r.b].set_index("id")[metric].loc[xa.index]
            d = (xa - xb).to_numpy()
            assert r.n == 40
            assert r.diff == pytest.approx(d.mean(), rel=1e-12)
            assert r.p == pytest.approx(sps.wilcoxon(xa.to_numpy(), xb.to_numpy()).pvalue, rel=1e-10)
            slo, shi = scipy_percentile_ci(d)
            se = d.std() / math.sqrt(d.size)
            assert r.ci_lo == pytest.approx(slo, abs=0.05 * se) and r.ci_hi == pytest.approx(shi, abs=0.05 * se)
        assert list(sub["p_holm"]) == pytest.approx(holm_by_hand(list(sub["p"])), rel=1e-12)


def test_paired_uses_common_ids_and_finite_pairs() -> None:
    df = pd.DataFrame({
        "method": ["a"] * 6 + ["b"] * 5,
        "id": ["i0", "i1", "i2", "i3", "i4", "i5", "i0", "i1", "i2", "i3", "i5"],  # b lacks i4
        "psnr": [30.0, math.inf, 28.0, 35.0, 40.0, 31.0, 29.0, 33.0, math.inf, 30.0, 30.5],
    })
    r = paired_comparisons(df, ["psnr"], n_boot=200).iloc[0]
    d = np.array([30.0 - 29.0, 35.0 - 30.0, 31.0 - 30.5])  # i0, i3, i5: common and finite in both
    assert r["n"] == 3 and r["diff"] == pytest.approx(d.mean())
    assert r["p"] == pytest.approx(sps.wilcoxon(d).pvalue) and r["p_holm"] == r["p"]  # a single test


def test_paired_all_zero_differences() -> None:
    df = pd.DataFrame({"method": ["a"] * 5 + ["b"] * 5, "id": [f"i{k}" for k in range(5)] * 2,
                       "fmse": [1.0, 2.0, 3.0, 4.0, 5.0] * 2})
    r = paired_comparisons(df, ["fmse"]).iloc[0]
    assert (r["diff"], r["ci_lo"], r["ci_hi"], r["p"], r["p_holm"]) == (0.0, 0.0, 0.0, 1.0, 1.0)


def test_paired_rejects_duplicate_rows() -> None:
    df = pd.DataFrame({"method": ["a", "a", "b"], "id": ["x", "x", "x"], "fmse": [1.0, 2.0, 3.0]})
    with pytest.raises(ValueError, match="method 'a' has more than one row for id 'x'"):
        paired_comparisons(df, ["fmse"])


def test_empty_inputs() -> None:
    empty = pd.DataFrame(columns=["method", "id", "fmse", "fg_ratio"])
    assert paired_comparisons(empty, ["fmse"]).empty
    assert bucket_means(empty, ["fmse"]).empty
    assert summarize(empty, ["fmse"]).empty


# ------------------------------------------------------------------ summarize_per_value (per subset, …)


def test_summarize_per_value_hand_computed() -> None:
    """Two methods × two subsets (values in order of first appearance, then "All"); a row with no subset
    counts in "All" only; means by hand; the CI is a bootstrap of exactly that value's rows (checked with
    bootstrap_ci on the hand-picked values); one image gives [v, v]."""
    df = pd.DataFrame({
        "method": ["a"] * 4 + ["b"] * 4,
        "subset": ["HFlickr", "HCOCO", "HFlickr", None] * 2,
        "mse": [1.0, 2.0, 4.0, 8.0, 10.0, 20.0, 40.0, 80.0],
        "fmse": [np.nan, 3.0, 5.0, 7.0, 1.0, 1.0, 1.0, 1.0],
    })
    out = stats.summarize_per_value(df, ["mse", "fmse"], "subset", n_boot=500, seed=3)
    assert list(out.columns) == ["subset", "method", "metric", "n", "mean", "ci_lo", "ci_hi"]
    assert list(dict.fromkeys(out["subset"])) == ["HFlickr", "HCOCO", "All"]
    cell = {(r.subset, r.method, r.metric): r for r in out.itertuples()}
    assert cell["HFlickr", "a", "mse"].mean == 2.5 and cell["HFlickr", "a", "mse"].n == 2
    assert cell["HFlickr", "a", "fmse"].mean == 5.0 and cell["HFlickr", "a", "fmse"].n == 1  # NaN dropped
    assert cell["HCOCO", "b", "mse"].mean == 20.0
    assert (cell["HCOCO", "b", "mse"].ci_lo, cell["HCOCO", "b", "mse"].ci_hi) == (20.0, 20.0)
    assert cell["All", "a", "mse"].mean == 3.75 and cell["All", "b", "mse"].n == 4
    r = cell["HFlickr", "b", "mse"]
    assert (r.ci_lo, r.ci_hi) == bootstrap_ci([10.0, 40.0], n_boot=500, seed=3)
    # by=None: all rows are one group (the score command's single set of predictions)
    one = stats.summarize_per_value(df[df["method"] == "a"], ["mse"], "subset", by=None)
    assert list(one.columns) == ["subset", "metric", "n", "mean", "ci_lo", "ci_hi"]
    assert list(one["mean"]) == [2.5, 2.0, 3.75]


def test_summarize_per_value_without_values_and_name_clash() -> None:
    df = pd.DataFrame({"method": ["a", "a"], "mse": [1.0, 2.0]})
    assert stats.summarize_per_value(df, ["mse"], "subset").empty
    assert stats.summarize_per_value(df.assign(subset=None), ["mse"], "subset").empty
    with pytest.raises(ValueError, match="All"):
        stats.summarize_per_value(df.assign(augmentation=["All", "lut"]), ["mse"], "augmentation")
    # any column works: e.g. the augmentation applied to each image
    aug = stats.summarize_per_value(df.assign(augmentation=["lut", "gamma"]), ["mse"], "augmentation")
    assert list(aug["augmentation"]) == ["lut", "gamma", "All"] and list(aug["mean"]) == [1.0, 2.0, 1.5]


def test_bootstrap_cis_are_bootstrap_ci_column_by_column() -> None:
    rng = np.random.default_rng(8)
    cols = [rng.normal(5, 2, 40), rng.exponential(1, 40), np.r_[rng.normal(size=39), np.nan],
            np.r_[rng.normal(size=39), math.inf], rng.normal(size=25), []]
    batched = bootstrap_cis(cols, n_boot=500, seed=3)
    for col, got in zip(cols, batched):
        want = bootstrap_ci(col, n_boot=500, seed=3)
        assert got == pytest.approx(want, rel=1e-12, nan_ok=True)
