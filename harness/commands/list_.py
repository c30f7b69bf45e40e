"""List what the harness knows: suites, methods, metrics. Reads the registries and checkpoint metadata only
(no torch, no model is built), so it answers in a fraction of a second.

examples:
  harness list suites
  harness list methods --json
"""

from __future__ import annotations

import argparse
import json


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("what", choices=["suites", "methods", "metrics"], help="what to list")


def run(args: argparse.Namespace) -> int:
    from harness.console import current

    out = current().out
    if args.what == "suites":
        from harness.data.suites import list_suites

        rows = list_suites()
        if args.json:
            out.write(json.dumps({"suites": [{"name": k, "description": v} for k, v in rows.items()]}) + "\n")
        else:
            out.writelines(f"{name:14s} {desc}\n" for name, desc in rows.items())
    elif args.what == "metrics":
        from harness.scoring.metrics import HIGHER_IS_BETTER, METRICS

        if args.json:
            out.write(json.dumps({"metrics": [{"name": m, "higher_is_better": HIGHER_IS_BETTER[m]}
                                              for m in METRICS]}) + "\n")
        else:
            out.writelines(f"{m:8s} {'higher' if HIGHER_IS_BETTER[m] else 'lower'} is better\n" for m in METRICS)
    else:
        from harness.methods.spec import describe_methods

        rows = describe_methods()
        if args.json:
            out.write(json.dumps({"methods": rows}) + "\n")
        else:
            from harness.formatting import table

            out.write(table(["name", "kind", "reference", "resolution", "params", "params_full", "available"],
                            [[r["name"], r["kind"], r["uses_reference"], r["resolution"], r["params"],
                              r["params_full"], "yes" if r["available"] else "no (no checkpoint yet)"]
                             for r in rows]) + "\n")
    return 0
