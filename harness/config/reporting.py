"""Configs of the commands that read the MLflow store back: report (the paper's tables and figures as a page)
and ui (the MLflow UI on 127.0.0.1)."""

from __future__ import annotations

from dataclasses import dataclass

from harness.options import RESULTS, RUN, StoreOptions, TrackingOptions, option, port

UI_PORT = 5000  # `harness ui`'s default port: where the links printed for a local store point


@dataclass(kw_only=True)
class ReportConfig(TrackingOptions):
    """`harness report`."""

    experiment: list[str] | None = option(None, group=RUN, repeat=True, metavar="NAME",
                                          parse=lambda names: names or None,
                                          help="experiments to read (repeatable; default: every experiment in "
                                               "the store)")
    runs: list[str] | None = option(None, group=RUN, flag="--run", repeat=True, metavar="ID",
                                    parse=lambda ids: ids or None,
                                    help="exactly these runs (repeatable; a per-method child run stands for its "
                                         "parent)")
    out: str = option("report", group=RESULTS, help="folder for report.html and the tables (replaced whole)")
    mlflow: bool = option(True, group=RESULTS, help="do not log the report to MLflow")


@dataclass(kw_only=True)
class UIConfig(StoreOptions):
    """`harness ui`."""

    port: int = option(UI_PORT, check=port, help="port on 127.0.0.1; 0 = any free port")
