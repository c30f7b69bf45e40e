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

from harness.commands.experiment_options import add_experiment_arguments, config_from_args, run_command


def add_arguments(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("what to run")
    g.add_argument("--method", default="iph", help="the learned method to train (default: %(default)s)")
    g.add_argument("--loss", default="all", help="IPH: the loss preset the grid starts from (default: %(default)s)")
    g.add_argument("--grid", action="append", default=[], metavar="KEY=V1,V2,…",
                   help="one axis of the grid (repeatable; the grid is their product)")
    add_experiment_arguments(p, g)


def run(args: argparse.Namespace) -> int:
    from harness.experiments.arms import parse_grid

    cfg = config_from_args(args, "sweep", method=args.method, loss=args.loss, grid=parse_grid(args.grid))
    return run_command(args, cfg)
