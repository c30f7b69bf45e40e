"""How every experiment command ends (run-benchmark, run-robustness, run-ablation, sweep): once the tracker has
finished its MLflow runs, the report page is built from them and logged beside them (reports/), then the
terminal table — or, with --json, exactly one JSON document — goes to stdout, the report's link last. A notice
already shown on stderr (the PortraitTest fallback) is left out of the table when both go to one terminal."""

from __future__ import annotations

import argparse
from typing import Any


def publish(result: Any, args: argparse.Namespace) -> int:
    import json

    from harness.console import current
    from harness.formatting import jsonable

    console = current()
    if result.mlflow_run_id:
        from reports import attach_report

        result.report = attach_report(args.tracking_uri, result.mlflow_run_id, note=console.note)
    if not args.json and console.shown_on_terminal(getattr(result, "notice", None)):
        import dataclasses

        result = dataclasses.replace(result, notice=None)  # the table only; the record keeps its notice
    console.out.write((json.dumps(jsonable(result.to_json())) if args.json else result.to_text()) + "\n")
    console.out.flush()
    return 0
