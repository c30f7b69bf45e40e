"""Train a learned method over a grid of training, loss or model options — one Ray Tune trial per grid point ×
seed — and evaluate every trained model on the suite, as run-ablation does (same table, JSON and MLflow layout:
experiment <suite>-sweep). A grid key is a budget field (lr, steps, batch_size, size, …; a per-stage field takes
one value for every stage), an IPH loss option (alpha, lam, beta, margin, highlight, …) or a model config field
(style_dim, mid_blocks, …); an unknown key gets a did-you-mean. Rows follow the grid's product, the first key
varying slowest; each row is compared with the row before it.

examples:
  harness sweep --method iph --grid alpha=0.05,0.1,0.2 --grid margin=0.1,0.3 --suite sample --budget cpu
  harness sweep --method iph --loss style --grid lr=1e-4,3e-4 --budget smoke --suite sample --seeds 2
  harness sweep --method bargainnet --grid batch_size=4,8 --budget cpu --suite sample
"""

from __future__ import annotations

import argparse

from harness.config import ExperimentConfig
from harness.options import add_arguments as add_config_arguments, from_args

# printed after Ctrl-C (harness/cli.py)
INTERRUPTED = "run the same command with --resume to continue (finished trials are not rerun)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_config_arguments(p, ExperimentConfig, skip=("variants",))


def run(args: argparse.Namespace) -> int:
    from harness.commands.publish import publish
    from harness.experiments.run import run_experiment

    return publish(run_experiment(from_args(ExperimentConfig, args, command="sweep")), args)
