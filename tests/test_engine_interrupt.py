"""A real Ctrl-C in the middle of a run, then --resume: same numbers as an undisturbed run, the interrupted
MLflow run marked FAILED, nothing counted twice."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ARGS = ["run-benchmark", "--suite", "sample", "--methods", "composite,reinhard,lum-match", "--bootstrap", "200",
        "--num-cpus", "2", "--no-progress"]


def _harness(*argv, **kw):
    env = dict(os.environ, RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER="0")
    return subprocess.Popen([sys.executable, "-m", "harness.cli", *argv], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **kw)


def _rows(cache: Path) -> int:
    return len(list((cache / "rows").glob("*/*.json"))) if (cache / "rows").is_dir() else 0


def test_interrupt_then_resume(tmp_path):
    from mlflow.tracking import MlflowClient

    store = f"sqlite:///{tmp_path}/mlflow.db"
    cache = tmp_path / "cache"
    proc = _harness(*ARGS, "--cache-dir", str(cache), "--tracking-uri", store)
    deadline = time.time() + 120
    while _rows(cache) < 6 and proc.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    assert proc.poll() is None, "the run finished before it could be interrupted"
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    done = _rows(cache)
    assert 6 <= done < 78, done

    client = MlflowClient(tracking_uri=store)
    exp = client.get_experiment_by_name("sample")
    statuses = {r.info.status for r in client.search_runs([exp.experiment_id])}
    assert statuses == {"FAILED"}, statuses

    resumed = _harness(*ARGS, "--cache-dir", str(cache), "--tracking-uri", store, "--resume", "--json")
    out, err = resumed.communicate(timeout=180)
    assert resumed.returncode == 0, err
    res = json.loads(out)
    assert res["cached"] >= done - 4 and res["cached"] + res["computed"] == 78  # grid images may be redone

    clean = _harness(*ARGS, "--cache-dir", str(tmp_path / "clean"), "--no-mlflow", "--json")
    out2, err2 = clean.communicate(timeout=180)
    assert clean.returncode == 0, err2
    ref = json.loads(out2)
    assert len(res["per_image"]) == len(ref["per_image"]) == 78
    key = lambda r: (r["method"], r["id"])  # noqa: E731
    for a, b in zip(sorted(res["per_image"], key=key), sorted(ref["per_image"], key=key)):
        assert key(a) == key(b)
        for m in ("fmse", "mse", "fpsnr", "ssim", "fde2000"):
            assert a[m] == pytest.approx(b[m], rel=1e-12)
    assert res["methods"]["reinhard"]["mean"] == pytest.approx(ref["methods"]["reinhard"]["mean"], rel=1e-12)
