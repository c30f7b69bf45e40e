"""Serve the MLflow UI over the harness's results store, on 127.0.0.1 only. The links printed open on the runs
tables (MLflow's model-training view; without the link's parameter MLflow 3 opens an experiment on its GenAI
"Traces" page): the most recently changed experiment first, then the others.

The server's own output (uvicorn's access lines, MLflow's warnings and advice) goes to a log file under the
cache directory, like every command's library chatter; -v shows it on stderr instead.

examples:
  harness ui                       # the sqlite store in this directory (./mlflow.db), port 5000
  harness ui --port 0              # any free port (the URL is printed once the UI answers)
  harness ui --port 5050 --tracking-uri sqlite:////data/runs/mlflow.db
"""

from __future__ import annotations

import argparse

from harness.config import UIConfig
from harness.options import add_arguments as add_config_arguments, from_args

PORT_TRIES = 5  # with --port 0: another free port when the chosen one was taken before the server bound it
READY_SECONDS = 120


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_config_arguments(p, UIConfig)


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _server_command(uri: str, port: int) -> list[str]:
    """`mlflow server` over the store, on 127.0.0.1, one worker (≈9 s start, ≈0.5 GB; see the notes)."""
    import sys

    from harness.tracking.store import local_artifact_root

    cmd = [sys.executable, "-m", "mlflow", "server", "--backend-store-uri", uri, "--host", "127.0.0.1",
           "--port", str(port), "--workers", "1"]
    root = local_artifact_root(uri)
    if root:
        cmd += ["--default-artifact-root", root]
    return cmd


def _start(uri: str, port: int):
    """Start `mlflow server` on `port` and wait until it answers; (process, True) when it serves, (process,
    False) when it exited first (e.g. the port was taken)."""
    import os
    import subprocess
    import time
    import urllib.request

    env = dict(os.environ, MLFLOW_SERVER_ENABLE_JOB_EXECUTION="false")  # ~9 s start, ~0.5 GB (see notes)
    # The server's own output goes to fd 2 — the command's log file (harness/console.py: `captured`), or stderr
    # with -v: stdout carries only the URL lines (scripts read them).
    proc = subprocess.Popen(_server_command(uri, port), env=env, start_new_session=True, stdout=2)
    deadline = time.time() + READY_SECONDS
    while time.time() < deadline:
        if proc.poll() is not None:
            return proc, False
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as r:
                if r.read() == b"OK":
                    return proc, True
        except OSError:
            time.sleep(0.3)
    return proc, False


def _experiments(base: str) -> list[tuple[str, str]]:
    """(id, name) of the server's experiments, the most recently changed first; MLflow's empty "Default"
    experiment left out. Asked over the server's REST API: `harness ui` itself never imports mlflow."""
    import json
    import urllib.request

    body = json.dumps({"max_results": 1000, "order_by": ["last_update_time DESC"]}).encode()
    req = urllib.request.Request(f"{base}/api/2.0/mlflow/experiments/search", data=body,
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            found = json.loads(r.read()).get("experiments", [])
    except (OSError, ValueError):
        return []  # the links are a convenience; the UI itself is up
    out = [(e["experiment_id"], e["name"]) for e in found]
    return [e for e in out if e != ("0", "Default")] or out


def _stop(proc) -> None:
    import os
    import signal
    import subprocess

    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=15)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def run(args: argparse.Namespace) -> int:
    import subprocess
    from pathlib import Path

    from harness.console import current
    from harness.errors import HarnessError
    from harness.tracking.links import ML_VIEW, ui_link
    from harness.tracking.store import resolve_tracking_uri

    cfg = from_args(UIConfig, args)
    console = current()
    out = console.out
    uri = resolve_tracking_uri(cfg.tracking_uri)
    if uri.startswith(("http://", "https://")):
        out.write(f"the store is already a server: open {uri}\n")
        return 0
    if uri.startswith("sqlite:///") and not Path(uri[len("sqlite:///"):]).is_file():
        raise HarnessError(f"{uri[len('sqlite:///'):]}: no MLflow store here yet (run `harness run-benchmark` "
                           "first, or pass --tracking-uri)")
    for _ in range(PORT_TRIES if cfg.port == 0 else 1):
        port = cfg.port or _free_port()
        proc, ready = _start(uri, port)
        if ready:
            break
        _stop(proc)
    else:
        where = f"; its output: {console.log_path}" if console.log_path else ""
        raise HarnessError(f"the MLflow UI did not start on 127.0.0.1:{port} (is the port in use?{where})")
    base = f"http://127.0.0.1:{port}"
    experiments = _experiments(base)
    if experiments:  # the latest experiment's runs table, then the others'
        first, *rest = experiments
        out.write(f"MLflow UI: {ui_link(base, first[0])}  (experiment '{first[1]}', store {uri}) — Ctrl-C to "
                  "stop\n")
        for exp_id, name in rest:
            out.write(f"  experiment '{name}': {ui_link(base, exp_id)}\n")
    else:
        out.write(f"MLflow UI: {base}/#/experiments?{ML_VIEW}  (store {uri}) — Ctrl-C to stop\n")
    out.flush()
    try:
        # waits in short slices, so the main thread is back in Python (where signal handlers run) twice a second:
        # an interrupted ui once sat in a single blocking wait until it was killed
        while True:
            try:
                return proc.wait(timeout=0.5)
            except subprocess.TimeoutExpired:
                continue
    except KeyboardInterrupt:
        _stop(proc)
        console.note("stopped")
        return 0
