"""Where the MLflow store is, experiments in it, and what every run is tagged with.

Default store: a sqlite database `mlflow.db` in the working directory, artifacts beside it in
`mlartifacts/` (MLflow 3 refuses the old ./mlruns file store, and with sqlite it would otherwise put
artifacts in ./mlruns relative to wherever the process runs). `--tracking-uri` or `MLFLOW_TRACKING_URI`
override it, e.g. an HTTP `mlflow server` shared by a cluster.
"""

from __future__ import annotations

import os
import subprocess
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

    return MlflowClient(tracking_uri=resolve_tracking_uri(tracking_uri))


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


def ui_server_command(uri: str, port: int) -> list[str]:
    """`mlflow server` over the store, on 127.0.0.1, one worker (≈9 s start, ≈0.5 GB; see the notes)."""
    cmd = [sys.executable, "-m", "mlflow", "server", "--backend-store-uri", uri, "--host", "127.0.0.1",
           "--port", str(port), "--workers", "1"]
    root = local_artifact_root(uri)
    if root:
        cmd += ["--default-artifact-root", root]
    return cmd


UI_PORT = 5000  # `harness ui`'s default port: where the links printed for a local store point
# MLflow 3's UI opens an experiment on its GenAI "Traces" pages unless the link says otherwise; the experiment
# kind tag does not decide it, this URL parameter does (it does not persist: every link carries it).
ML_VIEW = "workflowType=machine_learning"


def require_store(uri: str, what: str) -> None:
    """A local sqlite store must exist (MLflow would silently create an empty one); `what` names the flag."""
    if uri.startswith("sqlite:///") and not Path(uri[len("sqlite:///"):]).is_file():
        raise HarnessError(f"{what}: no MLflow store at {uri[len('sqlite:///'):]} (pass --tracking-uri, or run "
                           "from the directory where the runs were made)")


def ui_base(uri: str, port: int = UI_PORT) -> str | None:
    """Where the MLflow UI over this store answers: the server itself, or `harness ui` on 127.0.0.1."""
    if uri.startswith(("http://", "https://")):
        return uri.rstrip("/")
    if uri.startswith(("sqlite:", "file:", "/")) or "://" not in uri:
        return f"http://127.0.0.1:{port}"
    return None  # e.g. databricks: its own workspace URLs


def ui_link(uri: str, experiment_id: str, run_id: str | None = None, artifact: str | None = None,
            port: int = UI_PORT) -> str | None:
    """A UI link that opens on the runs table (model-training view): the experiment's runs, a run, or one of
    its artifacts (an HTML artifact renders in the page)."""
    base = ui_base(uri, port)
    if base is None:
        return None
    path = f"#/experiments/{experiment_id}/runs"
    if run_id:
        path += f"/{run_id}" + (f"/artifacts/{artifact}" if artifact else "")
    return f"{base}/{path}?{ML_VIEW}"


def run_link(uri: str, run_id: str) -> str | None:
    """`ui_link` of a run known by its id alone."""
    return ui_link(uri, client(uri).get_run(run_id).info.experiment_id, run_id)


def served_by(uri: str) -> str:
    """How a link from `ui_link` is served: a note for a local store, nothing for a server."""
    return "" if uri.startswith(("http://", "https://")) else " (start `harness ui` to open it)"


def local_artifact(c, run_id: str, path: str) -> str | None:
    """The file behind a run's artifact, for a store whose artifacts are local files (None otherwise)."""
    from urllib.parse import unquote, urlparse

    root = c.get_run(run_id).info.artifact_uri
    if root.startswith("file:"):
        return str(Path(unquote(urlparse(root).path)) / path)
    if root.startswith("/"):
        return str(Path(root) / path)
    return None


def attach_report(c, run_id: str, note=None) -> str | None:
    """Build the run's report page (reports/) and log it under `report/`; its artifact path, or None when it
    could not be built (said through `note`, else on stderr): a broken figure is not worth losing the run's
    results for."""
    try:
        from reports import attach_run_report

        return attach_run_report(c, run_id)
    except Exception as err:  # noqa: BLE001 — the run itself is complete; say why the report is missing
        (note or (lambda line: print(line, file=sys.stderr)))(f"report: not built ({type(err).__name__}: {err})")
        return None


def finish_parent(c, uri: str, exp_id: str, parent: str, log_path=None, note=None) -> tuple[str | None, str | None]:
    """A command's parent run, done: its log attached, its report built and logged, status FINISHED. Returns
    its UI link and its report page (a local file, else the page's UI link; None when not built)."""
    log_file(c, parent, log_path)
    url, report = ui_link(uri, exp_id, parent), None
    page = attach_report(c, parent, note)
    if page:
        report = local_artifact(c, parent, page) or ui_link(uri, exp_id, parent, page)
    c.set_terminated(parent, "FINISHED")
    return url, report


def fail_runs(c, parent: str | None, run_ids: list[str], err: BaseException, log_path=None,
              interrupted: str = "FAILED") -> None:
    """A command's runs after an error: the log attached to the parent, then `mark_failed`. Never raises."""
    if parent:
        try:
            log_file(c, parent, log_path)
        except Exception:  # noqa: BLE001 — never mask the original error
            pass
    mark_failed(c, run_ids, err, interrupted=interrupted)
