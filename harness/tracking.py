"""Everything MLflow: where the store is, experiments, runs.

Default store: a sqlite database `mlflow.db` in the working directory, artifacts beside it in
`mlartifacts/` (MLflow 3 refuses the old ./mlruns file store, and with sqlite it would otherwise put
artifacts in ./mlruns relative to wherever the process runs). `--tracking-uri` or `MLFLOW_TRACKING_URI`
override it, e.g. an HTTP `mlflow server` shared by a cluster.
"""

from __future__ import annotations

import os
from pathlib import Path


def resolve_tracking_uri(uri: str | None = None) -> str:
    """The explicit URI, else $MLFLOW_TRACKING_URI, else sqlite:///<cwd>/mlflow.db."""
    if uri:
        return uri
    env = os.environ.get("MLFLOW_TRACKING_URI")
    if env:
        return env
    return f"sqlite:///{Path.cwd() / 'mlflow.db'}"


def _local_artifact_root(tracking_uri: str) -> str | None:
    """For a local sqlite store, artifacts go in mlartifacts/ beside the database file."""
    if tracking_uri.startswith("sqlite:///"):
        db = Path(tracking_uri[len("sqlite:///"):])
        return (db.parent / "mlartifacts").resolve().as_uri()
    return None  # a server decides (its --default-artifact-root / --artifacts-destination)


def setup(tracking_uri: str | None = None) -> str:
    """Point mlflow at the store and return the URI used. Imports mlflow lazily (slow import)."""
    import mlflow

    uri = resolve_tracking_uri(tracking_uri)
    mlflow.set_tracking_uri(uri)
    return uri


def get_or_create_experiment(name: str, tracking_uri: str | None = None) -> str:
    """Experiment id for `name`, created with an explicit artifact location for local stores."""
    import mlflow
    from mlflow.tracking import MlflowClient

    uri = setup(tracking_uri)
    client = MlflowClient(tracking_uri=uri)
    exp = client.get_experiment_by_name(name)
    if exp is not None:
        if exp.lifecycle_stage == "deleted":
            client.restore_experiment(exp.experiment_id)
        mlflow.set_experiment(experiment_id=exp.experiment_id)
        return exp.experiment_id
    root = _local_artifact_root(uri)
    location = f"{root}/{name}" if root else None
    exp_id = client.create_experiment(name, artifact_location=location)
    mlflow.set_experiment(experiment_id=exp_id)
    return exp_id
