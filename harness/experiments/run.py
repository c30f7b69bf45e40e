"""`run-ablation` and `sweep`: train every arm × seed on Ray Tune, evaluate every trained model with the engine,
summarise, log. The shape of every experiment command: a config, Ray doing the work, rows in pandas,
statistics with CIs, a terminal table, `--json`, an MLflow parent with children.

OUT (the experiment directory, on the driver) holds `experiment.json` (the config, arms and budgets — a resume
must match them — and the MLflow parent run) and `trials/<arm>-s<seed>/` (each finished trial's final model,
downloaded from its checkpoint). Tune's state and the trials' checkpoints, logs and curves live in the
experiment's storage (`--storage`, by default OUT: RUN/tune/trials/<arm>-s<seed>/, harness/experiments/tune.py).
Evaluation goes through the engine's cache (resume=True), so a resumed experiment re-scores nothing either.
"""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path
from typing import Callable

from harness.errors import HarnessError, InputError
from harness.config import ExperimentConfig
from harness.experiments.summary import ExperimentResult

STATE = "experiment.json"
MATCH = ("command", "suite", "data_root", "budget", "budget_overrides", "seeds", "variants", "method", "loss",
         "grid", "loss_options", "limit", "references", "storage")  # what a resume must not change


def plan(cfg: ExperimentConfig):
    """(arms, their budgets) — every arm's training checked now, one line per problem."""
    from harness.experiments.arms import ablation_arms, grid_arms
    from harness.experiments.budgets import resolve_budget
    from harness.experiments.trial import stage_config
    from harness.train.driver import validate

    base = resolve_budget(cfg.budget, cfg.budget_overrides)
    arms = ablation_arms(cfg.variants) if cfg.command == "run-ablation" else grid_arms(
        cfg.method, cfg.loss, cfg.grid, base.size)
    for key in ("cpus_per_trial", "gpus_per_trial"):
        if any(key in a.budget for a in arms):
            raise HarnessError(f"--grid {key}: every trial of an experiment asks for the same resources")
    arms = [dataclasses.replace(a, loss_options={**cfg.loss_options, **a.loss_options}) for a in arms]
    budgets = {a.name: resolve_budget(cfg.budget, {**cfg.budget_overrides, **a.budget}) for a in arms}
    for a in arms:
        spec = {"method": a.method, "seed": 0, "loss": a.loss, "loss_options": a.loss_options,
                "overrides": a.overrides, "budget": budgets[a.name].to_dict(), "gpus": 0, "dir": "."}
        for stage in range(1, len(budgets[a.name].steps) + 1):
            try:
                validate(stage_config(spec, stage, None))
            except HarnessError as err:
                raise HarnessError(f"variant {a.name}: {err}") from None
    return arms, budgets


def _prepare_out(cfg: ExperimentConfig, arms, budgets, run: str) -> tuple[Path, dict]:
    from harness.storage import display, exists, join

    out = Path(cfg.out).resolve()
    state_file = out / STATE
    now = {"config": {k: v for k, v in cfg.to_dict().items() if k in MATCH},
           "arms": [a.name for a in arms], "budgets": {k: b.to_dict() for k, b in budgets.items()}}
    now = json.loads(json.dumps(now))  # tuples → lists, as read back
    if not cfg.resume:
        if state_file.exists() or (out / "trials").exists():
            raise InputError(str(out), "holds an earlier experiment: pass --resume to continue it, or choose "
                                       "another --out")
        if exists(join(run, "tune")):
            raise InputError(display(run), "holds an earlier experiment's trials (--storage): pass --resume to "
                                           "continue it, or choose another --out")
        return out, now  # created once the cluster can hold a trial (nothing half-written before)
    if not state_file.is_file():
        raise InputError(str(state_file), "--resume: no experiment to resume here")
    saved = json.loads(state_file.read_text())
    for section in ("config", "arms", "budgets"):
        if saved.get(section) != now[section]:
            old, new = saved.get(section), now[section]
            diff = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k)) if isinstance(new, dict) \
                else [section]
            raise InputError(str(state_file), f"--resume with a different {', '.join(diff)}: an experiment "
                                              "resumes with the settings it started with")
    return out, {**now, "mlflow_run_id": saved.get("mlflow_run_id"), "tracking_uri": saved.get("tracking_uri")}


def run_experiment(cfg: ExperimentConfig, log: Callable[[str], None] | None = None) -> ExperimentResult:
    """Train every arm × seed of `cfg` on Ray Tune, evaluate, summarise, log; `log(str)` receives progress
    notes (default: the console)."""
    from harness.data.suites import open_suite
    from harness.engine.session import command_session
    from harness.experiments.evaluate import evaluate
    from harness.experiments.tune import make_specs, run_trials, trial_resources
    from harness.storage import check_reachable, locate, run_location
    from harness.tracking.experiments import ExperimentTracker

    cfg.check()
    with command_session(cfg, log) as session:
        suite = open_suite(cfg.suite, cfg.data_root, cfg.limit)
        if suite.notice:
            session.log(f"note: {suite.notice}")
        arms, budgets = plan(cfg)
        run = run_location(cfg.storage, cfg.storage_endpoint, cfg.out)
        if cfg.storage:
            check_reachable("--storage", locate(cfg.storage, cfg.storage_endpoint))
        out, state = _prepare_out(cfg, arms, budgets, run)
        t0 = time.perf_counter()
        with session.ray(start=False) as cluster:
            resources, gpus = trial_resources(next(iter(budgets.values())), cluster)
            specs = make_specs(arms, budgets, cfg.seeds, out, gpus)
            tracker = session.track(lambda log_path: ExperimentTracker(cfg, suite, arms, specs, log_path=log_path))
            if tracker is not None:
                tracker.start(cluster, {"name": cfg.budget, **budgets[arms[0].name].to_dict()},
                              resume_parent=state.get("mlflow_run_id") if cfg.resume else None)
                state["mlflow_run_id"], state["tracking_uri"] = tracker.parent, tracker.uri
            out.mkdir(parents=True, exist_ok=True)
            (out / STATE).write_text(json.dumps(state, indent=1))
            session.log(f"{len(specs)} trials ({len(arms)} variants × {cfg.seeds} seeds), {resources['cpu']:g} CPU"
                        f"{f' + {gpus:g} GPU' if gpus else ''} each, on {cluster['cpus']} CPUs / "
                        f"{cluster['gpus']} GPUs")
            outcomes = run_trials(specs, out, resources, tracker, resume=cfg.resume, run=run)
            t1 = time.perf_counter()
            for key, o in outcomes.items():
                if o["status"] != "FINISHED":
                    session.log(f"trial {key} FAILED: {o['error']}")
            result = evaluate(cfg, suite, arms, specs, outcomes, budgets, tracker)
        result.out, result.timings = str(out), {"train": t1 - t0, "evaluate": time.perf_counter() - t1}
        session.finish(result)
    return result
