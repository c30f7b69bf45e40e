"""`harness` command line. Each subcommand lives in harness/commands/<name>.py with two functions:
`add_arguments(parser)` and `run(args) -> int` (and, when an interrupted run can continue, `INTERRUPTED`: the
hint printed after Ctrl-C). Those modules import nothing heavy at top level (torch, ray,
mlflow are imported inside `run`), so `harness --help` and `harness list` start fast.

Every error the user can fix — a bad flag, file or row — is one line on stderr and exit code 2, with
did-you-mean suggestions for names. Commands that start Ray or MLflow run inside `harness.console.captured`:
their chatter goes to a log file (or to stderr with -v), never to stdout.
"""

from __future__ import annotations

import argparse
import importlib
import re
import sys

# name → (module, one-line help). Order is the order shown in --help.
COMMANDS: dict[str, tuple[str, str]] = {
    "run-benchmark": ("harness.commands.run_benchmark", "run methods on a suite (Ray), score, log to MLflow"),
    "run-robustness": ("harness.commands.run_robustness", "every method × every reference region: does the "
                                                          "output follow the region?"),
    "run-efficiency": ("harness.commands.run_efficiency", "time every method on inputs of each size: latency, "
                                                          "memory, parameters, GFLOP"),
    "score": ("harness.commands.score", "score saved predictions against a suite (harness, bcmi or idih protocol)"),
    "list": ("harness.commands.list_", "list suites, methods or metrics"),
    "export-suite": ("harness.commands.export_suite", "write any suite in the folder layout"),
    "build-intharmony": ("harness.commands.build_intharmony", "build IntHarmony / portrait sets from COCO or MHP "
                                                              "instance annotations"),
    "train": ("harness.commands.train", "train a learned method on Ray (stage 1/2/3)"),
    "run-ablation": ("harness.commands.run_ablation", "the paper's ablation (Table 3): train every variant × seed "
                                                      "on Ray Tune, evaluate, compare"),
    "sweep": ("harness.commands.sweep", "train a method over a grid of options on Ray Tune, evaluate, compare"),
    "collect-votes": ("harness.commands.collect_votes", "collect a user study (A/B or ranking) in the browser"),
    "analyze-votes": ("harness.commands.analyze_votes", "scale user-study votes (Thurstone, Bradley–Terry)"),
    "report": ("harness.commands.report", "the paper's tables and figures from MLflow runs, as a page (and in "
                                          "MLflow)"),
    "ui": ("harness.commands.ui", "open the MLflow UI over the results store on 127.0.0.1"),
}
# Commands that start Ray or open the MLflow store: library chatter is captured (harness/console.py); `ui`'s
# is the MLflow server's own output (uvicorn's access lines, its warnings and advice).
CAPTURED = {"run-benchmark", "run-robustness", "run-efficiency", "train", "analyze-votes", "build-intharmony",
            "run-ablation", "sweep", "report", "ui"}
# Commands whose result can be one JSON document on stdout (--json; no progress bar then).
JSON = {"run-benchmark", "run-robustness", "run-efficiency", "score", "list", "build-intharmony", "run-ablation", "sweep",
        "analyze-votes", "report"}

EPILOG = """quick start:
  harness run-benchmark --suite portraittest          # bundled sample suite when PortraitTest is absent
  harness run-benchmark --suite sample --limit 4 --methods composite,reinhard
  harness score --suite folder --data-root DATA --pred-dir PREDS --json
  harness collect-votes --run RUN_ID --out study/     # a browser study of a benchmark run's outputs
  harness analyze-votes studies/ab.csv
  harness report                                      # tables and figures of every run → report/report.html
  harness ui
"""


class Parser(argparse.ArgumentParser):
    """argparse with one-line errors (no usage block) and did-you-mean for unknown commands and choices."""

    def error(self, message: str):  # type: ignore[override]
        m = re.search(r"invalid choice: '([^']*)' \(choose from (.*)\)", message)
        if m:
            from harness.errors import did_you_mean

            known = [c.strip().strip("'") for c in m.group(2).split(",")]
            message = f"{message.split(':')[0]}: invalid choice '{m.group(1)}'.{did_you_mean(m.group(1), known)} " \
                      f"Known: {', '.join(known)}"
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="harness", description="Benchmark and evaluation harness for interactive portrait "
                    "harmonization.", epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action=_VersionAction, nargs=0, help="show the version and exit")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    for name, (module, help_) in COMMANDS.items():
        mod = importlib.import_module(module)
        p = sub.add_parser(name, help=help_, description=(mod.__doc__ or help_).strip(),
                           formatter_class=argparse.RawDescriptionHelpFormatter)
        mod.add_arguments(p)
        if name in JSON:
            from harness.options import RESULTS, group

            target = group(p, RESULTS) if any(g.title == RESULTS for g in p._action_groups) else p
            target.add_argument("--json", action="store_true", help="print exactly one JSON object on stdout")
        if name in CAPTURED:
            p.add_argument("-v", "--verbose", action="store_true",
                           help="show Ray's and MLflow's own messages on stderr (default: a log file under "
                                "the cache directory, attached to the MLflow run)")
        p.set_defaults(_module=mod)
    return parser


class _VersionAction(argparse.Action):
    """--version, looked up only when asked (importlib.metadata costs ~20 ms of every start-up otherwise)."""

    def __call__(self, parser, namespace, values, option_string=None):
        from importlib.metadata import PackageNotFoundError, version

        try:
            v = version("harness")
        except PackageNotFoundError:
            v = "0+unknown"
        parser.exit(0, f"harness {v}\n")


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
    try:
        args = parser.parse_args(argv)
    except SystemExit as done:  # --help, --version, or a usage error already printed as one line
        return done.code if isinstance(done.code, int) else 2
    except HarnessError as err:  # raised by an argument's type (e.g. --limit)
        command = next((a for a in (argv if argv is not None else sys.argv[1:]) if a in COMMANDS), "")
        print(f"harness {command}: error: {err}".replace("  ", " "), file=sys.stderr)
        return err.exit_code
    if getattr(args, "_module", None) is None:
        parser.print_help()
        return 2
    if getattr(args, "json", False) and hasattr(args, "progress"):
        args.progress = False  # stderr stays quiet too when a script reads the JSON
    _terminate_like_interrupt()
    try:
        if args.command in CAPTURED:
            from harness.console import captured
            from harness.options import default_cache_dir

            with captured(args.command, getattr(args, "cache_dir", None) or default_cache_dir(), args.verbose):
                return int(args._module.run(args) or 0)
        return int(args._module.run(args) or 0)
    except HarnessError as err:
        print(f"harness {args.command}: error: {err}", file=sys.stderr)
        return err.exit_code
    except KeyboardInterrupt:  # a command that can continue says how (its module's INTERRUPTED)
        hint = getattr(args._module, "INTERRUPTED", None)
        print(f"harness {args.command}: interrupted" + (f"; {hint}" if hint else ""), file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
