"""Build the paper's tables and figures from MLflow runs as one self-contained HTML page (report.html), with each
table as CSV and LaTeX, and log it to MLflow, where it renders in the run's Artifacts tab.

Reads run-benchmark (Table 1, outputs side by side, paired differences, fg-ratio buckets), analyze-votes
(Table 2), run-ablation (Table 3), sweep (training grids) and run-robustness runs (responsiveness, the grids
per reference region).
Which runs: by experiment — or, with neither --experiment nor --run, every experiment in the store — each
kind's latest finished run per suite (per protocol and reference region for run-benchmark, per study kind for
analyze-votes); --all takes every finished run instead, one column each; --run names the runs. Above Table 1
(and the robustness table) the page says which run each column is and why, and which runs it left out.
Sections without runs are left out with one line saying so.

Logged to: the named run, when exactly one --run is given (its report/ is rebuilt); otherwise a new run in the
experiment `reports`, described by the runs it was built from. run-benchmark and run-robustness log their own
report as they finish; so do run-ablation and sweep.

examples:
  harness report                                   # everything in ./mlflow.db → report/report.html
  harness report --experiment sample --experiment user-studies --out paper/
  harness report --experiment sample --all         # every finished run of experiment sample, a column each
  harness report --run RUN_ID                      # rebuild one run's report (and its report/ artifact)
  harness report --run BENCH_ID --run AB_ID --run RANK_ID --no-mlflow
"""

from __future__ import annotations

import argparse

from harness.config import ReportConfig
from harness.options import add_arguments as add_config_arguments, from_args

EXPERIMENT = "reports"


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_config_arguments(p, ReportConfig)


def _log(c, uri: str, cfg: ReportConfig, selection, out_dir: str) -> tuple[str, str, str]:
    """(run id, experiment id, artifact path) of the run the report was logged to."""
    from harness.tracking.store import get_or_create_experiment

    if cfg.runs and len(selection.sources) == 1:
        run_id = selection.sources[0].run_id
        exp_id = c.get_run(run_id).info.experiment_id
    else:
        exp_id = get_or_create_experiment(EXPERIMENT, uri)
        listed = "\n".join(f"- {s.kind} `{s.run_id}` ({s.experiment}: {s.name})" for s in selection.sources)
        run_id = c.create_run(exp_id, run_name=f"report {len(selection.sources)} runs", tags={
            "harness.command": "report", "harness.report_sources": ",".join(s.run_id for s in selection.sources)[:5000],
            "mlflow.note.content": f"Report page (report/report.html, with the tables as CSV and LaTeX) built by "
                                   f"`harness report` from:\n\n{listed}"}).info.run_id
    c.log_artifacts(run_id, out_dir, "report")
    if not (cfg.runs and len(selection.sources) == 1):
        c.set_terminated(run_id, "FINISHED")  # the run made here; a named run is left as it was
    return run_id, exp_id, "report/report.html"


def run(args: argparse.Namespace) -> int:
    import json

    from harness.console import current
    from harness.errors import HarnessError
    from harness.tracking.links import local_artifact, served_by, ui_link
    from harness.tracking.store import client, require_store, resolve_tracking_uri

    cfg = from_args(ReportConfig, args)
    console = current()
    uri = resolve_tracking_uri(cfg.tracking_uri)
    require_store(uri, "--tracking-uri" if cfg.tracking_uri else "the default store")
    c = client(uri)
    from mlflow.exceptions import MlflowException

    import reports

    notes: list[str] = []
    try:
        selection = reports.collect(c, uri, experiments=cfg.experiment, run_ids=cfg.runs, notes=notes,
                                    all_runs=cfg.all_runs)
        for line in notes:
            console.note(line)
        if not selection.sources:
            where = f"experiment(s) {', '.join(cfg.experiment)}" if cfg.experiment else uri
            raise HarnessError(f"no finished run-benchmark, run-robustness, run-ablation or analyze-votes run in "
                               f"{where}: nothing to report")
        info = reports.write_atomically(c, selection, cfg.out)
        logged = None
        if cfg.mlflow:
            run_id, exp_id, page = _log(c, uri, cfg, selection, info["dir"])
            logged = {"run_id": run_id, "url": ui_link(uri, exp_id, run_id, page),
                      "file": local_artifact(c, run_id, page)}
    except MlflowException as err:  # an unreachable or broken store: one line
        raise HarnessError(f"MLflow store {uri}: {str(err).splitlines()[0]}") from None
    if args.json:
        console.out.write(json.dumps({**info, "mlflow": logged}) + "\n")
        return 0
    shown = [k for k, v in info["sections"].items() if v]
    lines = [f"report of {len(info['runs'])} run(s): {', '.join(shown)}", f"tables: {info['dir']}/ "
             f"({', '.join(f for f in info['files'] if f != 'report.html') or 'none'})"]
    if logged:
        lines.append(f"MLflow run {logged['run_id']}: {logged['url']}{served_by(uri)}" if logged["url"]
                     else f"MLflow run {logged['run_id']}")
    lines.append(f"report: {info['html']}")
    console.out.write("\n".join(lines) + "\n")
    return 0
