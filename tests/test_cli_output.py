"""What a user or a script sees: exactly one JSON document on stdout whatever Ray does, library chatter in a
log file (or on stderr with -v), and bad arguments refused at once with one line."""

import json
import time

import pytest

from harness.engine.worker import FAULT_DIR_ENV
from tests.processes import run_harness

pytestmark = pytest.mark.slow


@pytest.fixture
def faults(tmp_path):
    """A fault folder armed for one worker death: the first worker that finds `arm` kills itself and leaves
    `fired` (the engine's test hook, passed on through FAULT_DIR_ENV)."""
    path = tmp_path / "faults"
    path.mkdir()
    (path / "arm").write_text("")
    return path


def test_json_stays_clean_when_a_worker_is_killed(tmp_path, faults):
    """An actor process dies mid-run (Ray prints "(raylet) Task ... failed" and retries it): stdout is still
    one JSON document, Ray's lines are in the log, stderr has nothing from Ray."""
    cache = tmp_path / "cache"
    proc = run_harness("run-benchmark", "--suite", "sample", "--limit", "3", "--methods", "composite,iph",
                       "--no-mlflow", "--json", "--num-cpus", "2", "--cache-dir", str(cache),
                       env={FAULT_DIR_ENV: str(faults)})
    assert proc.returncode == 0, proc.stderr
    assert (faults / "fired").is_file(), "the fault was never injected"
    doc = json.loads(proc.stdout)  # the whole of stdout parses as one document
    assert proc.stdout.count("\n") == 1 and doc["n"] == 3 and len(doc["per_image"]) == 6
    logs = list((cache / "logs").glob("run-benchmark-*.log"))
    assert len(logs) == 1
    text = logs[0].read_text()
    assert "raylet" in text and "retried" in text
    assert "raylet" not in proc.stderr and "Token authentication" not in proc.stderr


def test_verbose_sends_library_messages_to_stderr_not_stdout(tmp_path, faults):
    cache = tmp_path / "cache"
    proc = run_harness("run-benchmark", "--suite", "sample", "--limit", "2", "--methods", "reinhard", "--no-mlflow",
                       "--json", "--num-cpus", "1", "--no-progress", "--cache-dir", str(cache), "-v",
                       env={FAULT_DIR_ENV: str(faults)})
    assert proc.returncode == 0, proc.stderr
    assert (faults / "fired").is_file()
    json.loads(proc.stdout)
    assert "raylet" in proc.stderr and "raylet" not in proc.stdout  # Ray's own lines, shown because of -v
    assert not (cache / "logs").exists() or not list((cache / "logs").iterdir())


def test_an_unreachable_ray_address_fails_within_seconds(tmp_path):
    t0 = time.perf_counter()
    proc = run_harness("run-benchmark", "--suite", "sample", "--limit", "1", "--methods", "composite",
                       "--no-mlflow", "--ray-address", "127.0.0.1:1", "--cache-dir", str(tmp_path), timeout=60)
    elapsed = time.perf_counter() - t0
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.count("\n") == 1 and "127.0.0.1:1" in proc.stderr and "Traceback" not in proc.stderr
    assert elapsed < 20, elapsed


@pytest.mark.parametrize("limit", ["0", "-3", "1.5", "many", "nan"])
def test_a_limit_that_is_not_a_count_or_a_fraction_is_refused(limit, capsys):
    from harness.cli import main

    assert main(["run-benchmark", "--suite", "sample", "--no-mlflow", f"--limit={limit}"]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1 and "--limit" in err and "Traceback" not in err
