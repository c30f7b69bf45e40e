"""run-benchmark end to end on one local Ray (2 CPUs, loopback) for the whole module, with throwaway MLflow
stores. Worker deaths are injected through a file the workers look for (HARNESS_FAULT_DIR, set before Ray
starts), so Ray is never restarted inside the module."""

import json
import numpy as np
import pytest
from PIL import Image

from harness.cli import main
from harness.config import BenchmarkConfig
from harness.data.suites import load_spec, open_suite
from harness.engine.worker import FAULT_DIR_ENV
from harness.scoring.oracle import oracle_scores
from tests.processes import cli, cli_json

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def fault_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("faults")


@pytest.fixture(scope="module")
def ray_worker_env(fault_dir):
    return {FAULT_DIR_ENV: str(fault_dir)}  # inherited by every worker of the module's Ray (conftest's ray_local)


def test_json_rows_equal_the_libraries_on_the_written_predictions(ray_local, tmp_path):
    """Every per-image number equals skimage / colour-science computed directly on the PNG that --out wrote
    and the suite's ground truth — an oracle that shares no code with the harness's metrics."""
    store = f"sqlite:///{tmp_path}/mlflow.db"
    res = cli_json("run-benchmark", "--suite", "sample", "--limit", "3", "--methods",
                    "composite,reinhard,lum-match", "--out", str(tmp_path / "out"), "--json", "--tracking-uri",
                    store, "--cache-dir", str(tmp_path / "cache"), "--bootstrap", "200")
    assert res["suite"] == "sample" and res["source"] == "bundled-sample" and res["n"] == 3
    assert set(res["methods"]) == {"composite", "reinhard", "lum-match"}
    assert len(res["per_image"]) == 9 and res["mlflow_run_id"]
    specs = {s.id: s for s in open_suite("sample", limit=3).specs}
    for row in res["per_image"]:
        s = load_spec(specs[row["id"]])
        pred = np.asarray(Image.open(tmp_path / "out" / row["method"] / f"{s.id}.png"), dtype=np.float64) / 255
        expected = oracle_scores(pred, s.real.astype(np.float64), s.fg_mask)
        for k in ("mse", "fmse", "ssim", "fssim", "de2000", "fde2000", "de76"):
            assert row[k] == pytest.approx(expected[k], rel=1e-5, abs=1e-9), (row["method"], s.id, k)
        for k in ("psnr", "fpsnr"):
            assert (row[k] == "inf") if np.isinf(expected[k]) else row[k] == pytest.approx(expected[k], rel=1e-6)
        # composite returns its input; nothing changes outside the foreground
        comp8 = np.rint(s.composite * 255).astype(np.uint8)
        out8 = np.asarray(Image.open(tmp_path / "out" / row["method"] / f"{s.id}.png"))
        np.testing.assert_array_equal(out8[~s.fg], comp8[~s.fg])
        if row["method"] == "composite":
            np.testing.assert_array_equal(out8, comp8)
    means = res["methods"]["reinhard"]["mean"]
    assert means["fmse"] == pytest.approx(np.mean([r["fmse"] for r in res["per_image"]
                                                   if r["method"] == "reinhard"]), rel=1e-12)
    assert (tmp_path / "out" / "per_image.csv").is_file()


def test_resume_after_interruption_gives_the_same_numbers(ray_local, tmp_path):
    from harness.engine.benchmark import run_benchmark

    common = dict(suite="sample", limit=6, methods=["composite", "reinhard"], mlflow=False, progress=False,
                  bootstrap=200)
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


@pytest.mark.parametrize("methods", [["reinhard"], ["composite", "iph"]], ids=["task", "actor"])
def test_a_killed_worker_is_retried_and_changes_nothing(ray_local, fault_dir, tmp_path, methods):
    """A task (classical methods) or an actor (learned methods) process dies mid-run: Ray retries the work
    elsewhere and the numbers are those of an undisturbed run."""
    from harness.engine.benchmark import run_benchmark

    common = dict(suite="sample", limit=3, methods=methods, mlflow=False, progress=False, bootstrap=100)
    clean = run_benchmark(BenchmarkConfig(cache_dir=str(tmp_path / "a"), **common))
    (fault_dir / "arm").write_text("")
    faulty = run_benchmark(BenchmarkConfig(cache_dir=str(tmp_path / "b"), **common))
    assert (fault_dir / "fired").is_file() and not (fault_dir / "arm").exists(), "the fault was never injected"
    (fault_dir / "fired").unlink()
    np.testing.assert_allclose(clean.rows["fmse"], faulty.rows["fmse"], rtol=1e-12)
    assert list(clean.rows["id"]) == list(faulty.rows["id"])


def test_a_failing_run_is_marked_failed_in_mlflow(ray_local, tmp_path, capsys):
    from mlflow.tracking import MlflowClient

    from tests.helpers import write_folder_suite

    store = f"sqlite:///{tmp_path}/mlflow.db"
    root = tmp_path / "suite"
    write_folder_suite(root, n=2)
    (root / "real" / "img01.png").write_bytes(b"not a png")
    code = main(["run-benchmark", "--suite", "folder", "--data-root", str(root), "--methods", "composite",
                 "--tracking-uri", store, "--cache-dir", str(tmp_path / "c"), "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2 and "img01.png" in err and "cannot be read" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1, err
    client = MlflowClient(tracking_uri=store)
    runs = client.search_runs([client.get_experiment_by_name("folder").experiment_id])
    assert runs and all(r.info.status == "FAILED" for r in runs)


def test_reference_auto_replaces_the_reference_region(ray_local, tmp_path):
    from harness.engine.benchmark import run_benchmark

    common = dict(suite="sample", limit=2, methods=["reinhard"], mlflow=False, progress=False, bootstrap=100,
                  cache_dir=str(tmp_path))
    given = run_benchmark(BenchmarkConfig(**common))
    auto = run_benchmark(BenchmarkConfig(reference="auto", **common))
    assert auto.computed == 2  # a different cache key: never served the given-reference rows
    assert not np.allclose(given.rows["fmse"], auto.rows["fmse"])


def test_portraittest_fallback_is_said_in_the_report_and_every_record(ray_local, tmp_path, monkeypatch):
    from harness.engine.benchmark import run_benchmark

    monkeypatch.delenv("HARNESS_DATA", raising=False)
    result = run_benchmark(BenchmarkConfig(suite="portraittest", limit=3, methods=["composite", "reinhard"],
                                           mlflow=False, progress=False, bootstrap=100, cache_dir=str(tmp_path)))
    text = result.to_text()
    assert "NOT PortraitTest numbers" in text and "bundled-sample" in text.splitlines()[0]
    assert "Δfmse (method − composite)" in text and "\nreinhard" in text
    assert set(result.rows["source"]) == {"bundled-sample"}
    assert all(r["source"] == "bundled-sample" for r in result.to_json()["per_image"])


def test_iharmony4_under_a_peer_protocol_per_subset_everywhere(ray_local, tmp_path):
    """run-benchmark --protocol idih on a hand-written iHarmony4 tree: every row equals the port of iDIH's
    script (tests/peer_oracles.py) on the PNG that --out wrote; `subsets` in JSON, the terminal table and
    MLflow (child metrics fmse/HCOCO …, per_subset.csv); each protocol has cache keys of its own."""
    from mlflow.tracking import MlflowClient

    from tests.helpers import write_iharmony4_tree
    from tests.peer_oracles import idih_evaluation

    files = write_iharmony4_tree(tmp_path / "data")
    store = f"sqlite:///{tmp_path}/mlflow.db"
    argv = ["run-benchmark", "--suite", "iharmony4", "--data-root", str(tmp_path / "data"), "--methods",
            "composite,reinhard", "--cache-dir", str(tmp_path / "cache"), "--bootstrap", "200", "--no-progress"]
    res = cli_json(*argv, "--protocol", "idih", "--out", str(tmp_path / "out"), "--json",
                    "--tracking-uri", store)
    assert res["protocol"] == "idih:256" and res["n"] == 4 and res["computed"] == 8
    for row in res["per_image"]:
        f = files[row["id"]]
        pred = tmp_path / "out" / row["method"] / f"{row['id'].replace('/', '__')}.png"
        expected = idih_evaluation(pred, f["real"], f["mask"])
        for k in ("mse", "fmse", "psnr"):
            assert row[k] == pytest.approx(expected[k], rel=2e-6), (row["method"], row["id"], k)
    subsets = res["subsets"]
    assert list(subsets) == ["HCOCO", "HFlickr", "Hday2night", "All"]
    for name, entry in subsets.items():
        for method in ("composite", "reinhard"):
            rows = [r for r in res["per_image"] if r["method"] == method and name in ("All", r["subset"])]
            assert entry[method]["n"] == len(rows)
            assert entry[method]["mean"]["fmse"] == pytest.approx(np.mean([r["fmse"] for r in rows]), rel=1e-12)
    overall = res["methods"]["reinhard"]["mean"]  # also holds the consistency gaps, which subsets leave out
    assert subsets["All"]["reinhard"]["mean"] == pytest.approx({k: overall[k] for k in subsets["All"]["reinhard"]["mean"]})

    client = MlflowClient(tracking_uri=store)
    runs = client.search_runs([client.get_experiment_by_name("iharmony4").experiment_id])
    child = next(r for r in runs if r.info.run_name == "reinhard")
    assert child.data.tags["protocol"] == "idih:256"
    assert child.data.metrics["fmse/HCOCO"] == pytest.approx(subsets["HCOCO"]["reinhard"]["mean"]["fmse"])
    assert child.data.metrics["mse/All_ci95_lo"] == pytest.approx(subsets["All"]["reinhard"]["ci95"]["mse"][0])
    parent = next(r for r in runs if r.info.run_id == res["mlflow_run_id"])
    assert "per_subset.csv" in {a.path for a in client.list_artifacts(parent.info.run_id)}

    # the terminal table; then the same cache under another protocol computes everything anew
    text = cli(*argv, "--protocol", "bcmi", "--resume", "--no-mlflow")
    assert "protocol bcmi:256" in text and "(8 computed, 0 from cache)" in text
    assert "HCOCO (n=2)" in text and "All (n=4)" in text
    again = cli_json(*argv, "--protocol", "idih", "--resume", "--no-mlflow", "--json")
    assert again["cached"] == 8 and again["computed"] == 0


def test_a_fully_cached_resume_needs_no_ray_and_duplicate_samples_keep_their_ids(ray_local, tmp_path):
    """Two samples with the same bytes under two names are two rows, first run and resumed alike; when every
    row is cached, --resume answers without Ray: in a fresh process pointed at an address where no Ray
    listens, the fully cached run exits 0 with the same numbers, and one row short it is refused."""
    import shutil

    from tests.helpers import write_folder_suite
    from tests.processes import run_harness

    root = tmp_path / "data"
    write_folder_suite(root, n=2)
    for d in ("composite", "mask", "reference", "real"):  # img02: img00's bytes under another name
        shutil.copy(root / d / "img00.png", root / d / "img02.png")
    argv = ["run-benchmark", "--suite", "folder", "--data-root", str(root), "--methods", "composite,reinhard",
            "--cache-dir", str(tmp_path / "cache"), "--no-mlflow", "--bootstrap", "100", "--json"]
    first = cli_json(*argv)
    assert first["computed"] == 6 and sorted({r["id"] for r in first["per_image"]}) == ["img00", "img01", "img02"]

    nowhere = ["--ray-address", "127.0.0.1:9"]  # discard port: connecting to Ray there fails
    proc = run_harness(*argv, "--resume", *nowhere)
    assert proc.returncode == 0, proc.stderr
    again = json.loads(proc.stdout)
    assert again["cached"] == 6 and again["computed"] == 0 and again["ray"]["nodes"] == 0
    key = lambda r: (r["method"], r["id"])  # noqa: E731
    assert sorted(map(key, again["per_image"])) == sorted(map(key, first["per_image"]))
    assert again["methods"] == first["methods"]

    (root / "composite" / "img01.png").write_bytes((root / "composite" / "img00.png").read_bytes())  # one edit
    proc = run_harness(*argv, "--resume", *nowhere)
    assert proc.returncode == 2 and "127.0.0.1:9" in proc.stderr  # two rows to compute: Ray is needed
