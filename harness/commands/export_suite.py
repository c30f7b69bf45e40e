"""Write any suite in the harness folder layout (composite/, mask/, reference/, real/ as 8-bit PNGs).

The target folder must be new or empty: writing fewer samples over an older export would leave its other samples
behind, and the folder suite reads every file it finds. --overwrite removes the old sample folders first.

example:
  harness export-suite --suite sample --out my_suite/
  harness export-suite --suite sample --limit 4 --out my_suite/ --overwrite     # replace it
  harness score --suite folder --data-root my_suite/ --pred-dir my_model_outputs/
"""

from __future__ import annotations

import argparse
from pathlib import Path

from harness.config import ExportConfig
from harness.options import add_arguments as add_config_arguments, from_args

# the folders export_suite (harness/data/export.py) writes samples into: what --overwrite removes
SAMPLE_FOLDERS = ("composite", "mask", "reference", "real", "references", "references_real")


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_config_arguments(p, ExportConfig)


def clear_target(out: str, overwrite: bool) -> None:
    """Refuse a non-empty `out` (one line, exit 2), or with `overwrite` remove its sample folders."""
    import shutil

    from harness.errors import InputError

    target = Path(out)
    if target.exists() and not target.is_dir():
        raise InputError(target, "is a file, not a folder: choose another --out")
    entries = sorted(p.name for p in target.iterdir()) if target.is_dir() else []
    if not entries:
        return
    if not overwrite:
        shown = ", ".join(entries[:4]) + (", …" if len(entries) > 4 else "")
        raise InputError(target, f"is not empty ({shown}): pass --overwrite to replace the suite in it, or "
                                 "choose another --out")
    for name in SAMPLE_FOLDERS:
        if (target / name).is_dir():
            shutil.rmtree(target / name)


def run(args: argparse.Namespace) -> int:
    from harness.console import current
    from harness.data.export import export_suite
    from harness.data.suites import open_suite
    from harness.formatting import plural

    cfg = from_args(ExportConfig, args)
    console = current()
    suite = open_suite(cfg.suite, cfg.data_root, cfg.limit)
    if suite.notice:
        console.note(f"note: {suite.notice}")
    clear_target(cfg.out, cfg.overwrite)
    n = export_suite(suite, cfg.out)
    console.out.write(f"wrote {plural(n, 'sample')} of '{suite.name}' ({suite.source}) to {cfg.out}\n")
    return 0
