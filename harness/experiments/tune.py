"""The trials on Ray Tune: one per (arm, seed), resumable.

Each trial asks for the budget's CPUs (and a GPU when the cluster has GPUs, or as the budget says), so Tune
runs as many at once as the cluster holds. The experiment's Tune state and every trial's checkpoints live in
the experiment's storage, RUN/tune/trials/<arm>-s<seed>/ (RUN: `--storage URI`/<name of OUT>, by default OUT
itself: harness/storage.py) — nothing a trial writes needs a folder the driver can see. `resume` restores it
with `Tuner.restore`: finished trials are never rerun, unfinished and failed ones run again and continue from
their own latest Tune checkpoint (harness/experiments/trial.py). The driver then downloads each finished
trial's final model from its checkpoint to OUT/trials/<arm>-s<seed>/ for the evaluation. A failed trial does
not stop the others (`fit()` collects errors); Ctrl-C or SIGTERM stops Tune gracefully (its state is saved) and is reported as an
interruption.

MLflow is written from Tune's callbacks, which run in the driver. Tune pickles its callbacks into its state,
so the callback holds only a name and finds the live tracker through `TRACKERS`.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Any

from ray import tune

from harness.errors import HarnessError
from harness.experiments.trial import DELAY_ENV, FAIL_ENV, run_trial, trial_key

NAME = "trials"
TRACKERS: dict[str, Any] = {}  # callback name → live ExperimentTracker (this process only)


def make_specs(arms, budgets: dict, seeds: int, out: Path, gpus: float) -> dict[str, dict[str, Any]]:
    """Every trial's spec (JSON-able), keyed `<arm>/s<seed>`, arms in order then seeds: `name` is its folder in
    the storage, `dir` where the driver puts its final model."""
    specs = {}
    for i, arm in enumerate(arms):
        for seed in range(seeds):
            key = trial_key(arm.name, seed)
            specs[key] = {"key": key, "arm": arm.name, "seed": seed, "method": arm.method, "loss": arm.loss,
                          "loss_options": dict(arm.loss_options), "overrides": dict(arm.overrides),
                          "budget": budgets[arm.name].to_dict(), "gpus": gpus,
                          "name": f"{arm.slug(i)}-s{seed}", "dir": str(out / "trials" / f"{arm.slug(i)}-s{seed}")}
    return specs


def trial_resources(budget, cluster: dict) -> tuple[dict[str, float], float]:
    """({cpu, gpu} per trial, gpus) — refused when the cluster could never hold one trial (Tune would wait)."""
    gpus = budget.gpus_per_trial if budget.gpus_per_trial is not None else (1.0 if cluster["gpus"] else 0.0)
    if gpus > cluster["gpus"]:
        raise HarnessError(f"the budget asks {gpus:g} GPU per trial and the cluster has {cluster['gpus']} "
                           "(--set gpus_per_trial=0 trains on CPUs)")
    if budget.cpus_per_trial > cluster["cpus"]:
        raise HarnessError(f"the budget asks {budget.cpus_per_trial:g} CPUs per trial and the cluster has "
                           f"{cluster['cpus']} (--set cpus_per_trial=N)")
    return {"cpu": budget.cpus_per_trial, "gpu": gpus}, gpus


class TrialLogger(tune.Callback):
    """Tune's trial events → the experiment's MLflow runs (in the driver)."""

    def __init__(self, name: str) -> None:
        self.name = name

    def _tracker(self):
        return TRACKERS.get(self.name)

    def on_trial_start(self, iteration, trials, trial, **info) -> None:
        if self._tracker():
            self._tracker().trial_started(trial.config["trial"])

    def on_trial_result(self, iteration, trials, trial, result, **info) -> None:
        if self._tracker():
            self._tracker().trial_result(trial.config["trial"], result)

    def on_trial_error(self, iteration, trials, trial, **info) -> None:
        if self._tracker():
            try:
                error = str(trial.get_error() or "trial failed")
            except Exception:  # noqa: BLE001 — the error file may not be readable yet
                error = "trial failed"
            self._tracker().trial_failed(trial.config["trial"], error.strip().splitlines()[-1])


class TrialFolder:
    """Tune's trial_dirname_creator: a trial's storage folder is the experiment's name for it (`<arm>-s<seed>`),
    so a resumed experiment and a person looking at the bucket find each trial by name."""

    def __init__(self, names: dict[str, str]) -> None:
        self.names = names

    def __call__(self, trial) -> str:
        return self.names[trial.config["trial"]]


def run_trials(specs: dict, out: Path, resources: dict, tracker=None, resume: bool = False,
               run: str | None = None) -> dict[str, dict]:
    """Run (or resume) every trial, persisting under the storage location `run` (default: `out`); returns
    {key: {"status": FINISHED|FAILED, "checkpoint" (a local copy of the final model), "error"}}. Raises
    KeyboardInterrupt when Tune was stopped before every trial ended."""
    from harness.storage import join, ray_storage

    failing = set(os.environ.get(FAIL_ENV, "").split(",")) - {""}
    delay = float(os.environ.get(DELAY_ENV, "0") or 0)
    specs = {k: {**s, "fail": k in failing, "delay": delay} for k, s in specs.items()}
    name = str(out.resolve())
    if tracker is not None:
        TRACKERS[name] = tracker
    trainable = tune.with_resources(tune.with_parameters(run_trial, specs=specs), resources)
    where = ray_storage(join(run or name, "tune"))
    path = f"{where['storage_path']}/{NAME}"
    fs = where.get("storage_filesystem")
    if resume and tune.Tuner.can_restore(path, storage_filesystem=fs):
        tuner = tune.Tuner.restore(path, trainable, resume_unfinished=True, restart_errored=True,
                                   storage_filesystem=fs)
    else:
        tuner = tune.Tuner(trainable, param_space={"trial": tune.grid_search(list(specs))},
                           tune_config=tune.TuneConfig(reuse_actors=False, trial_dirname_creator=TrialFolder(
                               {k: s["name"] for k, s in specs.items()})),
                           run_config=tune.RunConfig(name=NAME, **where, verbose=0, callbacks=[TrialLogger(name)],
                                                     checkpoint_config=tune.CheckpointConfig(num_to_keep=2),
                                                     failure_config=tune.FailureConfig(max_failures=0)))
    previous = signal.getsignal(signal.SIGTERM)
    try:
        # SIGTERM (a scheduler's kill) stops Tune as Ctrl-C does: it saves its state and returns
        signal.signal(signal.SIGTERM, lambda *_: os.kill(os.getpid(), signal.SIGINT))
        grid = tuner.fit()
    finally:
        signal.signal(signal.SIGTERM, previous)
        TRACKERS.pop(name, None)
    outcomes: dict[str, dict] = {}
    for result in grid:
        key = result.config["trial"]
        final = _final_model(result, specs[key], run or name) if result.error is None else None
        if final is not None:
            outcomes[key] = {"status": "FINISHED", "checkpoint": final, "error": None}
        elif result.error is not None:
            outcomes[key] = {"status": "FAILED", "checkpoint": None,
                             "error": str(result.error).strip().splitlines()[-1][:500]}
            if tracker is not None:
                tracker.trial_failed(key, outcomes[key]["error"])
    if len(outcomes) < len(specs) or any(k not in outcomes for k in specs):
        raise KeyboardInterrupt  # stopped before every trial ended: resume with --resume
    return outcomes


def _final_model(result, spec: dict, run: str) -> str | None:
    """A finished trial's final model, read from its latest Tune checkpoint (done.json names it) and copied to
    the driver's OUT/trials/<name>/ (only when its bytes differ: a resume leaves a finished trial's files
    alone); None when the trial has not finished."""
    import json

    from harness.storage import download, exists, join, read_bytes, read_text, with_path

    if result.checkpoint is None:
        return None
    stored = with_path(run, result.checkpoint.path)
    if not exists(join(stored, "done.json")):
        return None
    relative = json.loads(read_text(join(stored, "done.json")))["checkpoint"]
    local = Path(spec["dir"]) / relative
    for name in (relative, str(Path(relative).with_suffix(".json"))):
        target = Path(spec["dir"]) / name
        if not (target.is_file() and target.read_bytes() == read_bytes(join(stored, name))):
            download(join(stored, name), target)
    return str(local)
