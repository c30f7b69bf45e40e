"""Write any suite in the harness folder layout (composite/, mask/, reference/, real/ as 8-bit PNGs).

example:
  harness export-suite --suite sample --out my_suite/
  harness score --suite folder --data-root my_suite/ --pred-dir my_model_outputs/
"""

from __future__ import annotations

import argparse

from harness.config import parse_limit


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--suite", required=True, help="suite name (see `harness list suites`)")
    p.add_argument("--data-root", help="where the suite's data lives (folder, portraittest, iharmony4)")
    p.add_argument("--out", required=True, help="output directory")
    p.add_argument("--limit", type=parse_limit, help="only the first N samples (or a fraction in (0, 1))")


def run(args: argparse.Namespace) -> int:
    from harness.console import current
    from harness.data.export import export_suite
    from harness.data.suites import open_suite

    console = current()
    suite = open_suite(args.suite, args.data_root, args.limit)
    if suite.notice:
        console.note(f"note: {suite.notice}")
    n = export_suite(suite, args.out)
    console.out.write(f"wrote {n} samples of '{suite.name}' ({suite.source}) to {args.out}\n")
    return 0
