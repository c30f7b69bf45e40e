"""Where the MLflow store is, experiments in it, and what every run is tagged with.

Default store: a sqlite database `mlflow.db` in the working directory, artifacts beside it in
`mlartifacts/` (MLflow 3 refuses the old ./mlruns file store, and with sqlite it would otherwise put
artifacts in ./mlruns relative to wherever the process runs). `--tracking-uri` or `MLFLOW_TRACKING_URI`
override it, e.g. an HTTP `mlflow server` shared by a cluster (README "MLflow for a lab").

Every MLflow call of the harness goes through `client()`, which opens a sqlite store for the first time in a
process under a file lock (`_open_sqlite_store`): several commands started at once on a new store would
otherwise each create and migrate it.
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
from typing import Iterable
import sys
from pathlib import Path

from harness.errors import HarnessError


def resolve_tracking_uri(uri: str | None = None) -> str:
    """The explicit URI, else $MLFLOW_TRACKING_URI, else sqlite:///<cwd>/mlflow.db."""
    if uri:
        return uri
    env = os.environ.get("MLFLOW_TRACKING_URI")
    if env:
        return env
    return f"sqlite:///{Path.cwd() / 'mlflow.db'}"


def local_artifact_root(tracking_uri: str) -> str | None:
    """For a local sqlite store, artifacts go in mlartifacts/ beside the database file."""
    if tracking_uri.startswith("sqlite:///"):
        db = Path(tracking_uri[len("sqlite:///"):])
        return (db.parent / "mlartifacts").resolve().as_uri()
    return None  # a server decides (its --default-artifact-root / --artifacts-destination)


def client(tracking_uri: str | None = None):
    """An MlflowClient on the resolved store (mlflow is imported here, not at start-up)."""
    from mlflow.tracking import MlflowClient

    uri = resolve_tracking_uri(tracking_uri)
    _open_sqlite_store(uri)
    return MlflowClient(tracking_uri=uri)


_OPENED: set[str] = set()  # sqlite stores this process has opened (MLflow keeps one store object per URI)
_OPENING = threading.Lock()


def _open_sqlite_store(uri: str) -> None:
    """Open a sqlite store for the first time in this process under an exclusive lock on its path. MLflow's
    SqlAlchemyStore checks whether the tables exist and, if not, creates them and runs every migration, with
    no lock of its own: two processes opening a new database at once both create, and all but one fail
    ("table experiments already exists", "duplicate column name: step"; tests/test_tracking_server.py). Under
    the lock one process creates and migrates; the others wait, then find the tables. The lock file is in the
    temporary folder, keyed by the database's path (sqlite is a one-machine store: a shared one is a server)."""
    if not uri.startswith("sqlite:///") or uri in _OPENED or ":memory:" in uri:
        return
    import fcntl
    import hashlib
    import tempfile

    from mlflow.tracking import MlflowClient

    key = hashlib.sha256(str(Path(uri[len("sqlite:///"):]).resolve()).encode()).hexdigest()[:16]
    lock = Path(tempfile.gettempdir()) / f"harness-mlflow-store-{key}.lock"
    with _OPENING, open(lock, "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)  # released when the file is closed
        if uri not in _OPENED:
            MlflowClient(tracking_uri=uri).search_experiments(max_results=1)  # creates + migrates if new
            _OPENED.add(uri)


def get_or_create_experiment(name: str, tracking_uri: str | None = None) -> str:
    """Experiment id for `name`, created with an explicit artifact location for local stores (a deleted one
    is restored)."""
    uri = resolve_tracking_uri(tracking_uri)
    c = client(uri)
    exp = c.get_experiment_by_name(name)
    if exp is not None:
        if exp.lifecycle_stage == "deleted":
            c.restore_experiment(exp.experiment_id)
        return exp.experiment_id
    root = local_artifact_root(uri)
    return c.create_experiment(name, artifact_location=f"{root}/{name}" if root else None)


def git_sha() -> str:
    root = Path(__file__).resolve().parents[2]
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=5)
        return out.stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def harness_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("harness")
    except PackageNotFoundError:
        return "unknown"


def metric_key(name: str) -> str:
    """A benchmark metric name as logged: "fmse/fg_0-5%" → "fmse/fg_0_5" (MLflow allows [A-Za-z0-9_-. /])."""
    return name.replace("%", "").replace("-", "_")


def ci_metrics(key: str, mean: float, lo: float, hi: float) -> list[tuple[str, float]]:
    """A mean and its 95% CI as metrics: `key`, `key_ci95_lo`, `key_ci95_hi` (keys made MLflow-safe)."""
    return [(metric_key(f"{key}{suffix}"), float(v)) for suffix, v in (("", mean), ("_ci95_lo", lo), ("_ci95_hi", hi))]


def log_metrics(c, run_id: str, values: Iterable[tuple[str, float]], step: int = 0) -> None:
    """Metrics (key, value) in batches of MLflow's limit (1000 a call) instead of one call each."""
    from mlflow.entities import Metric

    now = int(time.time() * 1000)
    metrics = [Metric(k, float(v), now, step) for k, v in values]
    for i in range(0, len(metrics), 1000):
        c.log_batch(run_id, metrics=metrics[i:i + 1000])


def safe_key(name: str) -> str:
    """Free text (a method name from a user study) made into a valid MLflow key: other characters → "_"."""
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)


def mark_failed(c, run_ids: list[str], err: BaseException, interrupted: str = "FAILED") -> None:
    """Every run of `run_ids` still RUNNING becomes FAILED (or `interrupted` after Ctrl-C), with the error as
    a tag. Never raises: it runs while another error is on its way up."""
    status = interrupted if isinstance(err, KeyboardInterrupt) else "FAILED"
    for rid in run_ids:
        try:
            if c.get_run(rid).info.status == "RUNNING":
                c.set_tag(rid, "error", f"{type(err).__name__}: {err}"[:5000])
                c.set_terminated(rid, status)
        except Exception:  # noqa: BLE001 — never mask the original error while cleaning up
            pass


def log_file(c, run_id: str, path: str | os.PathLike | None) -> None:
    """Attach a log file (Ray's and MLflow's own messages) to a run, if it has anything in it."""
    if path and Path(path).is_file() and Path(path).stat().st_size:
        c.log_artifact(run_id, str(path), "logs")


def require_store(uri: str, what: str) -> None:
    """A local sqlite store must exist (MLflow would silently create an empty one); `what` names the flag."""
    if uri.startswith("sqlite:///") and not Path(uri[len("sqlite:///"):]).is_file():
        raise HarnessError(f"{what}: no MLflow store at {uri[len('sqlite:///'):]} (pass --tracking-uri, or run "
                           "from the directory where the runs were made)")


def fail_runs(c, parent: str | None, run_ids: list[str], err: BaseException, log_path=None,
              interrupted: str = "FAILED") -> None:
    """A command's runs after an error: the log attached to the parent, then `mark_failed`. Never raises."""
    if parent:
        try:
            log_file(c, parent, log_path)
        except Exception:  # noqa: BLE001 — never mask the original error
            pass
    mark_failed(c, run_ids, err, interrupted=interrupted)
