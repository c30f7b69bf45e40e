"""Scale user-study votes: Thurstone Case V (maximum likelihood, JOD, Mosteller) and Bradley–Terry (choix),
with subject-bootstrap 95% CIs, Holm-corrected pairwise significance, binomial tests, observer outlier scores,
Kendall's u / ζ (A/B) and Friedman / Kendall's W / Plackett–Luce (rankings).

A/B CSV: subject,image,method_a,method_b,winner (winner = a method or "tie").
Ranking CSV: subject,image,method,rank (1 = best, blank = unranked). The kind is read from the header.
`harness collect-votes` writes exactly these (STUDY_DIR/votes.csv); when the study was made from an MLflow
benchmark run, the analysis is logged to that run's experiment and store (tagged with the run id).

--prior gaussian: the Thurstone scale with pwcmp's default distance prior (pw_scale.m), in the point estimate,
the bootstrap and the observer analysis; the default is plain maximum likelihood (pwcmp with 'prior','none').

examples:
  harness analyze-votes studies/ab.csv
  harness analyze-votes studies/rank.csv --figure rank.png --no-mlflow
  harness analyze-votes votes.csv --ties drop --bootstrap 2000 --seed 1 --json
  harness analyze-votes study/votes.csv --prior gaussian     # a collect-votes study, pwcmp's default prior
"""

from __future__ import annotations

import argparse

from harness.config import VotesConfig
from harness.options import add_arguments as add_config_arguments, from_args


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_config_arguments(parser, VotesConfig)


def run(args: argparse.Namespace) -> int:
    import json

    from harness.console import current
    from harness.errors import InputError
    from harness.user_study import study_of
    from studies.analysis import analyze
    from studies.errors import StudyInputError
    from studies.render import figure, format_text

    cfg = from_args(VotesConfig, args)
    console = current()
    try:
        res = analyze(cfg.csv, cfg.kind, cfg.ties, cfg.bootstrap, cfg.seed, cfg.prior)
    except StudyInputError as err:
        raise InputError(err.where, err.problem) from None
    study = study_of(cfg.csv)

    fig = figure(res, cfg.figure) if cfg.figure or cfg.mlflow else None
    try:
        if cfg.mlflow:
            from harness.tracking.links import run_link, served_by
            from harness.tracking.store import resolve_tracking_uri
            from harness.tracking.votes import log_vote_analysis, target

            run_id = log_vote_analysis(cfg, res, fig, console.log_path, study)
            uri, experiment = target(cfg, study)
            uri = resolve_tracking_uri(uri)
            bench = ((study or {}).get("mlflow") or {}).get("run_id")
            link = run_link(uri, run_id)
            console.note(f"MLflow: run {run_id} in experiment '{experiment}'"
                         + (f", beside benchmark run {bench}" if bench else "")
                         + (f": {link}{served_by(uri)}" if link else ""))
    finally:
        if fig is not None:
            import matplotlib.pyplot as plt

            plt.close(fig)
    if args.json:
        console.out.write(json.dumps(res, ensure_ascii=False) + "\n")
    else:
        console.out.write(format_text(res, cfg.csv) + "\n")
        if cfg.figure:
            console.out.write(f"\nfigure: {cfg.figure}\n")
    return 0
