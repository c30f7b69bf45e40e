"""Train a learned method (iph, dovenet, bargainnet, bargainnet-r, rainnet) on Ray Train, one stage at a time.

Stage 1 learns background harmonization (reference = the whole background), stage 2 reference-guided
harmonization (a random reference region), stage 3 fine-tuning (on real pairs: --suite folder --data-root D).
Each stage starts from the previous one's checkpoint (--init). Data defaults to the self-supervised generator
over photos held out from the evaluation suites (harness/train/relit.py). Checkpoints: safetensors + JSON
in OUT/; logged to MLflow and registered as models:/METHOD@stageK.

examples:
  harness train --method iph --stage 1 --size tiny --steps 200 --out runs/iph-s1
  harness train --method iph --stage 2 --init models:/iph@stage1 --out runs/iph-s2
  harness train --method iph --stage 1 --out runs/iph-s1 --steps 2000 --resume     # after an interruption
  harness train --method dovenet --stage 1 --workers 4 --gpus-per-worker 1 --size full --train-size 256
  harness train --method iph --stage 3 --suite folder --data-root my_pairs/ --init runs/iph-s2/iph-stage2.json
  harness train --method iph --stage 1 --loss style --loss-option harm_per_foreground=true   # an ablation
  (the shipped checkpoints' exact commands are in docs/checkpoints.md)
"""

from __future__ import annotations

import argparse

from harness.commands.options import key_values
from harness.config import TrainConfig, default_of


def add_arguments(p: argparse.ArgumentParser) -> None:
    d = lambda name: default_of(TrainConfig, name)  # noqa: E731 — the config's defaults, shown in --help
    g = p.add_argument_group("what to train")
    g.add_argument("--method", required=True, help="iph, dovenet, bargainnet, bargainnet-r or rainnet")
    g.add_argument("--stage", type=int, default=d("stage"),
                   help="1 (background), 2 (reference region), 3 (fine-tune) (default: %(default)s)")
    g.add_argument("--size", default=d("size"), help="model size (default: %(default)s)")
    g.add_argument("--loss", default=d("loss"), help="IPH loss preset for ablations (iph.losses.LOSS_PRESETS; "
                                                     "default: %(default)s)")
    g.add_argument("--loss-option", action="append", default=[], metavar="KEY=VALUE",
                   help="IPH: replace one LossConfig field of the preset, e.g. harm_per_foreground=true (repeatable)")
    g.add_argument("--init", help="start from this checkpoint (a path or models:/NAME@stageK)")
    g = p.add_argument_group("data")
    g.add_argument("--suite", help="train on this suite's samples instead of a self-supervised generator")
    g.add_argument("--data", choices=("relit", "perturb"), default=d("data"),
                   help="the generator: relit scenes where the reference is the only source of the target light "
                        "(harness/train/relit.py), or perturbed foregrounds (default: %(default)s)")
    g.add_argument("--pairs", choices=("regions", "lights", "both"), default=d("pairs"),
                   help="relit pairs: two regions of one composite, one region under two lights, or both "
                        "alternately (default: %(default)s)")
    g.add_argument("--data-root", help="where the suite's data lives")
    g.add_argument("--train-size", type=int, default=d("train_size"),
                   help="training crop size in pixels (default: %(default)s)")
    g.add_argument("--seed", type=int, default=d("seed"), help="data and initialisation seed (default: %(default)s)")
    g = p.add_argument_group("optimisation")
    g.add_argument("--steps", type=int, default=d("steps"), help="optimizer steps (default: %(default)s)")
    g.add_argument("--batch-size", type=int, default=d("batch_size"),
                   help="images per worker per step (default: %(default)s)")
    g.add_argument("--lr", type=float, help="learning rate (default: 1e-4, 1e-5, 1e-6 for stages 1, 2, 3)")
    g.add_argument("--checkpoint-every", type=int, default=d("checkpoint_every"),
                   help="steps between checkpoints (default: %(default)s)")
    g.add_argument("--log-every", type=int, default=d("log_every"),
                   help="steps between logged losses (default: %(default)s)")
    g.add_argument("--validate-every", type=int, default=d("validate_every"),
                   help="steps between validations on held-out relit pairs of the training photos; 0 = at the "
                        "end only (default: %(default)s)")
    g = p.add_argument_group("compute and outputs")
    g.add_argument("--workers", type=int, default=d("workers"), help="Ray Train workers (default: %(default)s)")
    g.add_argument("--gpus-per-worker", type=float, default=d("gpus_per_worker"),
                   help="GPUs per worker (0 = CPU, gloo; default: %(default)s)")
    g.add_argument("--cpus-per-worker", type=float, default=d("cpus_per_worker"),
                   help="CPUs per worker (default: %(default)s)")
    g.add_argument("--ray-address", help="Ray cluster to use (else $RAY_ADDRESS; else a local Ray)")
    g.add_argument("--out", help="output directory (default runs/<method>-stage<K>)")
    g.add_argument("--resume", action="store_true", help="continue from the latest checkpoint in --out")
    g.add_argument("--tracking-uri", help="MLflow store (default: $MLFLOW_TRACKING_URI, else sqlite ./mlflow.db)")
    g.add_argument("--export", metavar="PATH", help="also copy the final checkpoint to PATH(.safetensors/.json)")
    g.add_argument("--no-mlflow", action="store_true", help="do not log to MLflow or register the model")


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    return TrainConfig(method=args.method, stage=args.stage, size=args.size, steps=args.steps,
                       batch_size=args.batch_size, train_size=args.train_size, lr=args.lr, workers=args.workers,
                       gpus_per_worker=args.gpus_per_worker, cpus_per_worker=args.cpus_per_worker,
                       checkpoint_every=args.checkpoint_every, log_every=args.log_every,
                       validate_every=args.validate_every, data=args.data, pairs=args.pairs, init=args.init,
                       resume=args.resume, out=args.out or f"runs/{args.method}-stage{args.stage}",
                       tracking_uri=args.tracking_uri, mlflow=not args.no_mlflow, seed=args.seed, loss=args.loss,
                       loss_options=key_values("--loss-option", args.loss_option), suite=args.suite, data_root=args.data_root,
                       ray_address=args.ray_address, export=args.export)


def run(args: argparse.Namespace) -> int:
    from harness.console import current
    from harness.train.driver import train

    result = train(config_from_args(args))
    lines = [f"checkpoint: {result.checkpoint}", f"step: {result.step}"]
    if args.export:
        lines.append(f"exported: {args.export}")
    if result.run_id:
        from harness.tracking.store import resolve_tracking_uri, run_link

        link = run_link(resolve_tracking_uri(args.tracking_uri), result.run_id)
        lines += [f"mlflow run: {result.run_id}" + (f" — {link}" if link else ""),
                  f"registered: models:/{args.method}@stage{args.stage} (version {result.model_version})"]
    losses = " ".join(f"{k}={v:.4g}" for k, v in sorted(result.metrics.items()) if k.startswith("train/"))
    if losses:
        lines.append(f"final losses: {losses}")
    current().out.write("\n".join(lines) + "\n")
    return 0
