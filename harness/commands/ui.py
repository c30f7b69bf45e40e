"""Serve the MLflow UI over the harness's results store, on 127.0.0.1 only.

examples:
  harness ui                       # the sqlite store in this directory (./mlflow.db)
  harness ui --port 5050 --tracking-uri sqlite:////data/runs/mlflow.db
"""

from __future__ import annotations

import argparse


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--tracking-uri", help="MLflow store (default: $MLFLOW_TRACKING_URI, else sqlite ./mlflow.db)")
    p.add_argument("--port", type=int, default=5000, help="port on 127.0.0.1 (default 5000)")


def server_command(uri: str, port: int) -> list[str]:
    import sys

    from harness.tracking import _local_artifact_root

    cmd = [sys.executable, "-m", "mlflow", "server", "--backend-store-uri", uri, "--host", "127.0.0.1",
           "--port", str(port), "--workers", "1"]
    root = _local_artifact_root(uri)
    if root:
        cmd += ["--default-artifact-root", root]
    return cmd


def run(args: argparse.Namespace) -> int:
    import os
    import subprocess
    import sys
    from pathlib import Path

    from harness.errors import HarnessError
    from harness.tracking import resolve_tracking_uri

    uri = resolve_tracking_uri(args.tracking_uri)
    if uri.startswith(("http://", "https://")):
        print(f"the store is already a server: open {uri}")
        return 0
    if uri.startswith("sqlite:///") and not Path(uri[len("sqlite:///"):]).is_file():
        raise HarnessError(f"{uri[len('sqlite:///'):]}: no MLflow store here yet (run `harness run-benchmark` "
                           "first, or pass --tracking-uri)")
    env = dict(os.environ, MLFLOW_SERVER_ENABLE_JOB_EXECUTION="false")  # ~9 s start, ~0.5 GB (see notes)
    proc = subprocess.Popen(server_command(uri, args.port), env=env)
    print(f"MLflow UI: http://127.0.0.1:{args.port}  (store {uri}) — Ctrl-C to stop", flush=True)
    try:
        return proc.wait()
    except KeyboardInterrupt:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
        print("stopped", file=sys.stderr)
        return 0
