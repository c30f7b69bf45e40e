"""run-benchmark end to end on a local Ray (2 CPUs, loopback) with a throwaway MLflow store."""

import json
import os

import numpy as np
import pytest
from PIL import Image

from harness.cli import main
from harness.config import BenchmarkConfig
from harness.data.suites import load_spec, open_suite

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def ray_local():
    import ray

    os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"
    ray.init(num_cpus=2, include_dashboard=False, _node_ip_address="127.0.0.1", log_to_driver=False)
    yield
    ray.shutdown()


def _cli_json(capsys, *argv):
    assert main(list(argv)) == 0
    out = capsys.readouterr().out
    return json.loads(out)


def test_json_equals_harness_score_on_the_written_predictions(ray_local, tmp_path, capsys):
    store = f"sqlite:///{tmp_path}/mlflow.db"
    res = _cli_json(capsys, "run-benchmark", "--suite", "sample", "--limit", "4", "--methods",
                    "composite,reinhard,lum-match", "--out", str(tmp_path / "out"), "--json", "--tracking-uri",
                    store, "--cache-dir", str(tmp_path / "cache"), "--bootstrap", "200")
    assert res["suite"] == "sample" and res["source"] == "bundled-sample" and res["n"] == 4
    assert set(res["methods"]) == {"composite", "reinhard", "lum-match"}
    assert len(res["per_image"]) == 12 and res["mlflow_run_id"]
    for method in ("composite", "reinhard"):
        scored = _cli_json(capsys, "score", "--suite", "sample", "--limit", "4", "--pred-dir",
                           str(tmp_path / "out" / method), "--json")
        mine = {r["id"]: r for r in res["per_image"] if r["method"] == method}
        for r in scored["per_image"]:
            for k in ("fmse", "mse", "fpsnr", "ssim", "fde2000"):
                assert r[k] == pytest.approx(mine[r["id"]][k], rel=1e-9), (method, r["id"], k)
    # composite = its input, unchanged, and so only the foreground ever differs for the others
    for spec in open_suite("sample", limit=4).specs:
        s = load_spec(spec)
        comp_out = np.asarray(Image.open(tmp_path / "out" / "composite" / f"{s.id}.png"))
        np.testing.assert_array_equal(comp_out, np.rint(s.composite * 255).astype(np.uint8))
        lm = np.asarray(Image.open(tmp_path / "out" / "lum-match" / f"{s.id}.png"))
        np.testing.assert_array_equal(lm[~s.fg], comp_out[~s.fg])
    assert (tmp_path / "out" / "per_image.csv").is_file()


def test_resume_after_interruption_gives_the_same_numbers(ray_local, tmp_path, capsys):
    from harness.engine import run_benchmark

    common = dict(suite="sample", limit=6, methods=["composite", "reinhard"], mlflow=False, progress=False,
                  n_boot=200)
    full = run_benchmark(BenchmarkConfig(cache_dir=str(tmp_path / "a"), **common))
    # An interrupted run: pre-populate the cache with half the results, as a killed run would leave it.
    partial = run_benchmark(BenchmarkConfig(cache_dir=str(tmp_path / "b"), **{**common, "limit": 3}))
    assert partial.computed == 6
    resumed = run_benchmark(BenchmarkConfig(cache_dir=str(tmp_path / "b"), resume=True, **common))
    assert resumed.cached == 6 and resumed.computed == 6
    a = full.rows.sort_values(["method", "id"]).reset_index(drop=True)
    b = resumed.rows.sort_values(["method", "id"]).reset_index(drop=True)
    assert len(a) == len(b) == 12
    for k in ("fmse", "psnr", "fde2000", "fssim"):
        np.testing.assert_allclose(a[k], b[k], rtol=1e-12)
    np.testing.assert_allclose(full.summary["mean"], resumed.summary["mean"], rtol=1e-12)


def test_a_killed_worker_is_retried_and_changes_nothing(ray_local, tmp_path, monkeypatch):
    from harness.engine import run_benchmark
    from harness.worker import FAULT_ENV

    common = dict(suite="sample", limit=4, methods=["reinhard"], mlflow=False, progress=False, n_boot=200)
    clean = run_benchmark(BenchmarkConfig(cache_dir=str(tmp_path / "a"), **common))
    marker = tmp_path / "died"
    monkeypatch.setenv(FAULT_ENV, str(marker))
    import ray

    ray.shutdown()  # restart so the workers inherit the fault-injection variable
    ray.init(num_cpus=2, include_dashboard=False, _node_ip_address="127.0.0.1", log_to_driver=False)
    faulty = run_benchmark(BenchmarkConfig(cache_dir=str(tmp_path / "b"), **common))
    assert marker.is_file(), "the fault was never injected"
    np.testing.assert_allclose(clean.rows["fmse"], faulty.rows["fmse"], rtol=1e-12)
    # The same for an actor (learned methods): the actor process dies, Ray restarts it and retries.
    learned = {**common, "methods": ["iph"]}
    monkeypatch.delenv(FAULT_ENV)
    clean_iph = run_benchmark(BenchmarkConfig(cache_dir=str(tmp_path / "c"), **learned))
    marker.unlink()
    monkeypatch.setenv(FAULT_ENV, str(marker))
    ray.shutdown()
    ray.init(num_cpus=2, include_dashboard=False, _node_ip_address="127.0.0.1", log_to_driver=False)
    faulty_iph = run_benchmark(BenchmarkConfig(cache_dir=str(tmp_path / "d"), **learned))
    assert marker.is_file()
    np.testing.assert_allclose(clean_iph.rows["fmse"], faulty_iph.rows["fmse"], rtol=1e-12)


def test_a_failing_run_is_marked_failed_in_mlflow(ray_local, tmp_path, capsys):
    from mlflow.tracking import MlflowClient

    store = f"sqlite:///{tmp_path}/mlflow.db"
    root = tmp_path / "suite"
    from tests.helpers import write_folder_suite

    write_folder_suite(root, n=2)
    (root / "real" / "img01.png").write_bytes(b"not a png")
    code = main(["run-benchmark", "--suite", "folder", "--data-root", str(root), "--methods", "composite",
                 "--tracking-uri", store, "--cache-dir", str(tmp_path / "c"), "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2 and "img01.png" in err and "cannot be read" in err and "Traceback" not in err
    client = MlflowClient(tracking_uri=store)
    runs = client.search_runs([client.get_experiment_by_name("folder").experiment_id])
    assert runs and all(r.info.status == "FAILED" for r in runs)


def test_reference_auto_replaces_the_reference_region(ray_local, tmp_path):
    from harness.engine import run_benchmark

    common = dict(suite="sample", limit=2, methods=["reinhard"], mlflow=False, progress=False, n_boot=100,
                  cache_dir=str(tmp_path))
    given = run_benchmark(BenchmarkConfig(**common))
    auto = run_benchmark(BenchmarkConfig(reference="auto", **common))
    assert auto.computed == 2  # a different cache key: never served the given-reference rows
    assert not np.allclose(given.rows["fmse"], auto.rows["fmse"])


def test_portraittest_fallback_is_said_in_the_report_and_every_record(ray_local, tmp_path, monkeypatch):
    from harness.engine import run_benchmark
    from harness.report import summary_text

    monkeypatch.delenv("HARNESS_DATA", raising=False)
    result = run_benchmark(BenchmarkConfig(suite="portraittest", limit=3, methods=["composite", "reinhard"],
                                           mlflow=False, progress=False, n_boot=100, cache_dir=str(tmp_path)))
    text = summary_text(result)
    assert "NOT PortraitTest numbers" in text and "bundled-sample" in text.splitlines()[0]
    assert "Δfmse (method − composite)" in text and "\nreinhard" in text
    assert set(result.rows["source"]) == {"bundled-sample"}
    assert all(r["source"] == "bundled-sample" for r in result.to_json()["per_image"])
