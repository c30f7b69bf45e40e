"""One Ray Tune trial: one arm and one seed, its training stages one after the other, in the trial's own
process (harness/train/loop.py `run_stage`, the loop every Ray Train worker runs).

A trial writes in a temporary folder of its own (on whichever node runs it) with one layout — stage<k>/
(checkpoints/ while the stage trains, train.log, the stage's final model) and, at the end, done.json — and
persists it only as Tune checkpoints: after every periodic checkpoint and every finished stage the whole folder
is reported (`tune.report(checkpoint=…)`), which Tune copies to the experiment's storage
(harness/experiments/tune.py); a finished stage keeps only its final model and log, so later checkpoints do
not carry its periodic ones again. A
trial that runs again (Tune restored it, on any node) starts from its latest Tune checkpoint: a finished stage is
not retrained, an interrupted one resumes from its latest periodic checkpoint, and a finished trial
(`done.json`) only reports its result again.

Reported to Tune (and from there to MLflow by the driver: harness/tracking/experiments.py): `step` (counted over
all stages), `stage`, `train/<term>` every `log_every` steps, `val/<metric>` at the end of each stage, and at the
end `checkpoint` (the final model, relative to the trial's folder) with `done_steps`.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path
from typing import Any

from harness.config import TrainConfig

FAIL_ENV = "HARNESS_FAIL_TRIALS"  # test hook: comma-separated trial keys that raise instead of training
DELAY_ENV = "HARNESS_TRIAL_LOG_DELAY"  # test hook: seconds to sleep at every logged step (a slow trial to kill)


def trial_key(arm_name: str, seed: int) -> str:
    return f"{arm_name}/s{seed}"


def stage_config(spec: dict[str, Any], stage: int, init: str | None) -> TrainConfig:
    """The TrainConfig of stage `stage` (1-based) of a trial spec (see tune.make_specs)."""
    b = spec["budget"]
    return TrainConfig(method=spec["method"], stage=stage, size=b["size"], steps=b["steps"][stage - 1],
                       batch_size=b["batch_size"], resolution=b["resolution"], lr=b["lr"][stage - 1], workers=1,
                       gpus_per_worker=spec["gpus"], cpus_per_worker=b["cpus_per_trial"],
                       checkpoint_every=b["checkpoint_every"], log_every=b["log_every"], init=init,
                       out=str(Path(spec["dir"]) / f"stage{stage}"), mlflow=False, seed=spec["seed"],
                       loss=spec["loss"], loss_options=dict(spec["loss_options"]), data="relit",
                       pairs=b["pairs"], overrides=dict(spec["overrides"]))


def run_trial(config: dict[str, Any], specs: dict[str, dict[str, Any]]) -> None:
    """Tune's function trainable: `config["trial"]` names the spec."""
    import tempfile

    from ray import tune

    spec = specs[config["trial"]]
    if spec.get("fail"):  # the test hook, read by the driver (tune.run_trials)
        raise RuntimeError(f"trial {spec['key']} failed on purpose ({FAIL_ENV})")
    tdir = Path(tempfile.mkdtemp(prefix="harness-trial-"))
    try:
        restored = tune.get_checkpoint()
        if restored is not None:
            restored.to_directory(str(tdir))
        _train(spec, tdir)
    finally:
        shutil.rmtree(tdir, ignore_errors=True)


def _train(spec: dict[str, Any], tdir: Path) -> None:
    import torch
    from ray import tune

    from harness.train.loop import run_stage
    from harness.train.state import latest_checkpoint

    def persist(metrics: dict[str, Any]) -> None:
        tune.report(metrics, checkpoint=tune.Checkpoint.from_directory(str(tdir)))

    done_file = tdir / "done.json"
    if done_file.is_file():
        persist({**json.loads(done_file.read_text()), "cached": 1})
        return
    device = "cuda" if spec["gpus"] and torch.cuda.is_available() else "cpu"
    offset, init, last = 0, None, {}
    for stage in range(1, len(spec["budget"]["steps"]) + 1):
        cfg = stage_config({**spec, "dir": str(tdir)}, stage, init)
        out = Path(cfg.out)
        final = out / f"{cfg.method}-stage{stage}.safetensors"
        if not final.is_file():
            out.mkdir(parents=True, exist_ok=True)
            latest = latest_checkpoint(out)

            def log(terms: dict[str, float], step: int, stage: int = stage, offset: int = offset) -> None:
                time.sleep(spec.get("delay", 0.0))
                tune.report({"step": offset + step, "stage": stage,
                             **{(k if k.startswith("val/") else f"train/{k}"): float(v) for k, v in terms.items()}})

            _, terms = run_stage(cfg, init=init, resume_from=str(latest[1]) if latest else None,
                                 resume_step=latest[0] if latest else 0, device=device, log=log,
                                 validate=spec["budget"]["validate"],
                                 on_checkpoint=lambda step, stage=stage, offset=offset: persist(
                                     {"step": offset + step, "stage": stage}))
            last = {k: float(v) for k, v in terms.items() if k.startswith("val/")}
            # the stage's final model is all a later stage or the evaluation needs: its periodic checkpoints
            # would otherwise be copied to the storage again with every later Tune checkpoint
            shutil.rmtree(out / "checkpoints", ignore_errors=True)
            persist({"step": offset + cfg.steps, "stage": stage})
        init, offset = str(final), offset + cfg.steps
    n = len(spec["budget"]["steps"])
    result = {"step": offset, "stage": n, "checkpoint": f"stage{n}/{spec['method']}-stage{n}.safetensors",
              "done_steps": offset, **last}
    tmp = done_file.with_suffix(".tmp")
    tmp.write_text(json.dumps(result))
    os.replace(tmp, done_file)
    persist(result)
