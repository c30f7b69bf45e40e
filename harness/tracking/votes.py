"""analyze-votes in MLflow: one run per analysis — params, per-method metrics, the method and pair tables, the
figure, the whole result. Experiment `user-studies`, or — for a collect-votes study made from a benchmark run —
that run's experiment and store, the run tagged `harness.benchmark_run` (so the study sits beside the
benchmark it judged); `--experiment` / `--tracking-uri` override."""

from __future__ import annotations

import os
import warnings

from harness.tracking.store import client, get_or_create_experiment, log_file, safe_key

EXPERIMENT = "user-studies"


def target(cfg, study: dict | None) -> tuple[str | None, str]:
    """(tracking URI, experiment name) for an analysis: the flags, else the study's benchmark run's (when the
    user named no store, not even through $MLFLOW_TRACKING_URI), else the defaults."""
    bench = (study or {}).get("mlflow") or {}
    uri = cfg.tracking_uri or (None if os.environ.get("MLFLOW_TRACKING_URI") else bench.get("uri"))
    return uri, cfg.experiment or bench.get("experiment_name") or EXPERIMENT


def log_vote_analysis(cfg, res: dict, fig, log_path=None, study: dict | None = None) -> str:
    import pandas as pd

    uri, experiment = target(cfg, study)
    c = client(uri)
    exp_id = get_or_create_experiment(experiment, uri)
    tags = {"harness.command": "analyze-votes"}
    if study is not None:
        tags["harness.study"] = study["dir"]
        if (study.get("mlflow") or {}).get("run_id"):
            tags["harness.benchmark_run"] = study["mlflow"]["run_id"]
    name = os.path.basename(cfg.csv) if study is None else f"user study {os.path.basename(study['dir'])}"
    st = res["settings"]
    tags["mlflow.note.content"] = (
        f"{'A/B' if res['kind'] == 'ab' else 'Ranking'} user study analysis of {os.path.abspath(cfg.csv)}: "
        f"{res['n_votes']} {'votes' if res['kind'] == 'ab' else 'rankings'} by {st['n_subjects']} subjects on "
        f"{st['n_images']} images, {len(res['methods'])} methods ({', '.join(m['method'] for m in res['methods'])}); "
        f"Thurstone Case V (prior {cfg.prior}), Bradley–Terry, {st['bootstrap']} subject-bootstrap resamples. "
        "The whole result is analysis.json.")
    run_id = c.create_run(exp_id, run_name=f"{name} ({res['kind']})", tags=tags).info.run_id
    params = {"csv": os.path.abspath(cfg.csv), "kind": res["kind"], "ties": cfg.ties, "bootstrap": st["bootstrap"],
              "seed": cfg.seed, "n_votes": res["n_votes"], "n_subjects": st["n_subjects"],
              "n_images": st["n_images"], "methods": ",".join(m["method"] for m in res["methods"]),
              "prior": cfg.prior}
    if study is not None:
        params.update(design=study.get("design"), study_trials_per_subject=study.get("trials_per_subject"),
                      study_repeats_per_subject=study.get("repeats_per_subject"),
                      study_subjects_planned=study.get("subjects"))
    for k, v in params.items():
        c.log_param(run_id, k, str(v)[:500])
    for m in res["methods"]:
        for fld in ("thurstone", "jod", "bt", "win_rate", "score"):
            if m.get(fld) is not None:
                c.log_metric(run_id, f"{fld}.{safe_key(m['method'])}", m[fld])
    table = pd.DataFrame([{**{k: v for k, v in m.items() if not k.endswith("_ci")},
                           "thurstone_lo": m["thurstone_ci"][0], "thurstone_hi": m["thurstone_ci"][1],
                           "jod_lo": m["jod_ci"][0], "jod_hi": m["jod_ci"][1],
                           "bt_lo": m["bt_ci"][0], "bt_hi": m["bt_ci"][1]} for m in res["methods"]])
    with warnings.catch_warnings():
        # mlflow's log_table trips a pandas-3 deprecation warning inside mlflow itself
        warnings.filterwarnings("ignore", message=".*select_dtypes.*")
        c.log_table(run_id, data=table, artifact_file="methods.json")
        c.log_table(run_id, data=pd.DataFrame(res["pairs"]), artifact_file="pairs.json")
    c.log_dict(run_id, res, "analysis.json")
    if fig is not None:
        c.log_figure(run_id, fig, "figure.png")
    if study is not None:  # what was shown, every answer with its timing, and the repeat consistency
        for name in ("study.json", "trials.csv", "consistency.csv"):
            path = os.path.join(study["dir"], name)
            if os.path.isfile(path):
                c.log_artifact(run_id, path, "study")
    log_file(c, run_id, log_path)
    c.set_terminated(run_id, "FINISHED")
    return run_id
