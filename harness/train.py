"""`harness train`: stage-wise training of every learned method on Ray Train, the same on a laptop and a cluster.

- One `TorchTrainer` (Ray Train V2) runs `train_loop_per_worker` on `workers` processes: DDP over gloo on CPU,
  NCCL on GPU. Each worker builds the model from the registry, takes its share of every global batch (the
  global positions step·B·W … are dealt round-robin to the ranks, like a DistributedSampler) and runs its
  method's recipe (harness/train_recipes.py: IPH's objective, Bargain-Net's L1 + triplets, Dove-Net's and
  Rain-Net's alternating GAN steps).
- Data: the self-supervised generator (harness/data/synthetic.py) or any suite (`suite=`), each item a pure
  function of (seed, index), and every step re-seeds torch from (seed, step, rank) — so a resumed run sees
  exactly the batches and random draws an uninterrupted run would have seen.
- Checkpoints every `checkpoint_every` steps in OUT/checkpoints/: `step_N.safetensors/.json` (the model, via
  iph.checkpoint — loadable by the benchmark) and `step_N.state.safetensors/.json` (optimizer tensors,
  discriminator weights; scalars and param groups as JSON — no pickle). `resume=True` continues from the
  latest complete one; `init=` starts a stage from the previous stage's checkpoint (a path or
  `models:/NAME@stageK`). The final model is OUT/<method>-stage<K>.safetensors.
- MLflow: the driver opens one run (MlflowClient, explicit run id; a resumed run reopens it), rank 0 logs the
  loss terms every `log_every` steps, the driver logs the final checkpoint as artifacts and registers it in
  the model registry (registered model = the method name, alias `stage<K>`). `resolve_checkpoint` turns
  `models:/NAME@ALIAS` back into a local checkpoint path.

Learning rates default to the paper's per stage (1e-4, 1e-5, 1e-6); `lr` overrides.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.errors import HarnessError, InputError, UnknownNameError
from harness.train_recipes import load_training_state, make_recipe, save_training_state

STAGE_LR = {1: 1e-4, 2: 1e-5, 3: 1e-6}
EXPERIMENT = "harness-train"
_STEP_RE = re.compile(r"^step_(\d+)\.json$")


@dataclass
class TrainConfig:
    """Everything one `harness train` invocation needs; picklable (sent to the Ray workers as a dict)."""

    method: str
    stage: int = 1
    size: str = "tiny"
    steps: int = 1000
    batch_size: int = 4  # per worker
    train_size: int = 128  # square training crops, pixels
    lr: float | None = None  # None = STAGE_LR[stage]
    workers: int = 2
    gpus_per_worker: float = 0.0
    cpus_per_worker: float = 1.0
    checkpoint_every: int = 200
    keep_checkpoints: int = 2  # periodic checkpoints kept on disk (the final one is always kept)
    log_every: int = 10
    init: str | None = None  # previous stage's checkpoint: a path or models:/NAME@ALIAS
    resume: bool = False
    out: str = "runs/train"
    tracking_uri: str | None = None
    mlflow: bool = True
    seed: int = 0
    loss: str = "full"  # iph.losses.PRESETS key (IPH ablations)
    loss_options: dict[str, Any] = field(default_factory=dict)  # LossConfig fields replaced on the preset
    suite: str | None = None  # None = the self-supervised generator
    data_root: str | None = None
    ray_address: str | None = None
    export: str | None = None  # also write the final checkpoint here (e.g. iph/checkpoints/iph)
    overrides: dict[str, Any] = field(default_factory=dict)  # model config fields

    @property
    def learning_rate(self) -> float:
        return float(self.lr) if self.lr is not None else STAGE_LR[self.stage]

    @property
    def out_dir(self) -> Path:
        return Path(self.out).resolve()

    def validate(self) -> None:
        from iph.losses import PRESETS
        from iph.registry import list_models

        if self.method not in list_models():
            raise UnknownNameError("method", self.method, list_models())
        if self.stage not in STAGE_LR:
            raise HarnessError(f"--stage must be 1, 2 or 3, got {self.stage}")
        if self.loss not in PRESETS:
            raise UnknownNameError("loss preset", self.loss, list(PRESETS))
        if (self.loss != "full" or self.loss_options) and self.method != "iph":
            raise HarnessError("--loss/--loss-option are IPH ablations; other methods train their own objective")
        self.loss_config()
        for name in ("steps", "batch_size", "workers", "checkpoint_every", "log_every", "train_size"):
            if int(getattr(self, name)) < 1:
                raise HarnessError(f"--{name.replace('_', '-')} must be at least 1, got {getattr(self, name)}")
        if self.train_size < 32:
            raise HarnessError(f"--train-size must be at least 32 px, got {self.train_size}")
        if self.gpus_per_worker < 0 or self.learning_rate <= 0:
            raise HarnessError("--gpus-per-worker must be ≥ 0 and --lr > 0")
        model = build_model(self)  # unknown size / field → a one-line error now, not inside a worker
        multiple = _input_multiple(model)
        if self.train_size % multiple:
            raise HarnessError(f"--train-size {self.train_size} must be a multiple of {multiple} for "
                               f"{self.method} size '{self.size}'")

    def loss_config(self):
        """The IPH LossConfig: the preset with `loss_options` applied (values coerced to the field's type)."""
        from iph.losses import PRESETS, LossConfig

        fields = {f.name: f for f in dataclasses.fields(LossConfig)}
        values = {}
        for key, value in self.loss_options.items():
            if key not in fields:
                raise UnknownNameError("loss option", key, list(fields))
            kind = type(getattr(PRESETS[self.loss], key))
            if kind is bool and isinstance(value, str):
                if value.lower() not in ("true", "false", "1", "0"):
                    raise HarnessError(f"--loss-option {key}={value}: expected true or false")
                value = value.lower() in ("true", "1")
            try:
                values[key] = kind(value)
            except ValueError:
                raise HarnessError(f"--loss-option {key}={value}: expected a {kind.__name__}") from None
        return dataclasses.replace(PRESETS[self.loss], **values)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass
class TrainResult:
    checkpoint: Path  # OUT/<method>-stage<K>.safetensors
    step: int
    metrics: dict[str, float]
    run_id: str | None
    model_version: str | None


# ----------------------------------------------------------------------------------------------- models
def build_model(cfg: TrainConfig):
    from iph.registry import create_model

    overrides = dict(cfg.overrides)
    if cfg.method == "iph" and cfg.loss == "hnet":  # the "H-Net alone" ablation row has no style encoder
        overrides.setdefault("use_style_encoder", False)
    try:
        return create_model(cfg.method, cfg.size, **overrides)
    except (ValueError, TypeError) as err:
        raise HarnessError(f"{cfg.method}: {err}") from None


def _input_multiple(model) -> int:
    """Image sides the network accepts must be a multiple of this (IPH pads itself)."""
    cfg = getattr(model, "cfg", None)
    if hasattr(cfg, "num_downs"):
        return 2 ** cfg.num_downs
    if hasattr(cfg, "n_codec"):
        return 2 ** (4 + cfg.n_codec)
    return 1


def _model_overrides(cfg: TrainConfig) -> dict[str, Any] | None:
    """What the checkpoint JSON records besides the size. None for IPH: iph.checkpoint then stores the whole
    IPHConfig, so a later change to the named sizes cannot change what the checkpoint means."""
    if cfg.method == "iph":
        return None
    return dict(cfg.overrides)


# ------------------------------------------------------------------------------------------------- data
def make_dataset(cfg: TrainConfig):
    from harness.data.synthetic import SuiteDataset, SyntheticDataset

    if cfg.suite:
        return SuiteDataset(cfg.suite, cfg.data_root, cfg.train_size, cfg.stage)
    return SyntheticDataset(cfg.train_size, cfg.stage, cfg.seed)


def batch_indices(step: int, rank: int, world: int, batch: int, n: int, seed: int, shuffle: bool) -> list[int]:
    """Dataset indices of `rank`'s share of global batch `step`: global positions p = step·B·W + rank + W·j.
    A finite suite is walked in a fresh seeded permutation per epoch; the generator is indexed directly."""
    import numpy as np

    out = []
    for j in range(batch):
        p = step * batch * world + rank + world * j
        if not shuffle:
            out.append(p % n)
        else:
            epoch, k = divmod(p, n)
            out.append(int(np.random.default_rng([seed, epoch]).permutation(n)[k]))
    return out


def collate(items: list[dict]) -> dict:
    import torch

    return {k: torch.stack([it[k] for it in items]) for k in items[0]}


# ------------------------------------------------------------------------------------ training state I/O
def _step_paths(ckpt_dir: Path, step: int) -> tuple[Path, Path, Path]:
    stem = ckpt_dir / f"step_{step:07d}"
    return stem.with_suffix(".safetensors"), stem.with_name(stem.name + ".state.safetensors"), \
        stem.with_name(stem.name + ".state.json")


def latest_checkpoint(out: str | os.PathLike) -> tuple[int, Path] | None:
    """(step, model checkpoint path) of the newest complete periodic checkpoint in OUT/checkpoints."""
    ckpt_dir = Path(out) / "checkpoints"
    if not ckpt_dir.is_dir():
        return None
    best = None
    for p in ckpt_dir.iterdir():
        m = _STEP_RE.match(p.name)
        if m:
            step = int(m.group(1))
            weights, state_w, state_j = _step_paths(ckpt_dir, step)
            if weights.is_file() and state_w.is_file() and state_j.is_file() and (best is None or step > best[0]):
                best = (step, weights)
    return best


def _prune(ckpt_dir: Path, keep: int) -> None:
    steps = sorted(int(m.group(1)) for p in ckpt_dir.iterdir() if (m := _STEP_RE.match(p.name)))
    for step in steps[:-keep] if keep > 0 else steps:
        stem = ckpt_dir / f"step_{step:07d}"
        for suffix in (".json", ".safetensors", ".state.json", ".state.safetensors"):
            stem.with_name(stem.name + suffix).unlink(missing_ok=True)


# ------------------------------------------------------------------------------------------- the worker
def train_loop_per_worker(config: dict) -> None:
    """Runs in every Ray Train worker (and the loop is plain PyTorch apart from rank/device/DDP)."""
    import ray.train
    import ray.train.torch
    import torch
    import torch.distributed as dist

    cfg = TrainConfig(**config["cfg"])
    ctx = ray.train.get_context()
    rank, world = ctx.get_world_rank(), ctx.get_world_size()
    device = ray.train.torch.get_device()
    torch.set_num_threads(max(1, int(cfg.cpus_per_worker)))
    torch.manual_seed(cfg.seed)  # identical initial weights on every rank (DDP also broadcasts rank 0's)

    model = build_model(cfg)
    if config.get("init"):
        from iph.checkpoint import load_checkpoint

        init_model, _ = load_checkpoint(config["init"])
        model.load_state_dict(init_model.state_dict(), strict=True)
    model.to(device).train()

    def wrap(module):
        if world == 1:
            return module
        return ray.train.torch.prepare_model(module, move_to_device=device,
                                             parallel_strategy_kwargs={"find_unused_parameters": False})

    recipe = make_recipe(model, cfg.learning_rate, cfg.loss_config() if cfg.method == "iph" else "full", wrap)
    start = 0
    if config.get("resume_from"):
        weights, state_w, state_j = _step_paths(Path(config["resume_from"]).parent, config["resume_step"])
        from safetensors.torch import load_file

        model.load_state_dict(load_file(str(weights)), strict=True)
        start = load_training_state(recipe, state_w, state_j)

    dataset = make_dataset(cfg)
    shuffle = cfg.suite is not None
    out = cfg.out_dir
    ckpt_dir = out / "checkpoints"
    client = None
    if rank == 0 and config.get("run_id"):
        from mlflow.tracking import MlflowClient

        client = MlflowClient(tracking_uri=config["tracking_uri"])
    log_file = open(out / "train.log", "a") if rank == 0 else None
    data_desc = dataset.describe()
    terms: dict[str, float] = {}
    t0 = time.time()

    def save(step: int, final: bool) -> Path:
        from iph.checkpoint import save_checkpoint

        ckpt_dir.mkdir(parents=True, exist_ok=True)
        weights, state_w, state_j = _step_paths(ckpt_dir, step)
        save_training_state(recipe, state_w, state_j, step)
        save_checkpoint(model, weights, stage=cfg.stage, step=step, data=data_desc, metrics=terms,
                        model_name=cfg.method, size=cfg.size, overrides=_model_overrides(cfg))
        _prune(ckpt_dir, cfg.keep_checkpoints)
        if final:
            target = out / f"{cfg.method}-stage{cfg.stage}"
            save_checkpoint(model, target, stage=cfg.stage, step=step, data=data_desc, metrics=terms,
                            model_name=cfg.method, size=cfg.size, overrides=_model_overrides(cfg))
            return target.with_suffix(".safetensors")
        return weights

    for step in range(start, cfg.steps):
        torch.manual_seed(cfg.seed * 1_000_003 + step * 1_009 + rank)  # dropout, penalty mixes: resumable
        idx = batch_indices(step, rank, world, cfg.batch_size, len(dataset), cfg.seed, shuffle)
        batch = {k: v.to(device) for k, v in collate([dataset[i] for i in idx]).items()}
        terms = recipe.step(batch)
        done = step + 1
        if done % cfg.log_every == 0 or done == cfg.steps:
            if world > 1:  # log the mean over workers, not rank 0's share
                keys = sorted(terms)
                vec = torch.tensor([terms[k] for k in keys], dtype=torch.float64)
                dist.all_reduce(vec)
                terms = {k: float(v) / world for k, v in zip(keys, vec)}
            if rank == 0:
                line = f"step {done} " + " ".join(f"{k}={v:.4g}" for k, v in sorted(terms.items()))
                log_file.write(f"{time.strftime('%H:%M:%S')} {line} ({time.time() - t0:.0f}s)\n")
                log_file.flush()
                if client is not None:
                    from mlflow.entities import Metric

                    ts = int(time.time() * 1000)
                    client.log_batch(config["run_id"], metrics=[Metric(f"train/{k}", v, ts, done)
                                                                for k, v in terms.items()])
        if rank == 0 and done % cfg.checkpoint_every == 0 and done != cfg.steps:
            save(done, final=False)

    final_path = None
    if rank == 0:
        final_path = save(cfg.steps, final=True)
        log_file.close()
    if world > 1:
        dist.barrier()
    # Train V2 keeps metrics only when they come with a checkpoint: report the final one from rank 0.
    ray.train.report({"step": cfg.steps, **{f"train/{k}": v for k, v in terms.items()}},
                     checkpoint=None if final_path is None else _final_only_dir(final_path))


def _final_only_dir(final_path: Path):
    """A Ray checkpoint directory holding just the final model (not the whole OUT directory)."""
    import ray.train

    d = final_path.parent / "ray_final"
    d.mkdir(exist_ok=True)
    for suffix in (".safetensors", ".json"):
        shutil.copy2(final_path.with_suffix(suffix), d / final_path.with_suffix(suffix).name)
    return ray.train.Checkpoint.from_directory(str(d))


# ------------------------------------------------------------------------------------------- the driver
def _prepare_out(cfg: TrainConfig) -> tuple[dict, tuple[int, Path] | None]:
    out = cfg.out_dir
    state_file = out / "run.json"
    latest = latest_checkpoint(out)
    if cfg.resume:
        if latest is None:
            raise InputError(str(out / "checkpoints"), "--resume: no complete checkpoint to resume from")
        saved = json.loads(state_file.read_text()) if state_file.is_file() else {}
        old = saved.get("config", {})
        for key in ("method", "stage", "size", "batch_size", "workers", "train_size", "seed", "suite", "loss",
                    "loss_options"):
            if key in old and old[key] != getattr(cfg, key):
                raise InputError(str(state_file), f"--resume with a different {key} ({old[key]!r} in the "
                                                  f"interrupted run, {getattr(cfg, key)!r} now): the data order "
                                                  "would change")
        if latest[0] >= cfg.steps:
            raise InputError(str(latest[1]), f"already at step {latest[0]} ≥ --steps {cfg.steps}")
        return saved, latest
    if latest is not None:
        raise InputError(str(out / "checkpoints"), "holds checkpoints of an earlier run: pass --resume to "
                                                   "continue it, or choose another --out")
    out.mkdir(parents=True, exist_ok=True)
    return {}, None


def _start_mlflow(cfg: TrainConfig, saved: dict, init: str | None, data_desc: dict) -> tuple[str, str]:
    from mlflow.tracking import MlflowClient

    from harness.tracking import get_or_create_experiment, git_sha, resolve_tracking_uri

    uri = resolve_tracking_uri(cfg.tracking_uri)
    client = MlflowClient(tracking_uri=uri)
    run_id = saved.get("mlflow_run_id")
    if cfg.resume and run_id:
        client.update_run(run_id, status="RUNNING")  # the same run continues (no duplicate run on resume)
        client.set_tag(run_id, "resumed", "true")
        client.set_tag(run_id, "resumed_to_steps", str(cfg.steps))  # params are immutable; --steps may grow
        return uri, run_id
    exp_id = get_or_create_experiment(EXPERIMENT, uri)
    tags = {"harness.command": "train", "method": cfg.method, "stage": str(cfg.stage), "size": cfg.size,
            "git_sha": git_sha(), "data": data_desc.get("kind", "")}
    run = client.create_run(exp_id, run_name=f"{cfg.method} stage{cfg.stage} {time.strftime('%Y-%m-%d %H:%M')}",
                            tags=tags)
    run_id = run.info.run_id
    params = {k: ("" if v is None else json.dumps(v) if isinstance(v, dict) else str(v))[:500]
              for k, v in cfg.to_dict().items()}
    params.update({"learning_rate": str(cfg.learning_rate), "init_resolved": str(init or ""),
                   "data": json.dumps(data_desc)[:500]})
    for k, v in params.items():
        client.log_param(run_id, k, v)
    return uri, run_id


def _register(client, run_id: str, method: str, stage: int, where: str) -> str:
    """Register the run's checkpoint artifacts as a new version of model `method`, alias `stage<K>`."""
    from mlflow.exceptions import MlflowException

    try:
        client.get_registered_model(method)
    except MlflowException:
        client.create_registered_model(method, description=f"harness {method} checkpoints (safetensors + JSON)")
    mv = client.create_model_version(method, source=f"runs:/{run_id}/{where}", run_id=run_id,
                                     tags={"stage": str(stage)})
    client.set_registered_model_alias(method, f"stage{stage}", mv.version)
    return str(mv.version)


def train(cfg: TrainConfig) -> TrainResult:
    """Run (or resume) one stage of training on Ray; returns where the final checkpoint is."""
    cfg.validate()
    init = str(resolve_checkpoint(cfg.init, cfg.tracking_uri)) if cfg.init else None
    if init:
        from iph.checkpoint import read_meta

        meta = read_meta(init)
        if meta.get("model") != cfg.method:
            raise InputError(init, f"--init is a '{meta.get('model')}' checkpoint, not '{cfg.method}'")
        if meta.get("size") != cfg.size:
            raise InputError(init, f"--init is a '{meta.get('size')}' {cfg.method}, not --config {cfg.size}")
    saved, latest = _prepare_out(cfg)
    data_desc = make_dataset(cfg).describe()
    uri = run_id = None
    if cfg.mlflow:
        uri, run_id = _start_mlflow(cfg, saved, init, data_desc)
    (cfg.out_dir / "run.json").write_text(json.dumps({"config": cfg.to_dict(), "mlflow_run_id": run_id,
                                                      "tracking_uri": uri, "init": init}, indent=1))
    loop_config = {"cfg": cfg.to_dict(), "init": init, "run_id": run_id, "tracking_uri": uri,
                   "resume_from": str(latest[1]) if latest else None, "resume_step": latest[0] if latest else 0}
    try:
        result = _fit(cfg, loop_config)
    except BaseException as err:
        if run_id:
            from mlflow.tracking import MlflowClient

            c = MlflowClient(tracking_uri=uri)
            c.set_tag(run_id, "error", f"{type(err).__name__}: {err}"[:5000])
            c.set_terminated(run_id, "KILLED" if isinstance(err, KeyboardInterrupt) else "FAILED")
        raise
    final = cfg.out_dir / f"{cfg.method}-stage{cfg.stage}.safetensors"
    metrics = {k: float(v) for k, v in (result.metrics or {}).items() if isinstance(v, (int, float))}
    version = None
    if run_id:
        from mlflow.tracking import MlflowClient

        c = MlflowClient(tracking_uri=uri)
        # One folder per final step, so a resumed run never overwrites what an earlier version registered.
        where = f"checkpoint/step_{cfg.steps}"
        c.log_artifact(run_id, str(final), where)
        c.log_artifact(run_id, str(final.with_suffix(".json")), where)
        if (cfg.out_dir / "train.log").is_file():
            c.log_artifact(run_id, str(cfg.out_dir / "train.log"))
        version = _register(c, run_id, cfg.method, cfg.stage, where)
        c.set_terminated(run_id, "FINISHED")
    if cfg.export:
        export_checkpoint(final, cfg.export)
    return TrainResult(final, cfg.steps, metrics, run_id, version)


def _fit(cfg: TrainConfig, loop_config: dict):
    from ray.train import CheckpointConfig, RunConfig, ScalingConfig
    from ray.train.torch import TorchConfig, TorchTrainer

    from harness.raysession import ray_session

    use_gpu = cfg.gpus_per_worker > 0
    resources = {"CPU": cfg.cpus_per_worker, **({"GPU": cfg.gpus_per_worker} if use_gpu else {})}
    with ray_session(cfg.ray_address, num_cpus=None):
        trainer = TorchTrainer(
            train_loop_per_worker,
            train_loop_config=loop_config,
            torch_config=TorchConfig(backend="nccl" if use_gpu else "gloo"),
            scaling_config=ScalingConfig(num_workers=cfg.workers, use_gpu=use_gpu, resources_per_worker=resources),
            run_config=RunConfig(name=f"{cfg.method}-stage{cfg.stage}-{int(time.time())}",
                                 storage_path=str(cfg.out_dir / "ray"),
                                 checkpoint_config=CheckpointConfig(num_to_keep=1)),
        )
        return trainer.fit()


def export_checkpoint(src: str | os.PathLike, dst: str | os.PathLike) -> Path:
    """Copy a checkpoint to `dst` (.safetensors + .json) under its new name, metadata kept (re-saved so the
    JSON names its own weights file)."""
    from iph.checkpoint import load_checkpoint, save_checkpoint

    model, meta = load_checkpoint(src)
    return save_checkpoint(model, dst, stage=meta.get("stage"), step=meta.get("step", 0), data=meta.get("data"),
                           metrics=meta.get("metrics"), model_name=meta["model"], size=meta["size"],
                           overrides=meta.get("overrides") or None)


# ---------------------------------------------------------------------------------------- model registry
def resolve_checkpoint(ref: str, tracking_uri: str | None = None) -> Path:
    """`models:/NAME@ALIAS` or `models:/NAME/VERSION` → a local checkpoint (.safetensors) downloaded from the
    MLflow registry (cached under $HARNESS_CACHE or ./.harness-cache/models); any other string is a path
    and is returned unchanged."""
    if not ref.startswith("models:/"):
        return Path(ref)
    from mlflow.exceptions import MlflowException
    from mlflow.tracking import MlflowClient

    from harness.tracking import resolve_tracking_uri

    body = ref[len("models:/"):]
    uri = resolve_tracking_uri(tracking_uri)
    client = MlflowClient(tracking_uri=uri)
    try:
        if "@" in body:
            name, alias = body.split("@", 1)
            mv = client.get_model_version_by_alias(name, alias)
        elif "/" in body:
            name, version = body.split("/", 1)
            mv = client.get_model_version(name, version)
        else:
            raise InputError(ref, "expected models:/NAME@ALIAS or models:/NAME/VERSION")
    except MlflowException as err:
        raise InputError(ref, f"not in the model registry at {uri} ({err.message.splitlines()[0]})") from None
    import hashlib

    # Keyed by the store and the version's source too: another store's "iph v1" is a different model.
    key = hashlib.sha256(f"{uri}|{mv.run_id}|{mv.source}".encode()).hexdigest()[:12]
    cache = Path(os.environ.get("HARNESS_CACHE", ".harness-cache")).resolve() / "models" / name / f"v{mv.version}-{key}"
    found = sorted(cache.glob("**/*.safetensors")) if cache.is_dir() else []
    if not found:
        import mlflow.artifacts

        tmp = cache.with_name(cache.name + f".tmp{os.getpid()}")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        mlflow.artifacts.download_artifacts(artifact_uri=client.get_model_version_download_uri(name, mv.version),
                                            dst_path=str(tmp), tracking_uri=uri)
        shutil.rmtree(cache, ignore_errors=True)
        os.replace(tmp, cache)
        found = sorted(cache.glob("**/*.safetensors"))
    if len(found) != 1:
        raise InputError(ref, f"expected one .safetensors in the registered artifacts, found {len(found)}")
    return found[0]
