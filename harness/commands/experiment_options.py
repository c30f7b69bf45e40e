"""Command-line options shared by the experiment commands (run-ablation, sweep): the budget and its overrides,
seeds, evaluation, where results go, compute; and running one such command. Defaults and checks live in
harness/experiments/config.py (ExperimentConfig)."""

from __future__ import annotations

import argparse

from harness.commands.options import add_compute_arguments, compute_values, key_values
from harness.config import parse_limit
from harness.experiments.config import ExperimentConfig


def _d(name: str):
    from harness.config import default_of

    return default_of(ExperimentConfig, name)


def add_experiment_arguments(p: argparse.ArgumentParser, group: argparse._ArgumentGroup) -> None:
    """The shared flags; `group` is the command's "what to run" group (suite, budget, seeds go there)."""
    group.add_argument("--suite", default=_d("suite"), help="evaluation suite — never trained on "
                                                            "(default: %(default)s)")
    group.add_argument("--data-root", help="where the suite's data lives")
    group.add_argument("--budget", default=_d("budget"), help="training budget: smoke (tests), cpu (minutes per "
                       "trial on a CPU core), gpu (the paper's size) — harness/experiments/budgets.py "
                       "(default: %(default)s)")
    group.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", dest="budget_set",
                       help="override one budget field, e.g. steps=400,200 or lr=3e-4 or size=tiny (repeatable)")
    group.add_argument("--seeds", type=int, default=_d("seeds"),
                       help="train every variant with seeds 0…N−1 (default: %(default)s)")
    group.add_argument("--loss-option", action="append", default=[], metavar="KEY=VALUE",
                       help="IPH loss option applied to every variant, e.g. harm_per_foreground=true (repeatable)")
    g = p.add_argument_group("evaluation")
    g.add_argument("--limit", type=parse_limit, help="evaluate on the first N samples, or a fraction in (0, 1)")
    g.add_argument("--references", default=_d("references"),
                   help="candidate regions of run-robustness, as run-robustness (default: %(default)s)")
    g.add_argument("--no-robustness", action="store_true", help="skip run-robustness")
    g = p.add_argument_group("where results go")
    g.add_argument("--out", help="experiment directory: trials, checkpoints, Tune state (default: "
                                 "runs/<command>-<suite>-<budget>)")
    g.add_argument("--resume", action="store_true", help="continue the interrupted experiment in --out: finished "
                                                         "trials are not rerun, unfinished ones continue")
    g.add_argument("--json", action="store_true", help="print exactly one JSON object on stdout")
    g.add_argument("--tracking-uri", help="MLflow store (default: $MLFLOW_TRACKING_URI, else sqlite ./mlflow.db)")
    g.add_argument("--no-mlflow", action="store_true", help="do not log to MLflow")
    g.add_argument("--cache-dir", default=_d("cache_dir"), help="evaluation cache and logs (default: %(default)s)")
    add_compute_arguments(p.add_argument_group("compute"), ExperimentConfig)


def config_from_args(args: argparse.Namespace, command: str, **extra) -> ExperimentConfig:
    return ExperimentConfig(command=command, suite=args.suite, data_root=args.data_root, budget=args.budget,
                            budget_overrides=key_values("--set", args.budget_set), seeds=args.seeds,
                            loss_options=key_values("--loss-option", args.loss_option), limit=args.limit,
                            references=None if args.no_robustness else args.references, out=args.out,
                            resume=args.resume, tracking_uri=args.tracking_uri, mlflow=not args.no_mlflow,
                            cache_dir=args.cache_dir, **compute_values(args), **extra)


def run_command(args: argparse.Namespace, cfg: ExperimentConfig) -> int:
    import json

    from harness.console import current
    from harness.experiments.run import run_experiment
    from harness.experiments.summary import summary_text
    from harness.scoring.tables import jsonable

    result = run_experiment(cfg)
    out = current().out
    out.write((json.dumps(jsonable(result.to_json())) if args.json else summary_text(result)) + "\n")
    out.flush()
    return 0
