"""Links into the MLflow UI that open where a user wants to look: the runs table (MLflow 3 opens an experiment
on its GenAI "Traces" pages unless the link says otherwise), a run, or one of its artifacts (an HTML artifact
renders in the page). For a local store they point at `harness ui` on 127.0.0.1; for a server, at the server.
"""

from __future__ import annotations

from pathlib import Path

from harness.config.reporting import UI_PORT
from harness.tracking.store import client

# The model-training view: the experiment kind tag does not decide it, this URL parameter does (it does not
# persist: every link carries it).
ML_VIEW = "workflowType=machine_learning"


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
