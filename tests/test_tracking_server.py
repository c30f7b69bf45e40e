"""MLflow for a team: the commands against a real `mlflow server` on 127.0.0.1 (sqlite backend and proxied
artifact root of its own, started once for the module) — runs, metrics, artifacts and registered models go
through the server, nothing lands in the working directory; and a new sqlite store opened by several processes
at the same moment (MLflow creates and migrates it without a lock of its own) is created once, not raced."""

from __future__ import annotations

import json
import multiprocessing
from pathlib import Path

import pytest

from tests.processes import ROOT, cli, cli_json, mlflow_server

pytestmark = [pytest.mark.slow, pytest.mark.cluster]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    root = tmp_path_factory.mktemp("mlflow_server")
    with mlflow_server(root) as url:
        yield url, root


def _artifact_files(c, run_id: str, path: str | None = None) -> list[str]:
    out = []
    for a in c.list_artifacts(run_id, path):
        out += _artifact_files(c, run_id, a.path) if a.is_dir else [a.path]
    return out


def test_commands_log_to_the_server_and_read_back_from_it(server, ray_local, tmp_path, monkeypatch, capsys):
    """A training run as `harness train` records it (its driver's and rank 0's calls: run, loss terms, the
    checkpoint as artifacts, registered as iph@stage1 — `harness train` itself is left out for its Ray Train
    start-up); run-benchmark resolves `models:/iph@stage1` from the server's registry and downloads it through
    the server's artifact proxy; analyze-votes logs a study run; report reads the runs back; ui says the store
    is already a server. Every artifact is a file in the server's own artifact folder; the working directory
    gets no mlflow.db and no mlartifacts/."""
    from mlflow.tracking import MlflowClient

    from harness.config.training import TrainConfig
    from harness.tracking.training import StepLogger, finish_training_run, start_training_run

    url, root = server
    monkeypatch.chdir(tmp_path)
    c = MlflowClient(url)
    cfg = TrainConfig(method="iph", stage=1, steps=2, tracking_uri=url)
    _, trained = start_training_run(cfg, {}, None, {"kind": "test"})
    StepLogger(url, trained).log({"total": 0.5}, step=1)
    finish_training_run(url, trained, ROOT / "iph" / "checkpoints" / "iph.safetensors", 2, "iph", 1, [])
    assert c.get_model_version_by_alias("iph", "stage1").run_id == trained
    assert [m.value for m in c.get_metric_history(trained, "train/total")] == [0.5]
    res = cli_json("run-benchmark", "--suite", "sample", "--limit", "1", "--methods",
                   "composite,iph:checkpoint=models:/iph@stage1", "--bootstrap", "100", "--tracking-uri", url,
                   "--json")
    assert set(res["methods"]) == {"composite", "iph:checkpoint=models:/iph@stage1"}
    bench = c.get_run(res["mlflow_run_id"])
    assert bench.info.status == "FINISHED" and res["mlflow_url"].startswith(f"{url}/#/experiments/")
    # artifacts go through the server (mlflow-artifacts:/) into its --artifacts-destination
    assert bench.info.artifact_uri.startswith("mlflow-artifacts:")
    files = _artifact_files(c, bench.info.run_id)
    assert "report/report.html" in files
    stored = root / "artifacts" / bench.info.experiment_id / bench.info.run_id / "artifacts"
    assert all((stored / f).is_file() for f in files), (files, sorted(stored.rglob("*")))
    cli_json("analyze-votes", str(ROOT / "studies" / "ab.csv"), "--bootstrap", "100", "--tracking-uri", url,
             "--json")
    [study] = c.search_runs([c.get_experiment_by_name("user-studies").experiment_id])
    assert study.data.metrics and _artifact_files(c, study.info.run_id)
    printed = cli("report", "--out", "report", "--tracking-uri", url)
    assert f"{url}/#/experiments/" in printed and "harness ui" not in printed  # the server is up already
    page = (tmp_path / "report" / "report.html").read_text()
    assert bench.info.run_id in page  # read back from the server
    assert "the store is already a server" in cli("ui", "--tracking-uri", url)
    assert not (tmp_path / "mlflow.db").exists() and not (tmp_path / "mlartifacts").exists()


# ------------------------------------------------------------------------------- a new sqlite store, at once
WORKERS = 2


def _open_at_once(uri: str, barrier, results) -> None:
    """One process of the race: everything imported first, then all open the new store at the same moment."""
    import mlflow.store.tracking.sqlalchemy_store  # noqa: F401 — imported before the start, not in the race

    from harness.tracking import store

    barrier.wait()
    try:
        exp = store.get_or_create_experiment("at-once", uri)
        c = store.client(uri)
        c.set_terminated(c.create_run(exp).info.run_id)
        results.put("ok")
    except Exception as err:  # noqa: BLE001 — the test reports what each process met
        results.put(f"{type(err).__name__}: {str(err).splitlines()[0][:200]}")


def test_a_new_sqlite_store_opened_by_several_processes_at_once(tmp_path, monkeypatch):
    """Without the lock (harness/tracking/store.py: _open_sqlite_store) one of the two processes failed here in
    3 tries of 3 ("table experiments already exists", "table runs already exists", "duplicate column name:
    step": MLflow 3's SqlAlchemyStore checks for tables, then creates and migrates them). With it, every
    process logs its run to the one store."""
    from mlflow.tracking import MlflowClient

    monkeypatch.setenv("PYTHONPATH", str(ROOT))  # spawned processes import this checkout
    ctx = multiprocessing.get_context("spawn")  # no fork of a process that holds Ray and torch threads
    barrier, results = ctx.Barrier(WORKERS), ctx.Queue()
    uri = f"sqlite:///{tmp_path / 'new' / 'mlflow.db'}"
    (tmp_path / "new").mkdir()
    procs = [ctx.Process(target=_open_at_once, args=(uri, barrier, results)) for _ in range(WORKERS)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=240)
    outcomes = [results.get(timeout=5) for _ in procs]
    assert outcomes == ["ok"] * WORKERS, outcomes
    exp = MlflowClient(uri).get_experiment_by_name("at-once")
    assert len(MlflowClient(uri).search_runs([exp.experiment_id])) == WORKERS
    assert Path(uri[len("sqlite:///"):]).is_file()
