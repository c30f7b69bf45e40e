"""The paper's ablation (Table 3): train H-Net alone, + style encoder, + L_highlight, + L_mid-tone, + L_shadow —
every row with L_harmonization, L_consis and L_triplet, the same data, stages, steps and seeds — one Ray Tune
trial per variant × seed; evaluate every trained model on the suite (and with run-robustness); report
mean [95 % CI] over seeds and images and each row's paired difference to the row above (Holm-corrected).

Training data is the relit generator over held-out training photos (harness/train/relit.py), never the suite.
H-Net alone has no style encoder and no AdaIN (iph/model.py); how it still gets L_consis and the triplets is in
iph/losses.py. MLflow: experiment <suite>-ablation, one parent run, one child run per trial
(harness/tracking/experiments.py). Interrupted? Run the same command with --resume.

examples:
  harness run-ablation --suite sample --budget smoke --seeds 1 --json      # a minute or two: tests, CI
  harness run-ablation --suite sample --budget cpu --seeds 3                # minutes per trial on a CPU core
  harness run-ablation --suite portraittest --budget gpu --ray-address auto # the paper's size, one GPU a trial
  harness run-ablation --suite sample --budget cpu --variants style,full --set steps=1200,600
  harness run-ablation --suite sample --budget cpu --seeds 3 --resume       # after an interruption
"""

from __future__ import annotations

import argparse

from harness.commands.experiment_options import add_experiment_arguments, config_from_args, run_command


def add_arguments(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("what to run")
    g.add_argument("--variants", help="comma-separated subset of Table 3's rows: hnet, style, style+highlight, "
                                      "style+highlight+midtone, full (default: all five, in the table's order)")
    add_experiment_arguments(p, g)


def run(args: argparse.Namespace) -> int:
    variants = [v.strip() for v in args.variants.split(",") if v.strip()] if args.variants is not None else None
    return run_command(args, config_from_args(args, "run-ablation", variants=variants))
