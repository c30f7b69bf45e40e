"""Run every method with every candidate reference region of every sample, and measure whether the output
follows the region: responsiveness (how much the foreground moves when the reference moves, relative to how
much the regions differ) and reference accuracy (harmonized to A, closer to truth A than to truth B — on suites
that know each region's truth, like `relit`), plus the usual metrics and the reference-consistency gaps per
region. Definitions: harness/scoring/robustness.py. Same engine as run-benchmark (Ray, cache, --resume).

candidate regions (--references, comma-separated):
  suite       the suite's own named regions (relit, sample; a folder suite's references/<id>/<name>.png)
  background  everything outside the foreground
  auto        the most salient background object (--reference auto of run-benchmark)
  boxes:K     K boxes on a grid, minus the foreground (the paper's Fig. 5)

examples:
  harness run-robustness                                          # the relit suite, every available method
  harness run-robustness --suite sample --references suite,background --methods iph,bargainnet-r,reinhard
  harness run-robustness --suite relit --methods "bargainnet,bargainnet:guide=reference,rainnet:guide=reference"
"""

from __future__ import annotations

import argparse

from harness.config import RobustnessConfig
from harness.options import add_arguments as add_config_arguments, from_args

# printed after Ctrl-C (harness/cli.py)
INTERRUPTED = "every finished result is cached: run the same command with --resume to compute only the rest"


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_config_arguments(p, RobustnessConfig)


def run(args: argparse.Namespace) -> int:
    from harness.commands.publish import publish
    from harness.engine.robustness import run_robustness

    return publish(run_robustness(from_args(RobustnessConfig, args)), args)
