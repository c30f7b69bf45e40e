"""List what the harness knows: suites, methods, metrics.

examples:
  harness list suites
  harness list methods --json
"""

from __future__ import annotations

import argparse
import json


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("what", choices=["suites", "methods", "metrics"], help="what to list")
    p.add_argument("--json", action="store_true", help="print one JSON object")


def run(args: argparse.Namespace) -> int:
    if args.what == "suites":
        from harness.data.suites import list_suites

        rows = list_suites()
        if args.json:
            print(json.dumps({"suites": [{"name": k, "description": v} for k, v in rows.items()]}))
        else:
            for name, desc in rows.items():
                print(f"{name:14s} {desc}")
    elif args.what == "metrics":
        from harness.metrics import HIGHER_IS_BETTER, METRICS

        if args.json:
            print(json.dumps({"metrics": [{"name": m, "higher_is_better": HIGHER_IS_BETTER[m]} for m in METRICS]}))
        else:
            for m in METRICS:
                print(f"{m:8s} {'higher' if HIGHER_IS_BETTER[m] else 'lower'} is better")
    else:
        from harness.methods import describe_methods

        rows = describe_methods()
        if args.json:
            print(json.dumps({"methods": rows}))
        else:
            from harness.report import table

            print(table(["name", "reference", "resolution", "params", "params_full", "available"],
                        [[r["name"], r["uses_reference"], r["resolution"], r["params"], r["params_full"],
                          "yes" if r["available"] else "no (" + r["description"].split("; ")[-1] + ")"]
                         for r in rows]))
    return 0
