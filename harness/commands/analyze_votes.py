"""Scale user-study votes: Thurstone Case V (maximum likelihood, JOD, Mosteller) and Bradley–Terry (choix),
with subject-bootstrap 95% CIs, Holm-corrected pairwise significance, binomial tests, observer outlier scores,
Kendall's u / ζ (A/B) and Friedman / Kendall's W / Plackett–Luce (rankings).

A/B CSV: subject,image,method_a,method_b,winner (winner = a method or "tie").
Ranking CSV: subject,image,method,rank (1 = best, blank = unranked). The kind is read from the header.

examples:
  harness analyze-votes studies/ab.csv
  harness analyze-votes studies/rank.csv --figure rank.png --no-mlflow
  harness analyze-votes votes.csv --ties drop --bootstrap 2000 --seed 1 --json
"""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("csv", metavar="CSV", help="the study's votes (A/B or ranking CSV)")
    parser.add_argument("--kind", choices=("ab", "rank"), help="override the kind detected from the header")
    parser.add_argument("--ties", choices=("split", "drop"), default="split",
                        help="A/B ties: half a vote each way (default) or left out")
    parser.add_argument("--bootstrap", type=int, default=1000, metavar="N",
                        help="subject-bootstrap resamples for CIs and tests (default 1000; 0 = none)")
    parser.add_argument("--seed", type=int, default=0, help="bootstrap seed (default 0)")
    parser.add_argument("--json", action="store_true", help="print exactly one JSON object on stdout")
    parser.add_argument("--figure", metavar="PNG", help="write the figure (scales with CIs, significance)")
    parser.add_argument("--tracking-uri", help="MLflow store (default: sqlite mlflow.db in the working "
                                               "directory, or $MLFLOW_TRACKING_URI)")
    parser.add_argument("--no-mlflow", action="store_true", help="do not log to MLflow")


def run(args: argparse.Namespace) -> int:
    import json
    import sys

    from harness.errors import InputError
    from studies.analysis import analyze
    from studies.errors import StudyInputError
    from studies.report import figure, format_text

    if args.bootstrap < 0:
        raise InputError("--bootstrap", f"must be 0 or more, not {args.bootstrap}")
    try:
        res = analyze(args.csv, args.kind, args.ties, args.bootstrap, args.seed)
    except StudyInputError as err:
        raise InputError(err.where, err.problem) from None

    fig = None
    if args.figure or not args.no_mlflow:
        fig = figure(res, args.figure)
    if not args.no_mlflow:
        _log_mlflow(args, res, fig)
    if fig is not None:
        import matplotlib.pyplot as plt

        plt.close(fig)
    if args.json:
        sys.stdout.write(json.dumps(res, ensure_ascii=False) + "\n")
    else:
        print(format_text(res, args.csv))
        if args.figure:
            print(f"\nfigure: {args.figure}")
    return 0


def _log_mlflow(args: argparse.Namespace, res: dict, fig) -> None:
    """Params, per-method metrics, the method and pair tables, the figure and the full result, in the
    `user-studies` experiment of the same store as the benchmark."""
    import contextlib
    import io
    import os
    import warnings

    import mlflow
    import pandas as pd

    from harness.tracking import get_or_create_experiment

    # MLflow prints store migrations and run links; --json promises a clean stdout.
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        # mlflow's log_table trips a pandas-3 deprecation warning inside mlflow itself
        warnings.filterwarnings("ignore", message=".*select_dtypes.*")
        get_or_create_experiment("user-studies", args.tracking_uri)
        with mlflow.start_run(run_name=f"{os.path.basename(args.csv)} ({res['kind']})"):
            st = res["settings"]
            mlflow.log_params({"csv": os.path.abspath(args.csv), "kind": res["kind"], "ties": args.ties,
                               "bootstrap": st["bootstrap"], "seed": args.seed, "n_votes": res["n_votes"],
                               "n_subjects": st["n_subjects"], "n_images": st["n_images"],
                               "methods": ",".join(m["method"] for m in res["methods"])})
            for m in res["methods"]:
                key = "".join(c if c.isalnum() or c in "-_." else "_" for c in m["method"])
                for field in ("thurstone", "jod", "bt", "win_rate", "score"):
                    if m.get(field) is not None:
                        mlflow.log_metric(f"{field}.{key}", m[field])
            table = pd.DataFrame([{**{k: v for k, v in m.items() if not k.endswith("_ci")},
                                   "thurstone_lo": m["thurstone_ci"][0], "thurstone_hi": m["thurstone_ci"][1],
                                   "bt_lo": m["bt_ci"][0], "bt_hi": m["bt_ci"][1]} for m in res["methods"]])
            mlflow.log_table(table, artifact_file="methods.json")
            mlflow.log_table(pd.DataFrame(res["pairs"]), artifact_file="pairs.json")
            mlflow.log_dict(res, "analysis.json")
            if fig is not None:
                mlflow.log_figure(fig, "figure.png")
