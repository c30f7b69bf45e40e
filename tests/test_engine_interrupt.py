"""A real Ctrl-C (SIGINT to the driver process) in the middle of a run, then --resume: the same numbers as an
undisturbed run, the interrupted MLflow run marked FAILED, nothing counted twice. The signal is sent by the
engine's own test hook after a fixed number of stored rows — never after a sleep, which a fast machine
would outrun."""

import json
from pathlib import Path

import pytest

from harness.engine.dispatch import INTERRUPT_ENV
from tests.processes import run_harness

pytestmark = pytest.mark.slow

ARGS = ["run-benchmark", "--suite", "sample", "--methods", "composite,reinhard,lum-match", "--bootstrap", "200",
        "--num-cpus", "2", "--no-progress", "--limit", "8"]
TOTAL = 24  # 8 samples × 3 methods


def _rows(cache: Path) -> int:
    return len(list((cache / "rows").glob("*/*.json"))) if (cache / "rows").is_dir() else 0


def test_interrupt_then_resume(tmp_path):
    from mlflow.tracking import MlflowClient

    store = f"sqlite:///{tmp_path}/mlflow.db"
    cache = tmp_path / "cache"
    proc = run_harness(*ARGS, "--cache-dir", str(cache), "--tracking-uri", store, env={INTERRUPT_ENV: "6"})
    assert proc.returncode == 130, proc.stderr
    assert proc.stdout == "" and proc.stderr.strip().splitlines()[-1] == (
        "harness run-benchmark: interrupted; every finished result is cached: run the same command with --resume "
        "to compute only the rest")
    done = _rows(cache)
    assert 6 <= done < TOTAL, done

    client = MlflowClient(tracking_uri=store)
    exp = client.get_experiment_by_name("sample")
    statuses = {r.info.status for r in client.search_runs([exp.experiment_id])}
    assert statuses == {"FAILED"}, statuses

    resumed = run_harness(*ARGS, "--cache-dir", str(cache), "--tracking-uri", store, "--resume", "--json")
    assert resumed.returncode == 0, resumed.stderr
    res = json.loads(resumed.stdout)
    assert res["cached"] + res["computed"] == TOTAL and res["cached"] >= done - 3  # a grid image cut off mid-unit is redone

    clean = run_harness(*ARGS, "--cache-dir", str(tmp_path / "clean"), "--no-mlflow", "--json")
    assert clean.returncode == 0, clean.stderr
    ref = json.loads(clean.stdout)
    assert len(res["per_image"]) == len(ref["per_image"]) == TOTAL
    key = lambda r: (r["method"], r["id"])  # noqa: E731
    for a, b in zip(sorted(res["per_image"], key=key), sorted(ref["per_image"], key=key)):
        assert key(a) == key(b)
        for m in ("fmse", "mse", "fpsnr", "ssim", "fde2000"):
            assert a[m] == pytest.approx(b[m], rel=1e-12)
    assert res["methods"]["reinhard"]["mean"] == pytest.approx(ref["methods"]["reinhard"]["mean"], rel=1e-12)
