"""PortraitTest (the IPH paper's evaluation set) in the harness folder layout.

Looked for in `--data-root`, else `$HARNESS_DATA/PortraitTest`, `$HARNESS_DATA/portraittest`, `$HARNESS_DATA`.
When it is absent and no `--data-root` was given, the bundled sample suite runs instead — *loudly*: the
suite's `source` and `notice`, every per-image record and the MLflow tags say that these are not PortraitTest
numbers. An explicit `--data-root` that holds no PortraitTest is an error (a silent fallback would hide it).
"""

from __future__ import annotations

import os
from pathlib import Path

from harness.data.loaders import bundled
from harness.data.loaders.folder import folder_suite
from harness.data.specs import Suite
from harness.errors import HarnessError


def _find_root(data_root: str | None) -> tuple[str | None, list[str]]:
    from harness.storage import display, is_dir, join

    candidates: list[str] = []
    if data_root:
        candidates.append(data_root)  # a folder, or a location in a store (s3://…)
    env = os.environ.get("HARNESS_DATA")
    if env:
        candidates += [str(Path(env) / "PortraitTest"), str(Path(env) / "portraittest"), env]
    for c in candidates:
        if is_dir(join(c, "composite")):
            return c, [display(c) for c in candidates]
    return None, [display(c) for c in candidates]


def open_portraittest(data_root: str | None) -> Suite:
    root, looked = _find_root(data_root)
    if root is not None:
        suite = folder_suite(root, name="portraittest")
        suite.source = "portraittest"
        return suite
    if data_root:
        raise HarnessError(f"{data_root}: no PortraitTest here (expected composite/, mask/, reference/, real/)")
    suite = bundled.bundled_suite()
    where = ", ".join(looked) if looked else "no --data-root and HARNESS_DATA unset"
    suite.name = "portraittest"
    suite.source = f"{bundled.SOURCE} (PortraitTest not found)"
    suite.notice = (f"PortraitTest not found ({where}): running the bundled sample suite instead. "
                    "These are NOT PortraitTest numbers. Set --data-root or HARNESS_DATA to use it.")
    return suite
