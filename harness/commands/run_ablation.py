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
  harness run-ablation --suite sample --budget cpu --variants style,all --set steps=1200,600
  harness run-ablation --suite sample --budget cpu --seeds 3 --resume       # after an interruption
"""

from __future__ import annotations

import argparse

from harness.config import ExperimentConfig
from harness.options import add_arguments as add_config_arguments, from_args

SWEEP_ONLY = ("method", "loss", "grid")

# printed after Ctrl-C (harness/cli.py)
INTERRUPTED = "run the same command with --resume to continue (finished trials are not rerun)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_config_arguments(p, ExperimentConfig, skip=SWEEP_ONLY)


def run(args: argparse.Namespace) -> int:
    from harness.commands.publish import publish
    from harness.experiments.run import run_experiment

    return publish(run_experiment(from_args(ExperimentConfig, args, command="run-ablation")), args)
