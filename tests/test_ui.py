"""`harness ui` serves the benchmark's runs: read back runs, metrics and artifacts through MLflow's REST API."""

import json
import re
import urllib.request

import pytest

from harness.cli import main
from tests.processes import mlflow_ui

pytestmark = pytest.mark.slow


def _get(url: str):
    with urllib.request.urlopen(url, timeout=10) as r:
        return r.read()


def _post(url: str, body: dict):
    req = urllib.request.Request(url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read())


def test_ui_serves_runs_metrics_and_artifacts(tmp_path, capsys):
    store = f"sqlite:///{tmp_path}/mlflow.db"
    assert main(["run-benchmark", "--suite", "sample", "--limit", "3", "--methods", "composite,reinhard",
                 "--tracking-uri", store, "--cache-dir", str(tmp_path / "c"), "--num-cpus", "2", "--json",
                 "--bootstrap", "100"]) == 0
    parent_id = json.loads(capsys.readouterr().out)["mlflow_run_id"]

    # --port 0: `harness ui` picks a free port itself (and retries if it is taken before the server binds
    # it), and prints the URL once the UI answers — no port is chosen here, so there is no race to lose.
    with mlflow_ui(store, seconds=150) as lines:
        base = re.search(r"http://127\.0\.0\.1:\d+", next(x for x in lines if x.startswith("MLflow UI:"))).group(0)
        assert _get(f"{base}/health") == b"OK"
        exps = _post(f"{base}/api/2.0/mlflow/experiments/search", {"max_results": 10})["experiments"]
        exp = next(e for e in exps if e["name"] == "sample")
        runs = _post(f"{base}/api/2.0/mlflow/runs/search", {"experiment_ids": [exp["experiment_id"]]})["runs"]
        by_name = {r["info"]["run_name"]: r for r in runs}
        assert {"composite", "reinhard"} <= set(by_name)
        child = by_name["reinhard"]
        tags = {t["key"]: t["value"] for t in child["data"]["tags"]}
        assert tags["mlflow.parentRunId"] == parent_id
        metrics = {m["key"]: m["value"] for m in child["data"]["metrics"]}
        assert metrics["fmse"] > 0 and "fde2000_ci95_lo" in metrics
        parent = next(r for r in runs if r["info"]["run_id"] == parent_id)
        assert parent["info"]["status"] == "FINISHED"
        ptags = {t["key"]: t["value"] for t in parent["data"]["tags"]}
        assert ptags["suite_source"] == "bundled-sample" and ptags["n_samples"] == "3"
        rid = child["info"]["run_id"]
        files = {f["path"] for f in json.loads(_get(f"{base}/api/2.0/mlflow/artifacts/list?run_id={rid}"))["files"]}
        assert {"per_image.csv", "per_image.json", "grid.png"} <= files
        csv = _get(f"{base}/get-artifact?path=per_image.csv&run_uuid={rid}").decode()
        assert csv.splitlines()[0].startswith("id,") and len(csv.splitlines()) == 4
        assert _get(f"{base}/get-artifact?path=grid.png&run_uuid={rid}")[:8] == b"\x89PNG\r\n\x1a\n"
