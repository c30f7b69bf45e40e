"""Thurstone / Bradley–Terry scaling: recovery of simulated observers, agreement with choix and with an
independent scipy optimiser, CI coverage, and finite values plus warnings on unanimous / disconnected data."""

from __future__ import annotations

import choix
import numpy as np
from scipy.optimize import minimize
from scipy.stats import norm

from studies import bootstrap, bradley_terry, thurstone
from studies.analysis import analyze_pairwise
from studies.pairfit import fit_batch
from studies.simulate import random_pairwise_votes
from studies.votes import PairwiseVotes, count_tensor

TRUTH = np.array([-0.6, -0.2, 0.05, 0.3, 0.45])


def _counts(votes):
    return count_tensor(votes).sum(axis=(0, 1))


def _scipy_mle(C, logcdf):
    """Oracle: generic BFGS on the paired-comparison likelihood with the first value fixed at 0."""
    n = C.shape[0]

    def nll(free):
        x = np.r_[0.0, free]
        d = x[:, None] - x[None, :]
        return -np.sum(C * logcdf(d))

    res = minimize(nll, np.zeros(n - 1), method="BFGS", options={"gtol": 1e-10})
    x = np.r_[0.0, res.x]
    return x - x.mean()


def test_thurstone_recovers_generating_values_at_large_samples():
    votes = random_pairwise_votes(TRUTH, 200, 200_000, seed=1, model="thurstone")
    z = thurstone.fit(_counts(votes)).values
    truth = TRUTH - TRUTH.mean()
    np.testing.assert_array_equal(np.argsort(z), np.argsort(truth))
    assert np.corrcoef(z, truth)[0, 1] >= 0.99
    assert np.max(np.abs(z - truth)) < 0.02
    # P(a beats b) = Φ(z_a − z_b): JOD is z rescaled so that 1 JOD ↔ 75%.
    assert abs(norm.cdf(thurstone.to_jod(1.0) / 1.4826) - norm.cdf(1.0)) < 1e-4
    assert abs(norm.cdf(1.0 / thurstone.JOD_PER_Z) - 0.75) < 1e-12


def test_bradley_terry_recovers_generating_values_at_large_samples():
    votes = random_pairwise_votes(TRUTH * 1.7, 200, 200_000, seed=2, model="logit")
    theta = bradley_terry.fit(_counts(votes)).values
    truth = TRUTH * 1.7 - (TRUTH * 1.7).mean()
    np.testing.assert_array_equal(np.argsort(theta), np.argsort(truth))
    assert np.corrcoef(theta, truth)[0, 1] >= 0.99
    assert np.max(np.abs(theta - truth)) < 0.03


def test_thurstone_mle_equals_an_independent_optimiser():
    C = np.array([[0, 7, 5, 9], [3, 0, 6, 4], [5, 4, 0, 8], [1, 6, 2, 0]], dtype=float)
    np.testing.assert_allclose(thurstone.fit(C).values, _scipy_mle(C, norm.logcdf), atol=1e-5)
    np.testing.assert_allclose(fit_batch(C, "logit"), _scipy_mle(C, lambda d: -np.logaddexp(0, -d)),
                               atol=1e-5)


def test_bt_equals_choix_on_the_same_counts():
    rng = np.random.default_rng(5)
    stack = rng.integers(1, 40, size=(25, 5, 5)).astype(float)
    stack[:, range(5), range(5)] = 0
    for C in stack[:3]:
        np.testing.assert_allclose(bradley_terry.fit(C).values, choix.ilsr_pairwise_dense(C), atol=1e-7)
    expected = np.array([choix.ilsr_pairwise_dense(C) for C in stack])
    np.testing.assert_allclose(bradley_terry.fit_many(stack), expected - expected.mean(1, keepdims=True),
                               atol=1e-7)
    # a stack where some matrices have no MLE: those use choix with the stated alpha
    sep = stack[:4].copy()
    sep[1, 0, :] = 0  # item 0 never wins in matrix 1
    got = bradley_terry.fit_many(sep)
    np.testing.assert_allclose(got[1], choix.ilsr_pairwise_dense(sep[1], alpha=bradley_terry.ALPHA,
                                                                  max_iter=1000), atol=1e-7)
    assert np.all(np.isfinite(got))


def test_mosteller_by_hand():
    # n = 10 per pair; p(0>1) = 0.8, p(0>2) = 0.9, p(1>2) = 0.5
    C = np.array([[0, 8, 9], [2, 0, 5], [1, 5, 0]], dtype=float)
    zq = norm.ppf
    Z = np.array([[0, zq(0.8), zq(0.9)], [zq(0.2), 0, 0], [zq(0.1), 0, 0]])
    expected = Z.mean(axis=1) - Z.mean()
    np.testing.assert_allclose(thurstone.mosteller(C), expected, atol=1e-12)
    # unanimous 10-0 is clamped to 1 − 1/(2·10) = 0.95
    C2 = np.array([[0, 10, 9], [0, 0, 5], [1, 5, 0]], dtype=float)
    assert np.isclose(thurstone.mosteller(C2)[0] - thurstone.mosteller(C2).mean() + 0,
                      (zq(0.95) + zq(0.9)) / 3 - np.mean([(zq(0.95) + zq(0.9)) / 3, (zq(0.05)) / 3,
                                                          (zq(0.1)) / 3]), atol=1e-12)
    C3 = C.copy()
    C3[0, 2] = C3[2, 0] = 0  # incomplete design: no Mosteller solution
    assert thurstone.mosteller(C3) is None


def test_bootstrap_cis_cover_the_truth_at_about_the_nominal_rate():
    truth = np.array([-0.4, -0.1, 0.15, 0.35])
    truth = truth - truth.mean()
    for model, fit, key in (("thurstone", thurstone.fit, "thurstone"), ("logit", bradley_terry.fit, "bt")):
        hits = []
        for r in range(200):
            v = random_pairwise_votes(truth, 30, 1800, seed=100 + r, model=model)
            per_subject = count_tensor(v).sum(axis=1)
            est = fit(per_subject.sum(0)).values
            ci = bootstrap.percentile_ci(bootstrap.bootstrap(per_subject, 200, seed=r)[key])
            hits.append((ci[:, 0] <= truth) & (truth <= ci[:, 1]))
            assert np.all(ci[:, 0] <= est) and np.all(est <= ci[:, 1])
        coverage = np.mean(hits)
        assert 0.90 <= coverage <= 0.985, (model, coverage)


def test_significance_from_bootstrap_covariance_by_hand():
    rng = np.random.default_rng(0)
    samples = rng.multivariate_normal([0, 0, 0], [[0.04, 0.01, 0], [0.01, 0.09, 0], [0, 0, 0.01]], 4000)
    values = np.array([0.5, 0.2, -0.7])
    tests = bootstrap.difference_tests(values, samples)
    cov = np.cov(samples, rowvar=False)
    from math import erf, sqrt

    expected_p = []
    for t, (i, j) in zip(tests, [(0, 1), (0, 2), (1, 2)]):
        sd = sqrt(cov[i, i] + cov[j, j] - 2 * cov[i, j])
        d = values[i] - values[j]
        expected_p.append(1 - erf(abs(d) / sd / sqrt(2)))  # two-sided normal p
        assert (t["i"], t["j"]) == (i, j) and np.isclose(t["diff"], d)
    np.testing.assert_allclose([t["p"] for t in tests], expected_p, rtol=1e-6)
    order = np.argsort(expected_p)  # Holm by hand: sorted p times (3, 2, 1), running max, cap 1
    adj = np.minimum(1, np.maximum.accumulate(np.array(expected_p)[order] * [3, 2, 1]))
    hand = np.empty(3)
    hand[order] = adj
    np.testing.assert_allclose([t["p_holm"] for t in tests], hand, rtol=1e-6)


def test_binomial_test_by_hand():
    from math import comb

    out = bootstrap.binomial_tests(np.array([[0, 60], [40, 0]], dtype=float))
    hand = 2 * sum(comb(100, k) for k in range(60, 101)) / 2**100
    assert out[0]["wins_i"] == 60 and out[0]["wins_j"] == 40
    assert np.isclose(out[0]["p"], hand, rtol=1e-12) and abs(hand - 0.0569) < 1e-4


def _votes(rows, methods):
    """rows: (subject, image, a, b, outcome) with integer ids."""
    r = np.array(rows, dtype=float)
    return PairwiseVotes(tuple(methods), tuple(f"s{i}" for i in range(int(r[:, 0].max()) + 1)),
                         tuple(f"i{i}" for i in range(int(r[:, 1].max()) + 1)), r[:, 0].astype(int),
                         r[:, 1].astype(int), r[:, 2].astype(int), r[:, 3].astype(int), r[:, 4])


def _finite(res):
    for m in res["methods"]:
        for key in ("thurstone", "jod", "bt"):
            assert m[key] is not None and np.isfinite(m[key])
        assert all(c is not None and np.isfinite(c) for c in m["thurstone_ci"] + m["bt_ci"])


def test_unanimous_design_gives_finite_values_and_warnings():
    # A beat B in all 10 votes, B and C split; A never met C → no MLE: prior / regulariser, flagged.
    rows = [(s, 0, 0, 1, 1.0) for s in range(10)] + [(s, 0, 1, 2, float(s % 2)) for s in range(10)]
    res = analyze_pairwise(_votes(rows, "ABC"), n_boot=200, seed=0)
    _finite(res)
    text = " ".join(res["warnings"])
    assert "unanimous pair(s): A beat B 10-0" in text and "prior" in text and "alpha=0.01" in text
    assert res["methods"][0]["method"] == "A"
    assert res["settings"]["mle_exists"] is False
    # with a cycle the MLE exists and stays finite; the warning says so
    rows2 = rows + [(s, 1, 2, 0, 1.0) for s in range(3)] + [(s, 1, 0, 2, 1.0) for s in range(3, 10)]
    res2 = analyze_pairwise(_votes(rows2, "ABC"), n_boot=100, seed=0)
    _finite(res2)
    assert any("stays finite" in w for w in res2["warnings"])


def test_disconnected_design_gives_finite_values_and_names_the_groups():
    rows = ([(s, 0, 0, 1, float(s % 3 != 0)) for s in range(9)] +
            [(s, 0, 2, 3, float(s % 3 == 0)) for s in range(9)])
    res = analyze_pairwise(_votes(rows, ["A", "B", "C", "D"]), n_boot=100, seed=0)
    _finite(res)
    warn = [w for w in res["warnings"] if "disconnected" in w]
    assert len(warn) == 1 and "{A, B} | {C, D}" in warn[0]
    untested = {(p["a"], p["b"]) for p in res["pairs"] if p["p"] is None}
    assert {frozenset(x) for x in untested} == {frozenset(x) for x in
                                                 [("A", "C"), ("A", "D"), ("B", "C"), ("B", "D")]}
