"""Seeded simulator of user studies with the paper's design, and the generator of the shipped examples.

`studies/ab.csv` and `studies/rank.csv` are SIMULATED (every row carries `simulated=1`): 30 subjects × 15
images, methods Dove-Net, Bargain-Net (R), Rain-Net, IPH. They exist so that `harness analyze-votes` has
something to work on; they are not the paper's data. Regenerate them with

    python -m studies.simulate --out-dir studies        # seed 2023, byte-identical output

Models. A/B (Thurstone Case V observers): subject s on image i prefers a over b with probability
Φ(z_a − z_b + e_ia − e_ib), e = per-image effects N(0, image_sd²); with probability `tie_rate` the subject
answers "tie" instead. Rankings (Plackett–Luce observers): each subject draws a full order with Gumbel noise on
θ + per-image effects and reports the top `top` places (the rest blank). `careless` subjects answer uniformly
at random (to give the outlier analysis something to find).
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

PAPER_METHODS = ("Dove-Net", "Bargain-Net (R)", "Rain-Net", "IPH")
# Generating values for the shipped examples (invented, ordered as the paper's ranking; not its numbers).
PAPER_Z = (-0.45, 0.05, -0.15, 0.55)       # Thurstone z units
PAPER_THETA = (-0.7, 0.1, -0.25, 0.85)      # Plackett–Luce log-strengths
SEED = 2023


if TYPE_CHECKING:
    from studies.votes import PairwiseVotes


def simulate_ab(z: dict[str, float], n_subjects: int, n_images: int, seed: int, image_sd: float = 0.0,
                tie_rate: float = 0.0, careless: tuple[int, ...] = (), model: str = "thurstone",
                repeats: int = 1) -> list[dict[str, str]]:
    """Rows subject,image,method_a,method_b,winner: every subject judges every pair once on each of
    n_images × repeats images (repeats > 1 gives tests more votes per subject). `model` "logit" draws
    Bradley–Terry observers instead (z then holds log-strengths)."""
    from scipy.stats import norm

    rng = np.random.default_rng(seed)
    names = list(z)
    vals = np.array([z[m] for m in names])
    n_img = n_images * repeats
    eff = rng.normal(0.0, image_sd, size=(n_img, len(names))) if image_sd else np.zeros((n_img, len(names)))
    rows = []
    for s in range(n_subjects):
        for i in range(n_img):
            for a in range(len(names)):
                for b in range(a + 1, len(names)):
                    first, second = (a, b) if rng.random() < 0.5 else (b, a)  # random presentation order
                    d = vals[first] - vals[second] + eff[i, first] - eff[i, second]
                    p = norm.cdf(d) if model == "thurstone" else 1.0 / (1.0 + np.exp(-d))
                    if s in careless:
                        p = 0.5
                    if rng.random() < tie_rate:
                        winner = "tie"
                    else:
                        winner = names[first] if rng.random() < p else names[second]
                    rows.append({"subject": f"s{s + 1:02d}", "image": f"img{i + 1:02d}",
                                 "method_a": names[first], "method_b": names[second], "winner": winner})
    return rows


def simulate_rank(theta: dict[str, float], n_subjects: int, n_images: int, seed: int, top: int = 3,
                  image_sd: float = 0.0, careless: tuple[int, ...] = ()) -> list[dict[str, str]]:
    """Rows subject,image,method,rank (top `top` places ranked 1..top, the rest blank), Plackett–Luce draws
    (argsort of θ + Gumbel noise is an exact PL sample)."""
    rng = np.random.default_rng(seed)
    names = list(theta)
    vals = np.array([theta[m] for m in names])
    eff = rng.normal(0.0, image_sd, size=(n_images, len(names))) if image_sd else np.zeros((n_images, len(names)))
    rows = []
    for s in range(n_subjects):
        for i in range(n_images):
            util = (0.0 if s in careless else vals + eff[i]) + rng.gumbel(size=len(names))
            order = np.argsort(-util)
            rank = np.empty(len(names), dtype=int)
            rank[order] = np.arange(1, len(names) + 1)
            for m in range(len(names)):
                rows.append({"subject": f"s{s + 1:02d}", "image": f"img{i + 1:02d}", "method": names[m],
                             "rank": str(rank[m]) if rank[m] <= top else ""})
    return rows


def random_pairwise_votes(values: np.ndarray, n_subjects: int, n_votes: int, seed: int,
                          model: str = "thurstone", n_images: int = 1) -> "PairwiseVotes":
    """Vectorised simulation for tests and benchmarks: n_votes trials of uniformly random pairs, spread evenly
    over subjects (and images), answered by Thurstone ("thurstone") or Bradley–Terry ("logit") observers
    with the given generating values."""
    from scipy.special import expit, ndtr

    from studies.votes import PairwiseVotes

    rng = np.random.default_rng(seed)
    n = len(values)
    a = rng.integers(0, n, n_votes)
    b = (a + rng.integers(1, n, n_votes)) % n  # never equal to a
    d = np.asarray(values)[a] - np.asarray(values)[b]
    p = ndtr(d) if model == "thurstone" else expit(d)
    outcome = (rng.random(n_votes) < p).astype(float)
    k = np.arange(n_votes)
    return PairwiseVotes(tuple(f"m{i}" for i in range(n)), tuple(f"s{i}" for i in range(n_subjects)),
                         tuple(f"img{i}" for i in range(n_images)), k % n_subjects,
                         (k // n_subjects) % n_images, a, b, outcome)


def write_csv(rows: list[dict[str, str]], path: str | Path, simulated: bool = True) -> None:
    """Write rows (plus a `simulated` column) with a stable column order and \\n line ends."""
    fields = list(rows[0]) + (["simulated"] if simulated else [])
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=fields, lineterminator="\n")
        w.writeheader()
        for r in rows:
            w.writerow({**r, "simulated": "1"} if simulated else r)


def paper_examples(seed: int = SEED) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    """The rows of the shipped ab.csv and rank.csv (30 subjects, 15 images; subject s30 careless)."""
    ab = simulate_ab(dict(zip(PAPER_METHODS, PAPER_Z)), 30, 15, seed, image_sd=0.25, tie_rate=0.03,
                     careless=(29,))
    rank = simulate_rank(dict(zip(PAPER_METHODS, PAPER_THETA)), 30, 15, seed + 1, image_sd=0.25,
                         careless=(29,))
    return ab, rank


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Write the simulated example studies ab.csv and rank.csv.")
    p.add_argument("--out-dir", default=str(Path(__file__).parent))
    p.add_argument("--seed", type=int, default=SEED)
    args = p.parse_args(argv)
    ab, rank = paper_examples(args.seed)
    out = Path(args.out_dir)
    write_csv(ab, out / "ab.csv")
    write_csv(rank, out / "rank.csv")
    print(f"wrote {len(ab)} A/B votes to {out / 'ab.csv'} and {len(rank)} ranking rows to {out / 'rank.csv'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
