"""Training in MLflow: one run per `harness train` (a resumed run reopens its run, no duplicates), the loss
terms logged by rank 0, the final checkpoint as artifacts, registered in the model registry (registered
model = the method's name, alias `stage<K>`); and `models:/NAME@ALIAS` turned back into a local file."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from pathlib import Path

from harness.errors import InputError
from harness.tracking.store import client, fail_runs, get_or_create_experiment, git_sha, resolve_tracking_uri

EXPERIMENT = "harness-train"


def start_training_run(cfg, saved: dict, init: str | None, data_desc: dict) -> tuple[str, str]:
    """(store URI, run id): a new run with the config as params, or the interrupted run reopened."""
    uri = resolve_tracking_uri(cfg.tracking_uri)
    c = client(uri)
    run_id = saved.get("mlflow_run_id")
    if cfg.resume and run_id:
        c.update_run(run_id, status="RUNNING")  # the same run continues (no duplicate run on resume)
        c.set_tag(run_id, "resumed", "true")
        c.set_tag(run_id, "resumed_to_steps", str(cfg.steps))  # params are immutable; --steps may grow
        return uri, run_id
    exp_id = get_or_create_experiment(EXPERIMENT, uri)
    tags = {"harness.command": "train", "method": cfg.method, "stage": str(cfg.stage), "size": cfg.size,
            "git_sha": git_sha(), "data": data_desc.get("kind", ""),
            "mlflow.note.content": f"Training {cfg.method} (stage {cfg.stage}, size {cfg.size}) for {cfg.steps} steps on "
                                   f"{data_desc.get('kind', 'its data')}; the loss terms per step, the final "
                                   "checkpoint and its registered model version."}
    run_id = c.create_run(exp_id, run_name=f"{cfg.method} stage{cfg.stage} {time.strftime('%Y-%m-%d %H:%M')}",
                          tags=tags).info.run_id
    params = {k: ("" if v is None else json.dumps(v) if isinstance(v, dict) else str(v))[:500]
              for k, v in cfg.to_dict().items()}
    params.update({"learning_rate": str(cfg.learning_rate), "init_resolved": str(init or ""),
                   "data": json.dumps(data_desc)[:500]})
    for k, v in params.items():
        c.log_param(run_id, k, v)
    return uri, run_id


class StepLogger:
    """Rank 0's loss terms, one batch per logged step."""

    def __init__(self, uri: str, run_id: str) -> None:
        self.client, self.run_id = client(uri), run_id

    def log(self, terms: dict[str, float], step: int) -> None:
        from mlflow.entities import Metric

        ts = int(time.time() * 1000)
        self.client.log_batch(self.run_id, metrics=[Metric(f"train/{k}", v, ts, step) for k, v in terms.items()])


def finish_training_run(uri: str, run_id: str, final: Path, steps: int, method: str, stage: int,
                        log_paths: list[Path]) -> str:
    """Log the final checkpoint (one folder per final step, so a resumed run never overwrites what an
    earlier version registered), register it, mark the run FINISHED; returns the model version."""
    c = client(uri)
    where = f"checkpoint/step_{steps}"
    c.log_artifact(run_id, str(final), where)
    c.log_artifact(run_id, str(final.with_suffix(".json")), where)
    for path in log_paths:
        if path.is_file():
            c.log_artifact(run_id, str(path))
    version = register_checkpoint(c, run_id, method, stage, where)
    c.set_terminated(run_id, "FINISHED")
    return version


def fail_training_run(uri: str, run_id: str, err: BaseException, log_path=None) -> None:
    """The training run after an error: its log attached, FAILED (KILLED after Ctrl-C: it resumes)."""
    fail_runs(client(uri), run_id, [run_id], err, log_path, interrupted="KILLED")


def register_checkpoint(c, run_id: str, method: str, stage: int, where: str) -> str:
    """Register the run's checkpoint artifacts as a new version of model `method`, alias `stage<K>`."""
    from mlflow.exceptions import MlflowException

    try:
        c.get_registered_model(method)
    except MlflowException:
        c.create_registered_model(method, description=f"harness {method} checkpoints (safetensors + JSON)")
    mv = c.create_model_version(method, source=f"runs:/{run_id}/{where}", run_id=run_id, tags={"stage": str(stage)})
    c.set_registered_model_alias(method, f"stage{stage}", mv.version)
    return str(mv.version)


def download_registered_checkpoint(ref: str, tracking_uri: str | None = None) -> Path:
    """`models:/NAME@ALIAS` or `models:/NAME/VERSION` → a local checkpoint (.safetensors) downloaded from the
    registry (cached under $HARNESS_CACHE or ./.harness-cache/models, keyed by store, run and source)."""
    from mlflow.exceptions import MlflowException

    body = ref[len("models:/"):] if ref.startswith("models:/") else ""
    uri = resolve_tracking_uri(tracking_uri)
    c = client(uri)
    try:
        if "@" in body:
            name, alias = body.split("@", 1)
            mv = c.get_model_version_by_alias(name, alias)
        elif "/" in body:
            name, version = body.split("/", 1)
            mv = c.get_model_version(name, version)
        else:
            raise InputError(ref, "expected models:/NAME@ALIAS or models:/NAME/VERSION")
    except MlflowException as err:
        raise InputError(ref, f"not in the model registry at {uri} ({err.message.splitlines()[0]})") from None
    key = hashlib.sha256(f"{uri}|{mv.run_id}|{mv.source}".encode()).hexdigest()[:12]
    cache = Path(os.environ.get("HARNESS_CACHE", ".harness-cache")).resolve() / "models" / name / f"v{mv.version}-{key}"
    found = sorted(cache.glob("**/*.safetensors")) if cache.is_dir() else []
    if not found:
        import mlflow.artifacts

        tmp = cache.with_name(cache.name + f".tmp{os.getpid()}")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        mlflow.artifacts.download_artifacts(artifact_uri=c.get_model_version_download_uri(name, mv.version),
                                            dst_path=str(tmp), tracking_uri=uri)
        shutil.rmtree(cache, ignore_errors=True)
        os.replace(tmp, cache)
        found = sorted(cache.glob("**/*.safetensors"))
    if len(found) != 1:
        raise InputError(ref, f"expected one .safetensors in the registered artifacts, found {len(found)}")
    return found[0]
