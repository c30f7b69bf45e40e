"""How every experiment command ends (run-benchmark, run-robustness, run-ablation, sweep): once the tracker has
finished its MLflow runs, the report page is built from them and logged beside them (reports/), then the
terminal table — or, with --json, exactly one JSON document — goes to stdout, the report's link last."""

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
    console.out.write((json.dumps(jsonable(result.to_json())) if args.json else result.to_text()) + "\n")
    console.out.flush()
    return 0
