"""Time every method on square inputs of each size — latency of `harmonize` alone (median and P90 over the
timed calls, after a warm-up; batch 1; fixed torch threads; CUDA synchronised), peak memory, parameters and
GFLOP — one timing at a time, on Ray, logged to MLflow (experiment `efficiency`). run-benchmark records the same
costs for every image it scores; this command sets methods side by side at the sizes the papers argue at.
Definitions: harness/methods/cost.py.

examples:
  harness run-efficiency                                          # every available method, 256² to 2048²
  harness run-efficiency --methods composite,iph,dovenet --sizes 256,1024 --repeat 10 --json
  harness run-efficiency --methods iph,rainnet --upsample bicubic --threads 2
"""

from __future__ import annotations

import argparse

from harness.config import EfficiencyConfig
from harness.options import add_arguments as add_config_arguments, from_args


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_config_arguments(p, EfficiencyConfig)


def run(args: argparse.Namespace) -> int:
    from harness.commands.publish import publish
    from harness.engine.efficiency import run_efficiency

    return publish(run_efficiency(from_args(EfficiencyConfig, args)), args)
