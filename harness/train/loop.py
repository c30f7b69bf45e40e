"""The training loop every Ray Train worker runs (plain PyTorch apart from rank, device and DDP).

Each worker builds the model from the registry, takes its share of every global batch (the global positions
step·B·W … are dealt round-robin to the ranks, like a DistributedSampler) and runs its method's recipe.
Every item is a pure function of (seed, index) and every step re-seeds torch from (seed, step, rank), so a
resumed run sees exactly the batches and random draws an uninterrupted run would have seen.
"""

from __future__ import annotations

import contextlib
import shutil
import time
from pathlib import Path
from typing import Any, Callable

from harness.config import TrainConfig
from harness.errors import HarnessError


def build_model(cfg: TrainConfig):
    """The untrained network of `cfg`: the model config fields its recipe implies for the loss preset (IPH's
    "H-Net alone" has no style encoder), then `cfg.overrides`."""
    from harness.methods.registry import create_model
    from harness.train.recipes import recipe_for

    overrides = {**recipe_for(cfg.method).model_overrides(cfg.loss), **cfg.overrides}
    try:
        return create_model(cfg.method, cfg.size, **overrides)
    except (ValueError, TypeError) as err:
        raise HarnessError(f"{cfg.method}: {err}") from None


def make_dataset(cfg: TrainConfig):
    from harness.train.perturb import PerturbDataset
    from harness.train.relit import RelitDataset
    from harness.train.suite import SuiteDataset

    if cfg.suite:
        return SuiteDataset(cfg.suite, cfg.data_root, cfg.resolution, cfg.stage)
    if cfg.data == "relit":
        return RelitDataset(cfg.resolution, cfg.stage, cfg.seed, pairs=cfg.pairs)
    return PerturbDataset(cfg.resolution, cfg.stage, cfg.seed)


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


def train_loop_per_worker(config: dict) -> None:
    """Ray Train's entry point. `config`: the TrainConfig as a dict, `init` (the object-store reference of
    the initial checkpoint's files, harness/methods/weights.py), `run_id`, `tracking_uri`, `resume_from` (the
    location of a stored checkpoint folder)/`resume_step`.

    Every worker writes in a temporary folder of its own, never in the driver's --out (on a cluster that is
    another machine's disk); what persists are the checkpoints rank 0 reports to Ray Train, which copies them
    to the run's storage: every periodic one, and the final one with the final model and train.log."""
    import tempfile

    import ray.train
    import ray.train.torch

    from harness.storage import download
    from harness.train.state import checkpoint_folder, step_paths

    cfg = TrainConfig(**config["cfg"])
    ctx = ray.train.get_context()
    rank, world = ctx.get_world_rank(), ctx.get_world_size()
    device = ray.train.torch.get_device()
    work = Path(tempfile.mkdtemp(prefix="harness-train-"))

    def wrap(module):
        if world == 1:
            return module
        return ray.train.torch.prepare_model(module, move_to_device=device,
                                             parallel_strategy_kwargs={"find_unused_parameters": False})

    log = None
    if rank == 0 and config.get("run_id"):
        from harness.tracking.training import StepLogger

        log = StepLogger(config["tracking_uri"], config["run_id"]).log
    counter = config.get("progress")  # the driver's progress bar reads this actor (harness/train/driver.py)
    progress = None
    if rank == 0 and counter is not None:
        def progress(step: int, terms: dict[str, float]) -> None:
            counter.update.remote(step, terms.get("total"))
    resume_from, step0 = None, config.get("resume_step", 0)
    if config.get("resume_from"):  # every rank loads the weights and optimizer state
        restored = download(config["resume_from"], work / "restored")
        resume_from = str(step_paths(restored, step0)[0])
        if rank == 0 and (restored / "train.log").is_file():
            shutil.copy2(restored / "train.log", work / "train.log")  # the log continues

    def report(step: int, extra: tuple[Path, ...] = (), metrics: dict | None = None) -> None:
        folder = None
        if rank == 0:
            folder = checkpoint_folder(work / "checkpoints", step, work / "report" / f"step_{step:07d}",
                                       (work / "train.log", *extra))
        ray.train.report(metrics or {"step": step},
                         checkpoint=ray.train.Checkpoint.from_directory(str(folder)) if folder else None,
                         checkpoint_dir_name=f"step_{step:07d}")
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)

    try:
        from harness.methods.weights import local_copy

        init = config.get("init")
        with (local_copy(ray.get(init)) if init is not None else contextlib.nullcontext()) as init_path:
            final_path, terms = run_stage(cfg, init=init_path and str(init_path), resume_from=resume_from,
                                          resume_step=step0, rank=rank, world=world, device=device, wrap=wrap,
                                          log=log, progress=progress, workdir=work,
                                          on_checkpoint=lambda step: report(step))
        # Train V2 keeps metrics only when they come with a checkpoint: the final one, from rank 0
        extra = () if final_path is None else (final_path, final_path.with_suffix(".json"))
        report(cfg.steps, extra, {"step": cfg.steps, **{f"train/{k}": v for k, v in terms.items()}})
    finally:
        shutil.rmtree(work, ignore_errors=True)


def run_stage(cfg: TrainConfig, *, init: str | None = None, resume_from: str | None = None, resume_step: int = 0,
              rank: int = 0, world: int = 1, device: Any = "cpu", wrap: Callable | None = None,
              log: Callable[[dict[str, float], int], None] | None = None,
              validate: bool = True,
              progress: Callable[[int, dict[str, float]], None] | None = None,
              workdir: str | Path | None = None,
              on_checkpoint: Callable[[int], None] | None = None) -> tuple[Path | None, dict[str, float]]:
    """Train one stage in this process, as rank `rank` of `world` (Ray Train workers, or one Ray Tune trial:
    harness/experiments/trial.py), writing in `workdir` (default `cfg.out`): checkpoints/, train.log and the
    final model. `log(terms, step)` gets rank 0's logged losses and validation metrics; `progress(step, terms)`
    this rank's losses after every step (the progress bar's feed); `on_checkpoint(step)` runs on every rank
    once rank 0 has written periodic checkpoint `step` (where the caller persists it: Ray Train, Ray Tune).
    Returns (the final checkpoint on rank 0, else None; the last logged terms)."""
    import torch
    import torch.distributed as dist

    from harness.methods.checkpoint import load_checkpoint, save_checkpoint
    from harness.train.recipes import make_recipe, recipe_loss
    from harness.train.state import load_training_state, prune, save_training_state, step_paths

    torch.set_num_threads(max(1, int(cfg.cpus_per_worker)))
    torch.manual_seed(cfg.seed)  # identical initial weights on every rank (DDP also broadcasts rank 0's)

    model = build_model(cfg)
    if init:
        init_model, _ = load_checkpoint(init)
        model.load_state_dict(init_model.state_dict(), strict=True)
    model.to(device).train()

    recipe = make_recipe(cfg.method, model, cfg.learning_rate, recipe_loss(cfg), wrap)
    start = 0
    if resume_from:
        from safetensors.torch import load_file

        weights, state_w, state_j = step_paths(Path(resume_from).parent, resume_step)
        model.load_state_dict(load_file(str(weights)), strict=True)
        start = load_training_state(recipe, state_w, state_j)

    dataset = make_dataset(cfg)
    shuffle = cfg.suite is not None
    out = Path(workdir if workdir is not None else cfg.out).resolve()
    ckpt_dir = out / "checkpoints"
    log_file = open(out / "train.log", "a") if rank == 0 else None
    if log_file is not None and resume_from:
        log_file.write(f"{time.strftime('%H:%M:%S')} resumed at step {start}\n")
    data_desc = dataset.describe()
    terms: dict[str, float] = {}
    t0 = time.time()

    def save(step: int, final: bool) -> Path:
        ckpt_dir.mkdir(parents=True, exist_ok=True)
        weights, state_w, state_j = step_paths(ckpt_dir, step)
        save_training_state(recipe, state_w, state_j, step)
        meta = dict(stage=cfg.stage, step=step, data=data_desc, metrics=terms, model_name=cfg.method,
                    size=cfg.size)
        save_checkpoint(model, weights, **meta)
        prune(ckpt_dir, cfg.keep_checkpoints)
        if final:
            target = out / f"{cfg.method}-stage{cfg.stage}"
            save_checkpoint(model, target, **meta)
            return target.with_suffix(".safetensors")
        return weights

    for step in range(start, cfg.steps):
        torch.manual_seed(cfg.seed * 1_000_003 + step * 1_009 + rank)  # dropout, penalty mixes: resumable
        idx = batch_indices(step, rank, world, cfg.batch_size, len(dataset), cfg.seed, shuffle)
        batch = {k: v.to(device) for k, v in collate([dataset[i] for i in idx]).items()}
        terms = recipe.step(batch)
        done = step + 1
        if progress is not None:
            progress(done, terms)
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
                if log is not None:
                    log(terms, done)
        at_end = done == cfg.steps and validate
        if rank == 0 and (at_end or (cfg.validate_every and done % cfg.validate_every == 0)):
            val = _validate(model, device)
            terms.update(val)
            log_file.write(f"{time.strftime('%H:%M:%S')} step {done} "
                           + " ".join(f"{k}={v:.4g}" for k, v in sorted(val.items())) + "\n")
            if val.get("val/code_spread", 1.0) < COLLAPSED:
                log_file.write(f"WARNING step {done}: style codes are collapsing (spread "
                               f"{val['val/code_spread']:.3g} < {COLLAPSED}): the reference is being ignored\n")
            log_file.flush()
            if log is not None:
                log(val, done)
        if done % cfg.checkpoint_every == 0 and done != cfg.steps:
            if rank == 0:
                save(done, final=False)
            if on_checkpoint is not None:
                on_checkpoint(done)

    final_path = None
    if rank == 0:
        final_path = save(cfg.steps, final=True)
        log_file.close()
    if world > 1:
        dist.barrier()
    return final_path, terms


COLLAPSED = 0.02  # style-code spread (iph.losses.code_spread) below which the codes no longer tell regions apart


def _validate(model, device) -> dict[str, float]:
    """Held-out relit pairs (harness/train/validate.py) — never an evaluation suite."""
    from harness.train.validate import validate

    return validate(model, device=str(device))
