"""The harness as the tests run it, each way written once: its CLI in this process or in a subprocess of its own,
a local Ray, the MLflow UI (`harness ui`), and a wait on a condition with a deadline (never a fixed sleep).
tests/conftest.py wraps what a whole module shares in fixtures (`ray_local`)."""

from __future__ import annotations

import contextlib
import io
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Callable, Iterator, Mapping, Sequence

import pytest

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT = 300  # seconds a CLI subprocess may take before the test fails


# --- in this process -------------------------------------------------------------------------------------------
def cli(*argv: str) -> str:
    """stdout of `harness ARGV`, run in this process; it must exit 0."""
    from harness.cli import main

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(list(argv))
    assert code == 0, (argv, out.getvalue())
    return out.getvalue()


def cli_json(*argv: str) -> dict:
    """The JSON document `harness ARGV` printed, run in this process."""
    return json.loads(cli(*argv))


def one_line_error(capsys, argv: Sequence[str], *needles: str) -> str:
    """`harness ARGV`, run in this process, refused as a user error: exit 2 and one line on stderr, no
    traceback, holding every needle; that line."""
    from harness.cli import main

    code = main(list(argv))
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and "Traceback" not in err, err
    for n in needles:
        assert n in err, err
    return err


# --- in a subprocess -------------------------------------------------------------------------------------------
def harness_env(env: Mapping[str, str] | None = None, path: Sequence[Path | str] = ()) -> dict[str, str]:
    """This process's environment (with conftest's Ray loopback setting) and `env`, with `path`, then this
    checkout, first on PYTHONPATH: the subprocess imports this checkout's code (or the copies in `path`)
    whatever its working directory."""
    paths = [str(p) for p in path] + [str(ROOT)] + [p for p in [os.environ.get("PYTHONPATH")] if p]
    return {**os.environ, **(env or {}), "PYTHONPATH": os.pathsep.join(paths)}


def run_harness(*argv: str, env: Mapping[str, str] | None = None, path: Sequence[Path | str] = (),
                cwd: Path | str = ROOT, timeout: float = TIMEOUT) -> subprocess.CompletedProcess:
    """`python -m harness.cli ARGV` to its end: return code, stdout and stderr (text)."""
    return subprocess.run([sys.executable, "-m", "harness.cli", *argv], env=harness_env(env, path), cwd=cwd,
                          capture_output=True, text=True, timeout=timeout)


def harness_json(*argv: str, **kwargs) -> dict:
    """The JSON document `python -m harness.cli ARGV` printed; it must exit 0. Options as `run_harness`."""
    proc = run_harness(*argv, **kwargs)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def start_harness(*argv: str, env: Mapping[str, str] | None = None, cwd: Path | str = ROOT,
                  stdout=subprocess.PIPE, stderr=subprocess.PIPE) -> subprocess.Popen:
    """`python -m harness.cli ARGV` in the background, in a process group of its own (see `stop_process`)."""
    return subprocess.Popen([sys.executable, "-m", "harness.cli", *argv], env=harness_env(env), cwd=cwd,
                            stdout=stdout, stderr=stderr, text=True, start_new_session=True)


def stop_process(proc: subprocess.Popen, sig: int = signal.SIGINT, timeout: float = 30) -> int:
    """`sig` to the process's whole group (the servers it started too), SIGKILL if it outlives `timeout` s;
    its return code."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, sig)
    try:
        return proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        return proc.wait()


def wait_until(condition: Callable[[], object], seconds: float, what: str,
               proc: subprocess.Popen | None = None, detail: Callable[[], object] = lambda: "") -> None:
    """Poll `condition` until it holds; fail the test after `seconds`, or as soon as `proc` has exited."""
    deadline = time.monotonic() + seconds
    while not condition():
        if proc is not None and proc.poll() is not None:
            pytest.fail(f"{what}: the process exited first (code {proc.returncode}) {detail()}")
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not within {seconds:g} s {detail()}")
        time.sleep(0.2)


@contextlib.contextmanager
def mlflow_ui(uri: str, seconds: float = 180) -> Iterator[list[str]]:
    """`harness ui --port 0` over the store `uri`, stopped on exit. Yields the lines it printed: "MLflow UI:
    <link>" and one link line per further experiment — all of them, waited for: how many the store holds is
    read from it here."""
    from mlflow.tracking import MlflowClient

    shown = [e for e in MlflowClient(uri).search_experiments() if (e.experiment_id, e.name) != ("0", "Default")]
    proc = start_harness("ui", "--tracking-uri", uri, "--port", "0", stderr=subprocess.DEVNULL)
    lines: list[str] = []  # read by a thread: a pipe read never blocks the deadline
    threading.Thread(target=lambda: lines.extend(iter(proc.stdout.readline, "")), daemon=True).start()
    try:
        wait_until(lambda: sum("http://" in line for line in lines) >= max(1, len(shown)), seconds,
                   "harness ui printing its links", proc, lambda: lines)
        yield list(lines)
    finally:
        stop_process(proc)


# --- Ray -------------------------------------------------------------------------------------------------------
@contextlib.contextmanager
def local_ray(num_cpus: int = 2, env: Mapping[str, str] | None = None) -> Iterator[None]:
    """One Ray on this machine, on loopback, with `num_cpus` CPUs, shut down on exit. `env` is set before it
    starts (every worker inherits it) and taken back after."""
    import ray

    with pytest.MonkeyPatch.context() as mp:
        for k, v in (env or {}).items():
            mp.setenv(k, v)
        ray.init(address="local", num_cpus=num_cpus, include_dashboard=False, _node_ip_address="127.0.0.1",
                 log_to_driver=False)
        try:
            yield
        finally:
            ray.shutdown()


# --- MLflow ----------------------------------------------------------------------------------------------------
def free_port() -> int:
    """A port free on 127.0.0.1 now (the caller retries if another process takes it first)."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def mlflow_server(root: Path, seconds: float = 180) -> Iterator[str]:
    """A real `mlflow server` on 127.0.0.1 with a store of its own — sqlite backend `root`/server.db, artifacts
    proxied by the server into `root`/artifacts (--serve-artifacts) — as a lab runs it; yields its URL once
    /health answers, stopped on exit. Its output goes to `root`/server.log."""
    import urllib.request

    def healthy(url: str) -> bool:
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2) as r:
                return r.read() == b"OK"
        except OSError:
            return False

    env = {**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}  # no job runner: a faster start
    for _ in range(3):  # a port taken between free_port() and the bind: the server exits, try another
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        log = open(root / "server.log", "a")
        proc = subprocess.Popen([sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1", "--port", str(port),
                                 "--workers", "1", "--backend-store-uri", f"sqlite:///{root / 'server.db'}",
                                 "--artifacts-destination", str(root / "artifacts"), "--serve-artifacts"],
                                env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + seconds
        while proc.poll() is None and not healthy(url) and time.monotonic() < deadline:
            time.sleep(0.2)
        if proc.poll() is None and healthy(url):
            break
        stop_process(proc, signal.SIGTERM)
        log.close()
    else:
        pytest.fail(f"mlflow server did not start: {(root / 'server.log').read_text()[-2000:]}")
    try:
        yield url
    finally:
        stop_process(proc, signal.SIGTERM)
        log.close()
