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

from harness.config import BenchmarkConfig
from harness.options import RESULTS, add_arguments as add_config_arguments, from_args

# printed after Ctrl-C (harness/cli.py)
INTERRUPTED = "every finished result is cached: run the same command with --resume to compute only the rest"


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_config_arguments(p, BenchmarkConfig)[RESULTS].add_argument(
        "--dry-run", action="store_true", help="say per method what --resume would take from the cache and what it "
                                               "would compute, then stop (no Ray)")


def run(args: argparse.Namespace) -> int:
    import json

    from harness.console import current
    from harness.commands.publish import publish
    from harness.engine.benchmark import plan_benchmark, run_benchmark
    from harness.formatting import table

    out = current().out
    if args.dry_run:
        plan = plan_benchmark(from_args(BenchmarkConfig, args))
        if args.json:
            out.write(json.dumps(plan) + "\n")
        else:
            out.write(f"suite {plan['suite']} — {plan['n']} images, protocol {plan['protocol']}: {plan['cached']} "
                      f"results cached, {plan['to_compute']} to compute\n")
            out.write(table(["method", "cached", "to compute"],
                            [[k, v["cached"], v["to_compute"]] for k, v in plan["methods"].items()]) + "\n")
        return 0
    return publish(run_benchmark(from_args(BenchmarkConfig, args)), args)
