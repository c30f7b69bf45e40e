"""Reading a finished run-benchmark run back from MLflow: where its predictions were written (`--out`), on
which suite, and which methods (what `harness collect-votes --run RUN_ID` needs)."""

from __future__ import annotations

from harness.errors import HarnessError
from harness.tracking.store import client, require_store, resolve_tracking_uri


def _limit(text: str | None) -> int | float | None:
    if not text or text == "None":
        return None
    value = float(text)
    return int(value) if value >= 1 else value


def benchmark_run(run_id: str, tracking_uri: str | None = None) -> dict:
    """{run_id, uri, experiment_id, experiment_name, out, suite, data_root, limit, methods} of a finished
    run-benchmark parent run; HarnessError (one line) for an unknown id, a per-method child run, another
    kind of run, an unfinished run, or a run made without --out."""
    from mlflow.exceptions import MlflowException

    uri = resolve_tracking_uri(tracking_uri)
    require_store(uri, f"--run {run_id}")
    c = client(uri)
    try:
        run = c.get_run(run_id)
    except MlflowException:
        raise HarnessError(f"--run {run_id}: no such MLflow run in {uri}") from None
    tags, params = run.data.tags, run.data.params
    if tags.get("harness.command") != "run-benchmark":
        parent = tags.get("mlflow.parentRunId")
        if parent:
            raise HarnessError(f"--run {run_id}: this is the per-method run '{run.info.run_name}' of benchmark run "
                               f"{parent}; pass --run {parent}")
        raise HarnessError(f"--run {run_id}: not a run-benchmark run (made by "
                           f"'{tags.get('harness.command', 'something else')}')")
    if run.info.status != "FINISHED":
        raise HarnessError(f"--run {run_id}: the benchmark run did not finish (status {run.info.status}); its "
                           "predictions may be incomplete — resume it with run-benchmark --resume first")
    if not params.get("out"):
        raise HarnessError(f"--run {run_id}: the benchmark was run without --out, so its predictions were not "
                           "saved; rerun it with --out DIR (add --resume to reuse its results) or use --pred-dirs")
    children = c.search_runs([run.info.experiment_id], filter_string=f"tags.mlflow.parentRunId = '{run_id}'",
                             order_by=["attributes.start_time ASC"], max_results=1000)
    methods = [ch.data.params["method"] for ch in children if "method" in ch.data.params]
    if not methods:
        raise HarnessError(f"--run {run_id}: the benchmark run has no per-method runs")
    experiment = c.get_experiment(run.info.experiment_id)
    return {"run_id": run_id, "uri": uri, "experiment_id": run.info.experiment_id,
            "experiment_name": experiment.name, "out": params["out"], "suite": params.get("suite"),
            "data_root": params.get("data_root") or None, "limit": _limit(params.get("limit")),
            "methods": methods}
