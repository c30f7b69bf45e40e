"""`harness` command line. Each subcommand lives in harness/commands/<name>.py with two functions:
`add_arguments(parser)` and `run(args) -> int`. Those modules import nothing heavy at top level (torch, ray,
mlflow are imported inside `run`), so `harness --help` and `harness list` start fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys

# name → (module, one-line help). Order is the order shown in --help.
COMMANDS: dict[str, tuple[str, str]] = {
    "run-benchmark": ("harness.commands.run_benchmark", "run methods on a suite (Ray), score, log to MLflow"),
    "score": ("harness.commands.score", "score saved predictions (DIR/<id>.png) against a suite"),
    "list": ("harness.commands.list_", "list suites, methods or metrics"),
    "export-suite": ("harness.commands.export_suite", "write any suite in the folder layout"),
    "train": ("harness.commands.train", "train a learned method on Ray (stage 1/2/3)"),
    "analyze-votes": ("harness.commands.analyze_votes", "scale user-study votes (Thurstone, Bradley–Terry)"),
    "ui": ("harness.commands.ui", "open the MLflow UI over the results store on 127.0.0.1"),
}

EPILOG = """quick start:
  harness run-benchmark --suite portraittest          # bundled sample suite when PortraitTest is absent
  harness run-benchmark --suite sample --limit 4 --methods composite,reinhard
  harness score --suite folder --data-root DATA --pred-dir PREDS --json
  harness analyze-votes studies/ab.csv
  harness ui
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="harness",
        description="Benchmark and evaluation harness for interactive portrait harmonization.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"harness {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module, help_) in COMMANDS.items():
        try:
            mod = importlib.import_module(module)
        except ModuleNotFoundError as err:  # a command whose module is not written yet
            if err.name != module:
                raise
            continue
        p = sub.add_parser(name, help=help_, description=(mod.__doc__ or help_).strip(),
                           formatter_class=argparse.RawDescriptionHelpFormatter)
        mod.add_arguments(p)
        p.set_defaults(_module=mod)
    return parser


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("harness")
    except PackageNotFoundError:
        return "0+unknown"


def _terminate_like_interrupt() -> None:
    """SIGTERM (a scheduler's kill, `timeout`) cleans up like Ctrl-C: the MLflow run is marked FAILED and a
    local Ray is shut down instead of being orphaned (a SIGTERM-killed driver leaves raylet/GCS running)."""
    import signal
    import threading

    def _raise(signum, frame):
        raise KeyboardInterrupt

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _raise)


def main(argv: list[str] | None = None) -> int:
    from harness.errors import HarnessError

    parser = build_parser()
    args = parser.parse_args(argv)
    _terminate_like_interrupt()
    if getattr(args, "_module", None) is None:
        parser.print_help()
        return 2
    try:
        return int(args._module.run(args) or 0)
    except HarnessError as err:
        print(f"harness {args.command}: error: {err}", file=sys.stderr)
        return err.exit_code
    except KeyboardInterrupt:
        print(f"harness {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
