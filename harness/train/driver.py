"""`harness train`: stage-wise training of every learned method on Ray Train, the same on a laptop and a cluster.

One `TorchTrainer` (Ray Train V2) runs harness/train/loop.py on `workers` processes: DDP over gloo on CPU,
NCCL on GPU. Data: a self-supervised generator (harness/train/relit.py, harness/train/perturb.py) or any
suite's samples (`suite=`: harness/train/suite.py). Workers write only in folders of their own; checkpoints
persist as Ray Train checkpoints (every `checkpoint_every` steps, and the final one) in the run's storage —
`--storage URI`/<name of OUT>, by default OUT itself (harness/storage.py) — at RUN/ray/<Ray run>/step_N/
(harness/train/state.py); `resume=True` continues from the latest complete one there; `init=` starts a stage from
the previous stage's checkpoint (a path or `models:/NAME@stageK`, read on the driver; the workers get its bytes
through the object store: harness/methods/weights.py). The driver downloads the final model to
OUT/<method>-stage<K>.safetensors (and train.log), logs it to MLflow and registers it as models:/<method>@stage<K>
(harness/tracking/training.py). Learning rates default to the paper's per stage (1e-4, 1e-5, 1e-6); `lr`
overrides. While it trains, a progress bar on stderr shows the step, rank 0's loss and the time left: rank 0
tells a small Ray actor each step, and a thread of the driver reads it (`StepProgress`) — the workers' own
output goes to Ray's logs, never to the terminal.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from harness.config import TrainConfig
from harness.errors import HarnessError, InputError


@dataclass
class TrainResult:
    checkpoint: Path  # OUT/<method>-stage<K>.safetensors
    step: int
    metrics: dict[str, float]
    run_id: str | None
    model_version: str | None


def validate(cfg: TrainConfig) -> None:
    """Everything that needs the registry: the method is trainable, the model builds at this size, the loss
    options apply, the training size fits the network — each a one-line error now, not inside a worker."""
    from harness.train.loop import build_model
    from harness.train.recipes import recipe_for, recipe_loss

    recipe_for(cfg.method)
    recipe_loss(cfg)
    multiple = build_model(cfg).input_multiple
    if cfg.resolution % multiple:
        raise HarnessError(f"--resolution {cfg.resolution} must be a multiple of {multiple} for "
                           f"{cfg.method} size '{cfg.size}'")


def _prepare_out(cfg: TrainConfig, run: str) -> tuple[dict, tuple[int, str] | None]:
    """(the interrupted run's run.json, its latest stored checkpoint) — refusals as one line each."""
    from harness.storage import display, exists, join, read_text
    from harness.train.state import latest_stored_checkpoint

    out = Path(cfg.out).resolve()
    state_file = join(run, "run.json")
    latest = latest_stored_checkpoint(run)
    if cfg.resume:
        if latest is None:
            raise InputError(display(join(run, "ray")), "--resume: no complete checkpoint to resume from")
        saved = json.loads(read_text(state_file)) if exists(state_file) else {}
        old = saved.get("config", {})
        for key in ("method", "stage", "size", "batch_size", "workers", "resolution", "seed", "suite", "loss",
                    "loss_options", "data", "pairs"):
            if key in old and old[key] != getattr(cfg, key):
                raise InputError(display(state_file), f"--resume with a different {key} ({old[key]!r} in the "
                                                      f"interrupted run, {getattr(cfg, key)!r} now): the data "
                                                      "order would change")
        if latest[0] >= cfg.steps:
            raise InputError(display(latest[1]), f"already at step {latest[0]} ≥ --steps {cfg.steps}")
        return saved, latest
    if latest is not None:
        raise InputError(display(join(run, "ray")), "holds checkpoints of an earlier run: pass --resume to "
                                                    "continue it, or choose another --out")
    out.mkdir(parents=True, exist_ok=True)
    return {}, None


def _resolve_init(cfg: TrainConfig) -> str | None:
    if not cfg.init:
        return None
    from harness.methods.checkpoint import read_meta

    if cfg.init.startswith("models:/"):
        from harness.tracking.training import download_registered_checkpoint

        init = str(download_registered_checkpoint(cfg.init, cfg.tracking_uri))
    else:
        init = cfg.init
    meta = read_meta(init)
    if meta.get("model") != cfg.method:
        raise InputError(init, f"--init is a '{meta.get('model')}' checkpoint, not '{cfg.method}'")
    if meta.get("size") != cfg.size:
        raise InputError(init, f"--init is a '{meta.get('size')}' {cfg.method}, not --size {cfg.size}")
    return init


def train(cfg: TrainConfig) -> TrainResult:
    """Run (or resume) one stage of training on Ray; returns where the final checkpoint is."""
    from harness.console import current
    from harness.storage import check_reachable, download, join, locate, run_location, write_bytes
    from harness.train.loop import make_dataset

    validate(cfg)
    run = run_location(cfg.storage, cfg.storage_endpoint, cfg.out)
    if cfg.storage:
        check_reachable("--storage", locate(cfg.storage, cfg.storage_endpoint))
    init = _resolve_init(cfg)
    saved, latest = _prepare_out(cfg, run)
    out = Path(cfg.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    data_desc = make_dataset(cfg).describe()
    uri = run_id = None
    if cfg.mlflow:
        from harness.tracking.training import start_training_run

        uri, run_id = start_training_run(cfg, saved, init, data_desc)
    state = json.dumps({"config": cfg.to_dict(), "mlflow_run_id": run_id, "tracking_uri": uri, "init": init},
                       indent=1)
    (out / "run.json").write_text(state)
    if join(run, "run.json") != str(out / "run.json"):
        write_bytes(join(run, "run.json"), state.encode())  # a resume from another machine reads it there
    loop_config = {"cfg": cfg.to_dict(), "init": init, "run_id": run_id, "tracking_uri": uri,
                   "resume_from": latest[1] if latest else None, "resume_step": latest[0] if latest else 0}
    name = f"{cfg.method}-stage{cfg.stage}-{int(time.time())}"
    log_path = current().log_path
    try:
        result = _fit(cfg, loop_config, run, name)
        final = out / f"{cfg.method}-stage{cfg.stage}.safetensors"
        stored = join(run, "ray", name, f"step_{cfg.steps:07d}")
        for f in (final, final.with_suffix(".json"), out / "train.log"):
            download(join(stored, f.name), f)
    except BaseException as err:
        if run_id:
            from harness.tracking.training import fail_training_run

            fail_training_run(uri, run_id, err, log_path)
        raise
    metrics = {k: float(v) for k, v in (result.metrics or {}).items() if isinstance(v, (int, float))}
    version = None
    if run_id:
        from harness.tracking.training import finish_training_run

        logs = [out / "train.log"] + ([Path(log_path)] if log_path else [])
        version = finish_training_run(uri, run_id, final, cfg.steps, cfg.method, cfg.stage, logs)
    if cfg.export:
        export_checkpoint(final, cfg.export)
    return TrainResult(final, cfg.steps, metrics, run_id, version)


def _fit(cfg: TrainConfig, loop_config: dict, run: str, name: str):
    from ray.train import CheckpointConfig, RunConfig, ScalingConfig
    from ray.train.torch import TorchConfig, TorchTrainer

    from harness.cluster import ray_session
    from harness.engine.session import shared_paths
    from harness.storage import join, ray_storage
    from harness.train.loop import train_loop_per_worker

    with ray_session(cfg.ray_address, num_cpus=None, shared=shared_paths(cfg)) as cluster, \
            StepProgress(cfg, loop_config["resume_step"]) as progress:
        resources, backend = worker_resources(cfg, cluster)
        use_gpu = "GPU" in resources
        init = loop_config["init"]
        if init:  # a worker on another node cannot open the driver's file: it gets the bytes (object store)
            import ray

            from harness.methods.weights import read_weights

            init = ray.put(read_weights(init))
        trainer = TorchTrainer(
            train_loop_per_worker,
            train_loop_config={**loop_config, "init": init, "progress": progress.actor},
            torch_config=TorchConfig(backend=backend),
            scaling_config=ScalingConfig(num_workers=cfg.workers, use_gpu=use_gpu, resources_per_worker=resources),
            run_config=RunConfig(name=name, **ray_storage(join(run, "ray")),
                                 checkpoint_config=CheckpointConfig(num_to_keep=cfg.keep_checkpoints + 1)),
        )
        try:
            return trainer.fit()
        except Exception as err:
            found = worker_input_error(err)
            if found is None:
                raise
            raise found from None


def worker_input_error(err: BaseException) -> HarnessError | None:
    """The HarnessError a training worker raised (a sample that cannot be read, …), out of the error Ray Train
    wraps it in — so bad input is the usual one line, not Ray's traceback; None when there is none."""
    seen, todo = set(), [err]
    while todo:
        e = todo.pop(0)
        if e is None or id(e) in seen:
            continue
        seen.add(id(e))
        if isinstance(e, HarnessError):
            return e
        todo += list((getattr(e, "worker_failures", None) or {}).values())  # ray.train.WorkerGroupError
        # Ray Train's UserExceptionWithTraceback keeps the worker's exception in `_base_exc`; Ray's task errors
        # in `cause`
        todo += [getattr(e, "_base_exc", None), getattr(e, "cause", None), e.__cause__]
    return None


def worker_resources(cfg: TrainConfig, cluster: dict) -> tuple[dict[str, float], str]:
    """(Ray resources per training worker, torch.distributed backend): NCCL between GPU workers, gloo on CPUs.
    Refused (one line) when the cluster could never hold the workers — Ray Train would wait for them forever."""
    gpus = cfg.gpus_per_worker
    if gpus > 0 and gpus * cfg.workers > cluster["gpus"]:
        raise HarnessError(f"--workers {cfg.workers} × --gpus-per-worker {gpus:g} asks {gpus * cfg.workers:g} GPUs and "
                           f"the Ray cluster has {cluster['gpus']} (leave --gpus-per-worker out to train on CPUs)")
    if cfg.cpus_per_worker * cfg.workers > cluster["cpus"]:
        raise HarnessError(f"--workers {cfg.workers} × --cpus-per-worker {cfg.cpus_per_worker:g} asks "
                           f"{cfg.cpus_per_worker * cfg.workers:g} CPUs and the Ray cluster has {cluster['cpus']}")
    resources = {"CPU": cfg.cpus_per_worker, **({"GPU": gpus} if gpus > 0 else {})}
    return resources, "nccl" if gpus > 0 else "gloo"


class _StepCounter:
    """A Ray actor (no CPU): the latest step and loss rank 0 has told it."""

    def __init__(self) -> None:
        self.step, self.loss = 0, None

    def update(self, step: int, loss: float | None) -> None:
        self.step, self.loss = step, loss

    def read(self) -> tuple[int, float | None]:
        return self.step, self.loss


class StepProgress:
    """The training progress bar (step, loss, time left) on the console's stderr, fed from the workers through
    a `_StepCounter` actor read twice a second; nothing (no actor, no thread) when `cfg.progress` is off."""

    POLL_SECONDS = 0.5

    def __init__(self, cfg: TrainConfig, start: int) -> None:
        self.cfg, self.start = cfg, start
        self.actor = self.bar = self.thread = None
        self.stop = threading.Event()
        self.shown: tuple[int, float | None] = (start, None)

    def __enter__(self) -> "StepProgress":
        if not self.cfg.progress:
            return self
        import ray
        from tqdm import tqdm

        from harness.console import current

        self.actor = ray.remote(num_cpus=0)(_StepCounter).remote()
        self.bar = tqdm(total=self.cfg.steps, initial=self.start, desc=f"train {self.cfg.method} stage "
                        f"{self.cfg.stage}", unit="step", file=current().err, dynamic_ncols=True)
        self.thread = threading.Thread(target=self._follow, daemon=True)
        self.thread.start()
        return self

    def _show(self) -> None:
        import ray

        try:
            step, loss = ray.get(self.actor.read.remote(), timeout=10)
        except Exception:  # the bar is a convenience: a slow or gone actor never stops the training
            return
        if (step, loss) == self.shown:
            return
        self.shown = (step, loss)
        if loss is not None:
            self.bar.set_postfix(loss=f"{loss:.4g}", refresh=False)
        if step > self.bar.n:
            self.bar.update(step - self.bar.n)
        else:
            self.bar.refresh()

    def _follow(self) -> None:
        while not self.stop.wait(self.POLL_SECONDS):
            self._show()

    def __exit__(self, *exc) -> None:
        if self.thread is None:
            return
        self.stop.set()
        self.thread.join()
        if exc[0] is None:
            self._show()
        self.bar.close()
        import ray

        ray.kill(self.actor)


def export_checkpoint(src, dst) -> Path:
    """Copy a checkpoint to `dst` (.safetensors + .json) under its new name, metadata kept (re-saved so the
    JSON names its own weights file)."""
    from harness.methods.checkpoint import load_checkpoint, save_checkpoint

    model, meta = load_checkpoint(src)
    return save_checkpoint(model, dst, stage=meta.get("stage"), step=meta.get("step", 0), data=meta.get("data"),
                           metrics=meta.get("metrics"), model_name=meta["model"], size=meta["size"],
                           overrides=meta.get("overrides") or None)
