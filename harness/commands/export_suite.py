"""Write any suite in the harness folder layout (composite/, mask/, reference/, real/ as 8-bit PNGs).

example:
  harness export-suite --suite sample --out my_suite/
  harness score --suite folder --data-root my_suite/ --pred-dir my_model_outputs/
"""

from __future__ import annotations

import argparse

from harness.config import ExportConfig
from harness.options import add_arguments as add_config_arguments, from_args


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_config_arguments(p, ExportConfig)


def run(args: argparse.Namespace) -> int:
    from harness.console import current
    from harness.data.export import export_suite
    from harness.data.suites import open_suite

    cfg = from_args(ExportConfig, args)
    console = current()
    suite = open_suite(cfg.suite, cfg.data_root, cfg.limit)
    if suite.notice:
        console.note(f"note: {suite.notice}")
    n = export_suite(suite, cfg.out)
    console.out.write(f"wrote {n} samples of '{suite.name}' ({suite.source}) to {cfg.out}\n")
    return 0
