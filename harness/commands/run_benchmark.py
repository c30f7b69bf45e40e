"""Run harmonization methods on a suite — distributed by Ray, scored, summarised with bootstrap CIs and
paired tests, logged to MLflow, resumable.

examples:
  harness run-benchmark --suite portraittest                   # bundled sample when PortraitTest is absent
  harness run-benchmark --suite sample --methods composite,reinhard,lum-match --limit 6
  harness run-benchmark --suite folder --data-root my_data --out preds/ --resolution 256 --json
  harness run-benchmark --suite iharmony4 --data-root /data/iHarmony4 --ray-address auto --resume
  harness run-benchmark --suite iharmony4 --data-root /data/iHarmony4 --protocol idih   # per-subset table too
  harness run-benchmark --suite sample --methods "iph:checkpoint=runs/iph.safetensors,r1=0.7"
  harness run-benchmark --suite sample --methods composite,my_package.my_module:MyMethod
"""

from __future__ import annotations

import argparse

from harness.commands.options import add_compute_arguments, add_protocol_arguments, compute_values
from harness.config import REFERENCE_MODES, BenchmarkConfig, default_of, parse_limit


def add_arguments(p: argparse.ArgumentParser) -> None:
    d = lambda name: default_of(BenchmarkConfig, name)  # noqa: E731 — the config's defaults, shown in --help
    g = p.add_argument_group("what to run")
    g.add_argument("--suite", default=d("suite"), help="suite name (default: %(default)s)")
    g.add_argument("--data-root", help="where the suite's data lives (else $HARNESS_DATA for portraittest)")
    g.add_argument("--methods", help="comma-separated methods, each `name` or `name:key=value,...`, or a method "
                                     "from outside the project, `package.module:attr` (default: every available "
                                     "method; see `harness list methods`)")
    add_protocol_arguments(g, BenchmarkConfig)
    g.add_argument("--reference", choices=REFERENCE_MODES, default=d("reference"),
                   help="reference regions: the suite's, or picked automatically — the most salient object in "
                        "the background, offline (harness/data/references.py) (default: %(default)s)")
    g.add_argument("--limit", type=parse_limit, help="first N samples, or a fraction in (0, 1) — for smoke runs")
    g = p.add_argument_group("where results go")
    g.add_argument("--out", help="write predictions DIR/<method>/<id>.png and DIR/per_image.csv")
    g.add_argument("--json", action="store_true", help="print exactly one JSON object on stdout")
    g.add_argument("--tracking-uri", help="MLflow store (default: $MLFLOW_TRACKING_URI, else sqlite ./mlflow.db)")
    g.add_argument("--no-mlflow", action="store_true", help="do not log to MLflow")
    g.add_argument("--resume", action="store_true", help="reuse cached per-image results; compute only the rest")
    g.add_argument("--dry-run", action="store_true", help="say per method what --resume would take from the cache "
                                                          "and what it would compute, then stop (no Ray)")
    g.add_argument("--cache-dir", default=d("cache_dir"),
                   help="per-image results and logs (default: $HARNESS_CACHE, else %(default)s)")
    add_compute_arguments(p.add_argument_group("compute"), BenchmarkConfig)


def config_from_args(args: argparse.Namespace) -> BenchmarkConfig:
    from harness.methods.spec import split_method_list

    return BenchmarkConfig(suite=args.suite, data_root=args.data_root,
                           methods=split_method_list(args.methods) if args.methods is not None else None,
                           protocol=args.protocol, resolution=args.resolution, reference=args.reference,
                           limit=args.limit, out=args.out, resume=args.resume, tracking_uri=args.tracking_uri,
                           mlflow=not args.no_mlflow, cache_dir=args.cache_dir, **compute_values(args))


def run(args: argparse.Namespace) -> int:
    import json

    from harness.console import current
    from harness.engine.benchmark import plan_benchmark, run_benchmark
    from harness.scoring.tables import jsonable, summary_text, table

    out = current().out
    if args.dry_run:
        plan = plan_benchmark(config_from_args(args))
        if args.json:
            out.write(json.dumps(plan) + "\n")
        else:
            out.write(f"suite {plan['suite']} — {plan['n']} images, protocol {plan['protocol']}: {plan['cached']} "
                      f"results cached, {plan['to_compute']} to compute\n")
            out.write(table(["method", "cached", "to compute"],
                            [[k, v["cached"], v["to_compute"]] for k, v in plan["methods"].items()]) + "\n")
        return 0
    result = run_benchmark(config_from_args(args))
    if args.json:
        out.write(json.dumps(jsonable(result.to_json())) + "\n")
    else:
        out.write(summary_text(result) + "\n")
    out.flush()
    return 0
