"""Run harmonization methods on a suite — distributed by Ray, scored, summarised with bootstrap CIs and
paired tests, logged to MLflow, resumable.

examples:
  harness run-benchmark --suite portraittest                   # bundled sample when PortraitTest is absent
  harness run-benchmark --suite sample --methods composite,reinhard,lum-match --limit 6
  harness run-benchmark --suite folder --data-root my_data --out preds/ --resolution 256 --json
  harness run-benchmark --suite iharmony4 --data-root /data/iHarmony4 --ray-address auto --resume
  harness run-benchmark --suite sample --methods "iph:checkpoint=runs/iph.safetensors,r1=0.7"
"""

from __future__ import annotations

import argparse


def add_arguments(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("what to run")
    g.add_argument("--suite", default="portraittest", help="suite name (default: portraittest)")
    g.add_argument("--data-root", help="where the suite's data lives (else $HARNESS_DATA for portraittest)")
    g.add_argument("--methods", help="comma-separated methods, each `name` or `name:key=value,...` "
                                     "(default: every available method; see `harness list methods`)")
    g.add_argument("--resolution", choices=["full", "256"], default="full",
                   help="evaluation protocol: native resolution (default) or the published 256×256")
    g.add_argument("--reference", choices=["given", "auto"], default="given",
                   help="reference regions: the suite's (default) or picked automatically — the most salient "
                        "object in the background, offline (iph/auto_reference.py)")
    g.add_argument("--limit", type=float, help="first N samples (or a fraction < 1) — for smoke runs")
    g = p.add_argument_group("where results go")
    g.add_argument("--out", help="write predictions DIR/<method>/<id>.png and DIR/per_image.csv")
    g.add_argument("--json", action="store_true", help="print exactly one JSON object on stdout")
    g.add_argument("--tracking-uri", help="MLflow store (default: $MLFLOW_TRACKING_URI, else sqlite ./mlflow.db)")
    g.add_argument("--no-mlflow", action="store_true", help="do not log to MLflow")
    g.add_argument("--resume", action="store_true", help="reuse cached per-image results; compute only the rest")
    g.add_argument("--cache-dir", help="per-image result cache (default: $HARNESS_CACHE or ./.harness-cache)")
    g = p.add_argument_group("compute")
    g.add_argument("--ray-address", help="Ray cluster to use (else $RAY_ADDRESS; else a local Ray)")
    g.add_argument("--num-cpus", type=int, help="local Ray: CPUs to use (default: all available)")
    g.add_argument("--seed", type=int, default=0, help="bootstrap seed (default 0)")
    g.add_argument("--bootstrap", type=int, default=2000, help="bootstrap resamples (default 2000)")
    g.add_argument("--no-progress", action="store_true", help="no progress bar")


def config_from_args(args: argparse.Namespace):
    from harness.config import BenchmarkConfig
    from harness.methods import split_method_list

    cfg = BenchmarkConfig(suite=args.suite, data_root=args.data_root,
                          methods=split_method_list(args.methods) if args.methods else None,
                          resolution=args.resolution, reference=args.reference, limit=args.limit, out=args.out, resume=args.resume,
                          ray_address=args.ray_address, num_cpus=args.num_cpus, tracking_uri=args.tracking_uri,
                          mlflow=not args.no_mlflow, seed=args.seed, n_boot=args.bootstrap,
                          progress=not args.no_progress and not args.json)
    if args.cache_dir:
        cfg.cache_dir = args.cache_dir
    return cfg


def run(args: argparse.Namespace) -> int:
    import json

    from harness.engine import run_benchmark
    from harness.report import jsonable, summary_text

    result = run_benchmark(config_from_args(args))
    if args.json:
        print(json.dumps(jsonable(result.to_json())))
    else:
        print(summary_text(result))
    return 0
