"""Benchmark: vote aggregation and the subject bootstrap at 1M votes × 1000 resamples.

Everything printed is measured in this run (wall clock, this machine). The comparison fitter is choix's
list-based `ilsr_pairwise` on a per-vote (winner, loser) list — the straightforward way to bootstrap with
choix — timed on a smaller study and reported per resample and per vote, next to ours.

    python benchmarks/bench_votes.py [--votes 1000000] [--boot 1000] [--methods 4]
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402


def _time_csv(votes) -> float:
    """Write the votes as an A/B CSV (one vote per subject and image so no trial repeats) and time reading
    and validating it."""
    import tempfile

    import pandas as pd

    from studies.votes import read_ab

    m = np.array(votes.methods, dtype=object)
    k = np.arange(votes.n_votes)
    df = pd.DataFrame({"subject": np.char.add("s", votes.subject.astype(str)),
                       "image": np.char.add("img", (k // len(votes.subjects)).astype(str)),
                       "method_a": m[votes.a], "method_b": m[votes.b],
                       "winner": np.where(votes.outcome == 1.0, m[votes.a], m[votes.b])})
    with tempfile.TemporaryDirectory() as tmp:
        path = f"{tmp}/votes.csv"
        df.to_csv(path, index=False)
        t = time.perf_counter()
        read_ab(path)
        return time.perf_counter() - t


def main() -> None:
    import choix

    from studies import bootstrap, bradley_terry, thurstone
    from studies.analysis import analyze_pairwise
    from studies.simulate import random_pairwise_votes
    from studies.votes import count_tensor

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--votes", type=int, default=1_000_000)
    p.add_argument("--boot", type=int, default=1000)
    p.add_argument("--methods", type=int, default=4)
    p.add_argument("--subjects", type=int, default=1000)
    p.add_argument("--images", type=int, default=15)
    p.add_argument("--naive-votes", type=int, default=20_000)
    p.add_argument("--naive-boot", type=int, default=10)
    p.add_argument("--skip-csv", action="store_true", help="do not time reading a CSV of the votes")
    args = p.parse_args()

    truth = np.linspace(-0.8, 0.8, args.methods)
    votes = random_pairwise_votes(truth, args.subjects, args.votes, seed=0, n_images=args.images)

    t0 = time.perf_counter()
    C = count_tensor(votes, "split")
    per_subject = C.sum(axis=1)
    counts = per_subject.sum(axis=0)
    t1 = time.perf_counter()
    z = thurstone.fit(counts).values
    bradley_terry.fit(counts)  # timed with the Thurstone fit: both point estimates
    t2 = time.perf_counter()
    boot = bootstrap.bootstrap(per_subject, args.boot, seed=1)
    t3 = time.perf_counter()
    ci = bootstrap.percentile_ci(boot["thurstone"])
    bootstrap.difference_tests(z, boot["thurstone"])
    t4 = time.perf_counter()
    analyze_pairwise(votes, "split", args.boot, seed=1)
    t_full = time.perf_counter() - t4
    t_csv = None if args.skip_csv else _time_csv(votes)

    print(f"{args.votes:,} votes, {args.methods} methods, {args.subjects} subjects × {args.images} images; "
          f"{args.boot} bootstrap resamples")
    rows = [("aggregate votes → count matrices", t1 - t0), ("point fits (Thurstone ML + choix BT)", t2 - t1),
            (f"bootstrap ({args.boot} × Thurstone + BT)", t3 - t2), ("CIs + pairwise z-tests", t4 - t3),
            ("total", t4 - t0), ("whole analysis (+ outlier LOO fits, u, ζ, tests)", t_full)]
    if t_csv is not None:
        rows.append(("read + validate the votes as a CSV (separate)", t_csv))
    for label, secs in rows:
        print(f"  {label:<50} {secs:7.3f} s")
    print(f"  max |z − truth| = {np.max(np.abs(z - (truth - truth.mean()))):.4f}; "
          f"mean CI width {np.mean(ci[:, 1] - ci[:, 0]):.4f}")

    # Naive: bootstrap by re-running choix's list-based I-LSR on the resampled vote list.
    small = random_pairwise_votes(truth, 100, args.naive_votes, seed=2)
    won_a = small.outcome == 1.0
    pairs = np.where(won_a[:, None], np.c_[small.a, small.b], np.c_[small.b, small.a])
    rng = np.random.default_rng(3)
    by_subject = [pairs[small.subject == s] for s in range(len(small.subjects))]
    t5 = time.perf_counter()
    for _ in range(args.naive_boot):
        draw = rng.integers(0, len(by_subject), len(by_subject))
        data = [tuple(r) for r in np.concatenate([by_subject[s] for s in draw]).tolist()]
        choix.ilsr_pairwise(args.methods, data)
    t6 = time.perf_counter()
    naive_per_vote = (t6 - t5) / (args.naive_boot * args.naive_votes)
    ours_per_vote = (t3 - t2) / (args.boot * args.votes)
    print(f"naive choix.ilsr_pairwise bootstrap on {args.naive_votes:,} votes: "
          f"{(t6 - t5) / args.naive_boot:.3f} s per resample → {naive_per_vote * args.votes * args.boot:,.0f} s "
          f"extrapolated to {args.votes:,} votes × {args.boot} (linear in votes)")
    print(f"ratio naive / ours (per vote-resample): {naive_per_vote / ours_per_vote:,.0f}×")


if __name__ == "__main__":
    main()
