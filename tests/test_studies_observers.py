"""Observer and ranking statistics against hand-computed values, scipy and an independent PL optimiser."""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize
from scipy.stats import friedmanchisquare

from studies import agreement, rankings
from studies.analysis import analyze_pairwise, analyze_rankings
from studies.simulate import simulate_ab, simulate_rank, write_csv
from studies.votes import read_ab, read_rankings


def _tournament(pairs, t):
    """t×t 0/1 win matrix from (winner, loser) pairs."""
    W = np.zeros((t, t))
    for w, l_ in pairs:
        W[w, l_] = 1
    return W


def test_kendall_u_by_hand():
    # judges: 0>1,0>2,1>2 | 0>1,0>2,2>1 | 0>1,2>0,2>1 → a01=3,a02=2,a20=1,a12=1,a21=2
    # Σ C(a,2) = 3 + 1 + 0 + 0 + 1 = 5;  u = 2·5/(C(3,2)·C(3,2)) − 1 = 1/9
    judges = [_tournament([(0, 1), (0, 2), (1, 2)], 3), _tournament([(0, 1), (0, 2), (2, 1)], 3),
              _tournament([(0, 1), (2, 0), (2, 1)], 3)]
    assert np.isclose(agreement.kendall_u(sum(judges), 3), 1 / 9)
    C = np.stack(judges)[:, None]  # (S=3, I=1, 3, 3)
    assert np.isclose(agreement.agreement_per_image(C)[0], 1 / 9)
    assert np.isclose(agreement.kendall_u(3 * judges[0], 3), 1.0)  # complete agreement


def test_circular_triads_and_zeta_by_hand():
    cyc3 = _tournament([(0, 1), (1, 2), (2, 0)], 3)
    assert agreement.circular_triads(cyc3) == 1 and agreement.zeta(1, 3) == 0.0  # 1 − 24/(27 − 3)
    # t = 4: a 3-cycle plus an item losing to all: s = (2, 2, 2, 0), d = 4 − 3 = 1, ζ = 1 − 24/48
    t4 = _tournament([(0, 1), (1, 2), (2, 0), (0, 3), (1, 3), (2, 3)], 4)
    assert agreement.circular_triads(t4) == 1 and agreement.zeta(1, 4) == 0.5
    trans = _tournament([(0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3)], 4)
    assert agreement.circular_triads(trans) == 0
    C = np.stack([t4, trans])[:, None]
    out = agreement.consistence_per_subject(C)
    assert out[0] == (0.5, 1, 1) and out[1] == (1.0, 0, 1)


def test_kendall_w_and_friedman_by_hand_and_against_scipy():
    # R = (4, 6, 8), S = 8, W = 12·8 / (3²·(27 − 3)) = 4/9; χ² = m(k − 1)W = 8/3
    ranks = np.array([[1, 2, 3], [1, 3, 2], [2, 1, 3]], dtype=float)
    chi, p, w = agreement.friedman(ranks)
    assert np.isclose(w, 4 / 9) and np.isclose(chi, 8 / 3) and np.isclose(p, np.exp(-4 / 3))  # χ²(2) sf
    tied = np.array([[1, 2, 3.5, 3.5], [2, 1, 3.5, 3.5], [1, 3, 2, 4], [1, 2, 3, 4], [2, 1, 4, 3]])
    chi, p, _ = agreement.friedman(tied)
    ref = friedmanchisquare(*tied.T)
    assert np.isclose(chi, ref.statistic) and np.isclose(p, ref.pvalue)


def test_ranking_scores_by_hand_and_friedman_per_image(tmp_path):
    p = tmp_path / "r.csv"
    p.write_text("subject,image,method,rank\n"
                 "s1,i1,A,1\ns1,i1,B,2\ns1,i1,C,3\ns1,i1,D,\n"
                 "s2,i1,A,3\ns2,i1,B,1\ns2,i1,C,2\ns2,i1,D,\n")
    rv = read_rankings(p)
    np.testing.assert_allclose(rankings.scores(rv), [2.0, 2.5, 1.5, 0.0])  # (3+1)/2, (2+3)/2, (1+2)/2, 0
    np.testing.assert_array_equal(rankings.full_ranks(rv), [[1, 2, 3, 4], [3, 1, 2, 4]])


def test_plackett_luce_equals_an_independent_optimiser(tmp_path):
    rows = simulate_rank({"A": 0.8, "B": 0.2, "C": 0.0, "D": -0.6}, 12, 5, seed=4, top=3)
    write_csv(rows, tmp_path / "r.csv")
    rv = read_rankings(tmp_path / "r.csv")
    theta, alpha, left_out = rankings.plackett_luce(rv)
    assert alpha == 0 and left_out == 0
    orders = [sorted(range(4), key=lambda m: r[m] if r[m] else 5) for r in rv.ranks]

    def nll(free):  # full-ranking PL likelihood, the unranked method last
        x = np.r_[0.0, free]
        return -sum(x[o[k]] - np.log(np.sum(np.exp(x[o[k:]]))) for o in orders for k in range(3))

    x = np.r_[0.0, minimize(nll, np.zeros(3), method="BFGS", options={"gtol": 1e-9}).x]
    np.testing.assert_allclose(theta, x - x.mean(), atol=1e-5)


def test_plackett_luce_recovers_generating_values():
    truth = np.array([0.8, 0.3, 0.0, -0.6])
    rows = simulate_rank(dict(zip("ABCD", truth)), 300, 15, seed=9, top=3)
    from studies.votes import RankingVotes

    ranks = np.array([int(r["rank"] or 0) for r in rows]).reshape(-1, 4)
    rv = RankingVotes(tuple("ABCD"), ("s",), ("i",), np.zeros(len(ranks), int), np.zeros(len(ranks), int), ranks)
    theta, _, _ = rankings.plackett_luce(rv)
    assert np.corrcoef(theta, truth)[0, 1] >= 0.99
    np.testing.assert_array_equal(np.argsort(theta), np.argsort(truth))


def test_careless_observer_is_flagged_and_others_are_consistent(tmp_path):
    rows = simulate_ab({"A": -0.8, "B": -0.2, "C": 0.3, "D": 0.7}, 20, 8, seed=3, careless=(6,))
    write_csv(rows, tmp_path / "ab.csv")
    res = analyze_pairwise(read_ab(tmp_path / "ab.csv"), n_boot=50, seed=0)
    flagged = [o["subject"] for o in res["observers"] if o["outlier"]]
    assert flagged == ["s07"]
    assert any("s07" in w and "outlier" in w for w in res["warnings"])
    by = {o["subject"]: o for o in res["observers"]}
    assert all(0 <= o["outlier_score"] for o in res["observers"])
    assert by["s07"]["outlier_score"] > 1.5 and all(o["zeta"] is not None for o in res["observers"])


def test_ranking_analysis_is_rank_broken_and_complete(tmp_path):
    rows = simulate_rank({"A": 0.8, "B": 0.2, "C": 0.0, "D": -0.6}, 10, 4, seed=1)
    write_csv(rows, tmp_path / "r.csv")
    res = analyze_rankings(read_rankings(tmp_path / "r.csv"), n_boot=50, seed=0)
    assert res["kind"] == "rank" and res["n_votes"] == 40
    assert all(m["score"] is not None and m["thurstone"] is not None for m in res["methods"])
    assert len(res["pairs"]) == 6 and set(res["agreement"]) >= {"kendall_w", "friedman_chi2", "per_image"}
    assert any("rank-broken" in w for w in res["warnings"])
