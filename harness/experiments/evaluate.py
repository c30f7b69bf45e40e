"""Every trained model of an experiment through the engine: run-benchmark's scoring on the suite, and the
robustness run (run-robustness) over the suite's candidate reference regions — with the engine's cache on,
so a resumed experiment re-scores nothing. Then the experiment's statistics (summary.py) and each trial's
evaluation in its MLflow run."""

from __future__ import annotations

import pandas as pd

from harness.experiments.summary import ExperimentResult, robustness_by_arm, summarise, tag_rows


def evaluate(cfg, suite, arms, specs: dict, outcomes: dict, budgets: dict, tracker=None) -> ExperimentResult:
    from harness.config import BenchmarkConfig, RobustnessConfig
    from harness.console import current
    from harness.engine.benchmark import run_benchmark
    from harness.engine.robustness import run_robustness
    from harness.scoring.consistency import GAPS
    from harness.scoring.metrics import METRICS
    from harness.scoring.stats import consecutive_comparisons

    finished = {k: o["checkpoint"] for k, o in outcomes.items() if o["status"] == "FINISHED"}
    label = {k: f"{specs[k]['method']}:checkpoint={path}" for k, path in finished.items()}
    trial_of = {lab: (specs[k]["arm"], specs[k]["seed"]) for k, lab in label.items()}
    key_of = {lab: k for k, lab in label.items()}
    common = dict(suite=cfg.suite, data_root=cfg.data_root, limit=cfg.limit, resume=True, ray_address=cfg.ray_address,
                  num_cpus=cfg.num_cpus, mlflow=False, seed=cfg.seed, bootstrap=cfg.bootstrap, cache_dir=cfg.cache_dir,
                  progress=cfg.progress)
    say = current().note

    def note(line: str) -> None:
        # the engine's cache is always on here (resume=True): its "resume: N cached" line means something only
        # when the user resumed; and the suite's notice was said once already, by the experiment
        if (cfg.resume or not line.startswith("resume:")) and line != f"note: {suite.notice}":
            say(line)

    rows = pd.DataFrame()
    bench = rob = None
    if label:
        bench = run_benchmark(BenchmarkConfig(methods=list(label.values()), **common), log=note)
        rows = tag_rows(bench.rows, trial_of)
        if cfg.references:
            rob = run_robustness(RobustnessConfig(methods=list(label.values()), references=cfg.references, **common),
                                 log=note)
    order = [a.name for a in arms]
    metrics = [m for m in (*METRICS, *GAPS) if m in rows]
    summary = summarise(rows, order, metrics, cfg.bootstrap, cfg.seed)
    present = [a for a in order if len(rows) and (rows["arm"] == a).any()]
    comparisons = consecutive_comparisons(rows, [m for m in METRICS if m in rows], present, by="arm",
                                          n_boot=cfg.bootstrap, seed=cfg.seed) if len(present) > 1 else pd.DataFrame(
        columns=["metric", "a", "b", "n_seeds", "n", "diff", "ci_lo", "ci_hi", "p", "p_holm"])
    robustness = robustness_by_arm(tag_rows(rob.rows, trial_of), cfg.bootstrap, cfg.seed) if rob is not None \
        else pd.DataFrame()
    trials = pd.DataFrame([{"key": k, "arm": s["arm"], "seed": s["seed"],
                            "status": outcomes.get(k, {}).get("status", "FAILED"),
                            "checkpoint": outcomes.get(k, {}).get("checkpoint"),
                            "error": outcomes.get(k, {}).get("error"),
                            "mlflow_run_id": tracker.children.get(k) if tracker else None}
                           for k, s in specs.items()])
    b = budgets[arms[0].name]
    result = ExperimentResult(cfg.command, suite.name, suite.source, {"name": cfg.budget, **b.to_dict()},
                              [{"name": a.name, "label": a.label, "grid": a.grid} for a in arms], trials,
                              rows, summary, comparisons, robustness)
    if tracker:
        for lab, key in key_of.items():
            per_trial = bench.summary[bench.summary["method"] == lab]
            per_image = rows[rows["method"] == lab].drop(columns=["method"])
            extra = None
            if rob is not None:
                r = rob.summary[rob.summary["method"] == lab]
                extra = {k: float(r.iloc[0][k]) for k in ("responsiveness", "reference_accuracy")} if len(r) else None
            tracker.trial_evaluated(key, per_trial, per_image, extra)
    return result
