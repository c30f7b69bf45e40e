"""`--prior gaussian`: pwcmp's default Thurstone scaling (studies/pwprior.py) against pwcmp itself.

Oracles:
1. pwcmp's own numbers: `pw_scale.m` of mantiuk/pwcmp at 07876b2, run in GNU Octave 7.3.0 (octave-statistics
   1.5.3) by tests/pwcmp_oracle/run_cases.m (output in tests/pwcmp_oracle/expected.txt), with its defaults
   ('prior','gaussian', 'mean0') and with 'prior','none'.
2. A literal, loop-by-loop port of the objective in pw_scale.m's `exp_prob_grad` (raw probabilities, no
   logarithm tricks, no gradient) written here, minimised by derivative-free Nelder–Mead.
3. Finite differences for the analytic gradient.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from scipy.optimize import check_grad, minimize
from scipy.stats import norm

from harness.cli import main
from studies import pwprior, thurstone

ROOT = Path(__file__).resolve().parents[1]
PWCMP_SIGMA = 1.4826  # pwcmp's sigma_cdf: its JOD = 1.4826 × our z
TOL_JOD = 1e-5

# (counts, pwcmp JOD with its gaussian prior, pwcmp JOD with no prior or None where that MLE does not exist)
CASES = {
    "dense": ([[0, 7, 5, 9], [3, 0, 6, 4], [5, 4, 0, 8], [1, 6, 2, 0]],
              [0.6022418349, -0.1933295765, 0.1961836339, -0.6050958923],
              [0.6067995298, -0.1950293171, 0.1979569119, -0.6097271246]),
    "unanimous pairs": ([[0, 3, 2, 1], [0, 0, 1, 2], [1, 2, 0, 3], [3, 1, 0, 0]],
                        [0.2727926929, -0.4778269656, 0.4778269656, -0.2727926929],
                        [0.2775041124, -0.4955823112, 0.4955823112, -0.2775041124]),
    "no MLE": ([[0, 4, 5], [0, 0, 3], [0, 2, 0]], [1.5505866005, -0.6386809365, -0.9119056640], None),
    "incomplete": ([[0, 2, 0, 0, 1], [1, 0, 3, 0, 0], [0, 1, 0, 2, 0], [0, 0, 1, 0, 4], [2, 0, 0, 0, 0]],
                   [-0.2076671805, 0.2308079412, 0.0922636106, 0.5307393469, -0.6461437181],
                   [-0.2268804946, 0.2297932181, 0.1119838936, 0.5686575860, -0.6835542032]),
    "disconnected": ([[0, 3, 0, 0], [1, 0, 0, 0], [0, 0, 0, 2], [0, 0, 2, 0]],
                     [0.2311794123, -0.6935382386, 0.2311794136, 0.2311794127], None),
    "ab.csv": ([[0, 151, 101, 68], [288, 0, 179, 131], [333, 257, 0, 171], [370, 310, 264, 0]],
               [-0.7900034088, -0.1324698777, 0.2526457614, 0.6698275251],
               [-0.7912803739, -0.1321300802, 0.2522271378, 0.6711833162]),
    "ab.csv img01": ([[0, 21, 13, 4], [8, 0, 9, 7], [16, 21, 0, 9], [26, 23, 21, 0]],
                     [-0.2075638175, -0.7036156578, 0.0547573936, 0.8564220816],
                     [-0.2089638329, -0.6995265705, 0.0472147695, 0.8612756340]),
    "ab.csv 3 subjects": ([[0, 14, 7, 9], [27, 0, 19, 10], [38, 26, 0, 18], [35, 34, 25, 0]],
                          [-0.8290318027, -0.1907146466, 0.3503654479, 0.6693810014],
                          [-0.8301763241, -0.1870636859, 0.3508576422, 0.6663823678]),
    "sparse": ([[0, 2, 3, 1], [0, 0, 2, 2], [1, 0, 0, 3], [0, 1, 1, 0]],
               [1.1164068045, 0.1060223978, -0.3036979610, -0.9187312412],
               [1.2940574907, 0.0737615109, -0.3274161176, -1.0404028840]),
}
# ab.csv's methods in the order of the matrices above (first-seen order of its rows)
AB_METHODS = ("Dove-Net", "Rain-Net", "Bargain-Net (R)", "IPH")


@pytest.mark.parametrize("name", list(CASES))
def test_equals_pwcmp(name):
    counts, gaussian, none = CASES[name]
    C = np.array(counts, dtype=float)
    np.testing.assert_allclose(pwprior.fit(C) * PWCMP_SIGMA, gaussian, atol=TOL_JOD, rtol=0)
    if none is not None:  # the default fit is pwcmp with its prior off
        np.testing.assert_allclose(thurstone.fit(C).values * PWCMP_SIGMA, none, atol=TOL_JOD, rtol=0)


def port_objective(D: np.ndarray, q: np.ndarray) -> float:
    """pw_scale.m (mantiuk/pwcmp 07876b2), `exp_prob_grad` value, for a connected D, q in JOD: a loop-by-loop
    transcription with pwcmp's own raw powers of probabilities."""
    N = D.shape[0]
    cells = [(i, j) for j in range(N) for i in range(N) if D[i, j] + D[j, i] > 0]  # find(): column-major
    k, n = {}, {}
    for i, j in cells:
        unanimous = (D[i, j] > 0) != (D[j, i] > 0)
        k[i, j] = (1.0 if D[i, j] == 0 else D[i, j] - 1.0) if unanimous else D[i, j]
        n[i, j] = D[i, j] + D[j, i]
    prob = {(i, j): norm.cdf(q[i] - q[j], 0, PWCMP_SIGMA) for i, j in cells}
    total = 0.0
    for a in cells:
        like = prob[a] ** D[a] * (1 - prob[a]) ** D[a[::-1]]
        prior = 0.0
        for b in cells:
            column = sum(prob[c] ** k[b] * (1 - prob[c]) ** (n[b] - k[b]) for c in cells)
            prior += prob[a] ** k[b] * (1 - prob[a]) ** (n[b] - k[b]) / column
        total -= np.log(like) + np.log(prior + 0.1)
    return total + 0.01 * np.mean(q) ** 2


def test_equals_a_literal_port_of_the_objective():
    rng = np.random.default_rng(0)
    D = rng.integers(0, 7, size=(4, 4)).astype(float)
    np.fill_diagonal(D, 0)
    D[0, 1], D[1, 0] = 5, 0  # one unanimous pair
    assert np.all((D + D.T)[~np.eye(4, dtype=bool)] > 0)
    problem = pwprior._Problem(D, D)
    for _ in range(3):  # same objective value at random points (the port is in JOD, ours in z)
        z = rng.normal(size=4)
        assert problem(z)[0] == pytest.approx(port_objective(D, z * PWCMP_SIGMA), rel=1e-9)
    res = minimize(lambda q: port_objective(D, q), np.zeros(4), method="Nelder-Mead",
                   options={"xatol": 1e-9, "fatol": 1e-13, "maxiter": 20000, "maxfev": 40000})
    q = res.x - res.x.mean()
    np.testing.assert_allclose(pwprior.fit(D) * PWCMP_SIGMA, q, atol=1e-5)


@pytest.mark.parametrize("name", ["dense", "ab.csv", "disconnected", "sparse"])
def test_gradient_matches_finite_differences(name):
    C = np.array(CASES[name][0], dtype=float)
    linked, _ = pwprior.link_components(C)
    problem = pwprior._Problem(linked, C)
    z = np.random.default_rng(3).normal(size=C.shape[0])
    err = check_grad(lambda x: problem(x)[0], lambda x: problem(x)[1], z)
    assert err < 1e-4 * max(1.0, np.abs(problem(z)[1]).max())


def test_log_space_survives_where_raw_probabilities_underflow():
    """10 000 votes on a pair: pwcmp's raw p^k underflows to 0 there; the logarithms do not, and the result
    is the MLE's to within the prior's pull (which vanishes with that many votes)."""
    C = np.array([[0, 6000, 7000], [4000, 0, 5500], [3000, 4500, 0]], dtype=float)
    assert 0.6 ** 6000 == 0.0
    z = pwprior.fit(C)
    assert np.all(np.isfinite(z))
    np.testing.assert_allclose(z, thurstone.fit(C).values, atol=2e-3)


def _json(capsys, argv):
    assert main(argv) == 0
    return json.loads(capsys.readouterr().out)


def test_analyze_votes_prior_gaussian_end_to_end(capsys):
    """The CLI flag: studies/ab.csv with ties dropped gives pwcmp's numbers for that matrix."""
    base = ["analyze-votes", str(ROOT / "studies" / "ab.csv"), "--ties", "drop", "--json", "--no-mlflow",
            "--bootstrap", "20"]
    gauss = _json(capsys, base + ["--prior", "gaussian"])
    plain = _json(capsys, base)
    want_g = dict(zip(AB_METHODS, CASES["ab.csv"][1]))
    want_n = dict(zip(AB_METHODS, CASES["ab.csv"][2]))
    for res, want in ((gauss, want_g), (plain, want_n)):
        for m in res["methods"]:
            assert m["thurstone"] * PWCMP_SIGMA == pytest.approx(want[m["method"]], abs=TOL_JOD)
            lo, hi = m["thurstone_ci"]
            assert lo <= m["thurstone"] <= hi
    assert gauss["settings"]["thurstone_prior"] == "gaussian" and plain["settings"]["thurstone_prior"] == "none"
    assert any("gaussian distance prior" in w for w in gauss["warnings"])
    assert gauss["methods"] != plain["methods"]


def test_bad_prior_is_one_line(capsys):
    assert main(["analyze-votes", str(ROOT / "studies" / "ab.csv"), "--prior", "flat", "--no-mlflow"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "flat" in err and "gaussian" in err
