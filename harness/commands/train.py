"""Train a learned method (any learned one of `harness list methods`) on Ray Train, one stage at a time.

Stage 1 learns background harmonization (reference = the whole background), stage 2 reference-guided
harmonization (a random reference region), stage 3 fine-tuning (on real pairs: --suite folder --data-root D).
Each stage starts from the previous one's checkpoint (--init). Data defaults to the self-supervised generator
over photos held out from the evaluation suites (harness/train/relit.py). Periodic checkpoints go to the
storage (--storage, default OUT/), the final one (safetensors + JSON) to OUT/ too; logged to MLflow and
registered as models:/METHOD@stageK.

examples:
  harness train --method iph --stage 1 --size tiny --steps 200 --out runs/iph-s1
  harness train --method iph --stage 2 --init models:/iph@stage1 --out runs/iph-s2
  harness train --method iph --stage 1 --out runs/iph-s1 --steps 2000 --resume     # after an interruption
  harness train --method dovenet --stage 1 --workers 4 --gpus-per-worker 1 --size full --resolution 256
  harness train --method iph --stage 3 --suite folder --data-root my_pairs/ --init runs/iph-s2/iph-stage2.json
  harness train --method iph --stage 1 --loss style --loss-option harm_per_foreground=true   # an ablation
  (the shipped checkpoints' exact commands are in docs/checkpoints.md)
"""

from __future__ import annotations

import argparse

from harness.config import TrainConfig
from harness.options import add_arguments as add_config_arguments, from_args

# printed after Ctrl-C (harness/cli.py)
INTERRUPTED = "run the same command with --resume to continue from the latest checkpoint in its storage"


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_config_arguments(p, TrainConfig)


def run(args: argparse.Namespace) -> int:
    from harness.console import current
    from harness.train.driver import train

    cfg = from_args(TrainConfig, args)
    result = train(cfg)
    lines = [f"checkpoint: {result.checkpoint}", f"step: {result.step}"]
    if cfg.export:
        lines.append(f"exported: {cfg.export}")
    if result.run_id:
        from harness.tracking.links import run_link
        from harness.tracking.store import resolve_tracking_uri

        link = run_link(resolve_tracking_uri(cfg.tracking_uri), result.run_id)
        lines += [f"mlflow run: {result.run_id}" + (f" — {link}" if link else ""),
                  f"registered: models:/{cfg.method}@stage{cfg.stage} (version {result.model_version})"]
    losses = " ".join(f"{k}={v:.4g}" for k, v in sorted(result.metrics.items()) if k.startswith("train/"))
    if losses:
        lines.append(f"final losses: {losses}")
    current().out.write("\n".join(lines) + "\n")
    return 0
