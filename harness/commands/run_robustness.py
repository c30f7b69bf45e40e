"""Run every method with every candidate reference region of every sample, and measure whether the output
follows the region: responsiveness (how much the foreground moves when the reference moves, relative to how
much the regions differ) and reference accuracy (harmonized to A, closer to truth A than to truth B — on suites
that know each region's truth, like `relit`), plus the usual metrics and the reference-consistency gaps per
region. Definitions: harness/scoring/robustness.py. Same engine as run-benchmark (Ray, cache, --resume).

candidate regions (--references, comma-separated):
  suite       the suite's own named regions (relit, sample; a folder suite's references/<id>/<name>.png)
  background  everything outside the foreground
  auto        the most salient background object (--reference auto of run-benchmark)
  boxes:K     K boxes on a grid, minus the foreground (the paper's Fig. 5)

examples:
  harness run-robustness                                          # the relit suite, every available method
  harness run-robustness --suite sample --references suite,background --methods iph,bargainnet-r,reinhard
  harness run-robustness --suite relit --methods "bargainnet,bargainnet:guide=reference,rainnet:guide=reference"
"""

from __future__ import annotations

import argparse

from harness.commands.options import add_compute_arguments, compute_values
from harness.config import PROTOCOLS, RobustnessConfig, default_of, parse_limit


def add_arguments(p: argparse.ArgumentParser) -> None:
    d = lambda name: default_of(RobustnessConfig, name)  # noqa: E731 — the config's defaults, shown in --help
    g = p.add_argument_group("what to run")
    g.add_argument("--suite", default=d("suite"), help="suite name (default: %(default)s)")
    g.add_argument("--data-root", help="where the suite's data lives")
    g.add_argument("--methods", help="comma-separated methods, as in run-benchmark (default: every available one)")
    g.add_argument("--references", default=d("references"), help="candidate regions (default: %(default)s)")
    g.add_argument("--resolution", choices=PROTOCOLS, default=d("resolution"),
                   help="evaluation protocol (default: %(default)s)")
    g.add_argument("--limit", type=parse_limit, help="first N samples, or a fraction in (0, 1)")
    g = p.add_argument_group("where results go")
    g.add_argument("--json", action="store_true", help="print exactly one JSON object on stdout")
    g.add_argument("--tracking-uri", help="MLflow store (default: $MLFLOW_TRACKING_URI, else sqlite ./mlflow.db)")
    g.add_argument("--no-mlflow", action="store_true", help="do not log to MLflow")
    g.add_argument("--resume", action="store_true", help="reuse cached results; compute only the rest")
    g.add_argument("--cache-dir", default=d("cache_dir"), help="results cache and logs (default: %(default)s)")
    add_compute_arguments(p.add_argument_group("compute"), RobustnessConfig)


def run(args: argparse.Namespace) -> int:
    import json

    from harness.console import current
    from harness.engine.robustness import run_robustness, summary_text
    from harness.methods.spec import split_method_list
    from harness.scoring.tables import jsonable

    cfg = RobustnessConfig(suite=args.suite, data_root=args.data_root,
                           methods=split_method_list(args.methods) if args.methods is not None else None,
                           references=args.references, resolution=args.resolution, limit=args.limit,
                           resume=args.resume, tracking_uri=args.tracking_uri, mlflow=not args.no_mlflow,
                           cache_dir=args.cache_dir, **compute_values(args))
    result = run_robustness(cfg)
    out = current().out
    out.write((json.dumps(jsonable(result.to_json())) if args.json else summary_text(result)) + "\n")
    return 0
