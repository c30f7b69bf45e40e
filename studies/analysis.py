"""The whole analysis of one study, as one JSON-ready dict (what `harness analyze-votes --json` prints).

Pairwise (A/B) studies are scaled directly; ranking studies are rank-broken into pairwise wins for the
Thurstone / BT scales and bootstrap, and additionally get paper scores, Friedman / Kendall's W and
Plackett–Luce strengths.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from studies import agreement, bootstrap, bradley_terry, rankings, thurstone
from studies.errors import StudyInputError
from studies.votes import (PairwiseVotes, RankingVotes, components, count_tensor, rank_break, read_votes,
                           strongly_connected, unanimous_pairs)

OUTLIER_THRESHOLD = 1.5


def _num(x: float | None, digits: int = 6) -> float | None:
    """JSON-safe float with `digits` significant digits (NaN / inf → None); tiny p-values stay nonzero."""
    if x is None or not np.isfinite(x):
        return None
    return float(f"{float(x):.{digits}g}")


def _matrix(M: np.ndarray, order: np.ndarray) -> list[list[float | None]]:
    return [[_num(M[a, b]) for b in order] for a in order]


def count_matrices(votes: PairwiseVotes, ties: str = "split") -> tuple[np.ndarray, np.ndarray]:
    """(overall N×N, per image I×N×N) win counts."""
    C = count_tensor(votes, ties)
    return C.sum(axis=(0, 1)), C.sum(axis=0)


def analyze(path: str | Path, kind: str | None = None, ties: str = "split", n_boot: int = 1000,
            seed: int | None = 0, prior: str = "none") -> dict:
    """Read, validate and analyse a study CSV (see `analyze_pairwise` / `analyze_rankings`). `prior` is the
    Thurstone fit's: "none" (maximum likelihood) or "gaussian" (pwcmp's default, studies/pwprior.py)."""
    votes = read_votes(path, kind)
    if isinstance(votes, PairwiseVotes) and ties == "drop" and votes.n_ties == votes.n_votes:
        raise StudyInputError(str(path), "every vote is a tie: nothing to scale with --ties drop")
    if isinstance(votes, RankingVotes):
        return analyze_rankings(votes, n_boot, seed, prior)
    return analyze_pairwise(votes, ties, n_boot, seed, prior=prior)


def analyze_pairwise(votes: PairwiseVotes, ties: str = "split", n_boot: int = 1000, seed: int | None = 0,
                     kind: str = "ab", prior: str = "none") -> dict:
    """Thurstone (ML, JOD, Mosteller), BT (choix), subject bootstrap CIs and tests, observer statistics."""
    names = votes.methods
    warnings: list[str] = []
    if votes.n_ties:
        warnings.append(f"{votes.n_ties} tie(s) " + ("split as half a vote each way" if ties == "split"
                                                     else "dropped"))
    C = count_tensor(votes, ties)  # (S, I, N, N)
    counts, per_image = C.sum(axis=(0, 1)), C.sum(axis=0)
    raw = count_tensor(votes, "drop").sum(axis=(0, 1))
    if counts.sum() == 0:
        raise ValueError("no decided votes to analyse")

    groups = components(counts)
    mle_exists = bool(strongly_connected(counts))
    if prior == "gaussian":
        warnings.append("Thurstone scale with pwcmp's default gaussian distance prior (--prior gaussian): "
                        "MAP, not maximum likelihood; BT is unaffected")
        reg_note = (f"no finite maximum-likelihood solution exists: Thurstone relies on pwcmp's prior "
                    f"(disconnected groups linked by one fake win each way between their best methods, as "
                    f"pwcmp does) and BT uses choix's regulariser alpha={bradley_terry.ALPHA:g}")
    else:
        reg_note = (f"no finite maximum-likelihood solution exists, so Thurstone adds an N(0, "
                    f"{thurstone.PRIOR_SD:g}²) prior on each scale value and BT uses choix's regulariser "
                    f"alpha={bradley_terry.ALPHA:g}")
    if len(groups) > 1:
        listed = " | ".join("{" + ", ".join(names[m] for m in g) + "}" for g in groups)
        warnings.append(f"the comparison graph has {len(groups)} disconnected groups: {listed}; scale values "
                        f"cannot be compared across groups ({reg_note}, which centres each group near 0) "
                        f"and pairs across groups are not tested (p = null)")
    unanimous = unanimous_pairs(counts)
    if unanimous:
        listed = ", ".join(f"{names[i]} beat {names[j]} {counts[i, j]:g}-0" for i, j in unanimous)
        how = (reg_note if not mle_exists and len(groups) == 1 else
               "the maximum-likelihood scale stays finite because these pairs are linked through other "
               "comparisons" if mle_exists else "see the disconnected-groups warning")
        warnings.append(f"unanimous pair(s): {listed}; {how}; Mosteller clamps their proportion to "
                        f"1/(2n)")

    if prior == "gaussian":
        from studies import pwprior

        z = thurstone.Fit(pwprior.fit(counts), regularised=True)
    else:
        z = thurstone.fit(counts)
    bt = bradley_terry.fit(counts)
    most = thurstone.mosteller(counts)
    per_subject = C.sum(axis=1)
    n_subjects = len(votes.subjects)
    B = n_boot if n_subjects >= 2 else 0
    if n_boot and not B:
        warnings.append("only one subject: no bootstrap confidence intervals or significance tests")
    boot = bootstrap.bootstrap(per_subject, B, seed, prior)
    if B:
        boot_counts_needed = int(boot["no_mle"].sum())
        if boot_counts_needed and mle_exists and prior == "none":
            warnings.append(f"{boot_counts_needed} of {B} bootstrap resamples had no finite maximum-likelihood "
                            f"solution and were fitted with the prior / regulariser (CIs may be wide)")
    z_ci = bootstrap.percentile_ci(boot["thurstone"])
    bt_ci = bootstrap.percentile_ci(boot["bt"])
    win_rate = counts.sum(axis=1) / np.maximum((counts + counts.T).sum(axis=1), 1e-300)

    order = np.argsort(-z.values, kind="stable")
    methods = [{"method": names[m], "thurstone": _num(z.values[m]), "thurstone_ci": [_num(v) for v in z_ci[m]],
                "jod": _num(thurstone.to_jod(z.values[m])),
                "jod_ci": [_num(thurstone.to_jod(v)) for v in z_ci[m]],
                "bt": _num(bt.values[m]),
                "bt_ci": [_num(v) for v in bt_ci[m]], "win_rate": _num(win_rate[m]), "score": None,
                "mosteller": _num(most[m]) if most is not None else None} for m in order]

    labels = np.empty(len(names), dtype=int)
    for g, members in enumerate(groups):
        labels[members] = g
    tests = bootstrap.difference_tests(z.values, boot["thurstone"], labels)
    if B:
        flat = [f"{names[t['i']]}–{names[t['j']]}" for t in tests
                if np.isnan(t["p"]) and labels[t["i"]] == labels[t["j"]]]
        if flat:
            warnings.append(f"no significance test for {', '.join(flat)}: their difference is the same in "
                            f"every bootstrap resample (too few observers or only unanimous votes)")

    binom = {(t["i"], t["j"]): t for t in bootstrap.binomial_tests(raw)}
    pairs = []
    for t in tests:
        i, j = (t["i"], t["j"]) if t["diff"] >= 0 else (t["j"], t["i"])
        b = binom[(t["i"], t["j"])]
        wins = {t["i"]: b["wins_i"], t["j"]: b["wins_j"]}
        pairs.append({"a": names[i], "b": names[j], "diff": _num(abs(t["diff"])), "p": _num(t["p"], 10),
                      "p_holm": _num(t["p_holm"], 10), "wins_a": wins[i], "wins_b": wins[j],
                      "ties": _num(counts[i, j] + counts[j, i] - raw[i, j] - raw[j, i]) if ties == "split"
                      else None, "p_binomial": _num(b["p"], 10)})
    pairs.sort(key=lambda p: (p["p_holm"] is None, p["p_holm"] or 0.0, -(p["diff"] or 0.0)))

    L, score = agreement.outlier_scores(C, prior)
    consist = agreement.consistence_per_subject(C)
    n_trials = per_subject.sum(axis=(1, 2))
    observers = []
    for s, subj in enumerate(votes.subjects):
        flagged = bool(np.isfinite(score[s]) and score[s] > OUTLIER_THRESHOLD)
        if flagged:
            warnings.append(f"subject '{subj}' has outlier score {score[s]:.2f} > {OUTLIER_THRESHOLD} "
                            f"(leave-one-out likelihood far below the other observers'): investigate")
        zeta, d, n_t = consist[s]
        observers.append({"subject": subj, "n_trials": _num(n_trials[s]), "log10_likelihood": _num(L[s]),
                          "outlier_score": _num(score[s]), "outlier": flagged,
                          "zeta": _num(zeta) if kind == "ab" else None,
                          "circular_triads": d if kind == "ab" and zeta is not None else None})
    u_img = agreement.agreement_per_image(C) if kind == "ab" else []
    u_vals = [u for u in u_img if u is not None]
    return {
        "kind": kind, "n_votes": votes.n_votes, "methods": methods, "pairs": pairs, "observers": observers,
        "warnings": warnings,
        "agreement": {"kendall_u": _num(float(np.mean(u_vals))) if u_vals else None,
                      "kendall_u_per_image": {votes.images[i]: _num(u) for i, u in enumerate(u_img)}}
        if kind == "ab" else {},
        "counts": {"methods": [names[m] for m in order], "wins": _matrix(counts, order),
                   "per_image": {votes.images[i]: _matrix(per_image[i], order) for i in range(len(votes.images))}},
        "settings": {"ties": ties, "bootstrap": B, "seed": seed, "n_subjects": n_subjects,
                     "n_images": len(votes.images), "mle_exists": mle_exists,
                     "bt_alpha": bt.alpha, "thurstone_prior": prior,
                     "thurstone_prior_sd": thurstone.PRIOR_SD if z.regularised and prior == "none" else None},
    }


def analyze_rankings(rv: RankingVotes, n_boot: int = 1000, seed: int | None = 0, prior: str = "none") -> dict:
    """Paper scores, Friedman / W (overall and per image), Plackett–Luce, and the rank-broken pairwise
    analysis (Thurstone / BT with the subject bootstrap)."""
    res = analyze_pairwise(rank_break(rv), "split", n_boot, seed, kind="rank", prior=prior)
    res["n_votes"] = rv.n_votes
    sc = rankings.scores(rv)
    theta, alpha, left_out = rankings.plackett_luce(rv)
    idx = {m: k for k, m in enumerate(rv.methods)}
    for entry in res["methods"]:
        entry["score"] = _num(sc[idx[entry["method"]]])
        entry["pl"] = _num(theta[idx[entry["method"]]])
    res["warnings"].insert(0, "pairwise scales are rank-broken (each ranking → its implied pairwise wins); "
                              "these pairs are not independent, hence the subject bootstrap")
    if left_out:
        res["warnings"].append(f"{left_out} ranking(s) with two or more unranked methods were left out of the "
                               f"Plackett–Luce fit (their order among the unranked is unknown)")
    if alpha:
        res["warnings"].append(f"no finite Plackett–Luce maximum-likelihood solution: choix regulariser "
                               f"alpha={alpha:g} used")
    (chi, p, w), per_image = rankings.friedman_overall_and_per_image(rv)
    res["agreement"] = {"friedman_chi2": _num(chi), "friedman_p": _num(p, 12), "kendall_w": _num(w),
                        "per_image": {rv.images[i]: {"friedman_chi2": _num(c), "friedman_p": _num(q, 12),
                                                     "kendall_w": _num(ww)}
                                      for i, (c, q, ww) in enumerate(per_image)}}
    res["settings"]["pl_alpha"] = alpha
    return res
