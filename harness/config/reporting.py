"""Configs of the commands that read the MLflow store back: report (the paper's tables and figures as a page)
and ui (the MLflow UI on 127.0.0.1)."""

from __future__ import annotations

from dataclasses import dataclass

from harness.errors import HarnessError
from harness.options import RESULTS, RUN, StoreOptions, TrackingOptions, option, port

UI_PORT = 5000  # `harness ui`'s default port: where the links printed for a local store point


@dataclass(kw_only=True)
class ReportConfig(TrackingOptions):
    """`harness report`."""

    experiment: list[str] | None = option(None, group=RUN, repeat=True, metavar="NAME",
                                          parse=lambda names: names or None,
                                          help="experiments to read (repeatable; default: every experiment in "
                                               "the store); of each kind, the latest finished run per suite")
    runs: list[str] | None = option(None, group=RUN, flag="--run", repeat=True, metavar="ID",
                                    parse=lambda ids: ids or None,
                                    help="exactly these runs, one column each (repeatable; a per-method child run "
                                         "stands for its parent)")
    all_runs: bool = option(False, group=RUN, flag="--all",
                            help="every finished run (of --experiment, or the whole store), one column each — not "
                                 "only the latest per suite")
    out: str = option("report", group=RESULTS, help="folder for report.html and the tables (replaced whole)")
    mlflow: bool = option(True, group=RESULTS, help="do not log the report to MLflow")

    def _check(self) -> None:
        if self.experiment and self.runs:
            raise HarnessError("give --experiment or --run, not both")
        if self.all_runs and self.runs:
            raise HarnessError("give --all or --run, not both: --run names the runs itself")


@dataclass(kw_only=True)
class UIConfig(StoreOptions):
    """`harness ui`."""

    port: int = option(UI_PORT, check=port, help="port on 127.0.0.1; 0 = any free port")
