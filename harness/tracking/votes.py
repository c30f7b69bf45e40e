"""analyze-votes in MLflow: experiment `user-studies`, one run per analysis — params, per-method metrics, the
method and pair tables, the figure, the whole result."""

from __future__ import annotations

import os
import warnings

from harness.tracking.store import client, get_or_create_experiment, log_file, safe_key

EXPERIMENT = "user-studies"


def log_vote_analysis(cfg, res: dict, fig, log_path=None) -> str:
    import pandas as pd

    c = client(cfg.tracking_uri)
    exp_id = get_or_create_experiment(EXPERIMENT, cfg.tracking_uri)
    run_id = c.create_run(exp_id, run_name=f"{os.path.basename(cfg.csv)} ({res['kind']})",
                          tags={"harness.command": "analyze-votes"}).info.run_id
    st = res["settings"]
    params = {"csv": os.path.abspath(cfg.csv), "kind": res["kind"], "ties": cfg.ties, "bootstrap": st["bootstrap"],
              "seed": cfg.seed, "n_votes": res["n_votes"], "n_subjects": st["n_subjects"],
              "n_images": st["n_images"], "methods": ",".join(m["method"] for m in res["methods"])}
    for k, v in params.items():
        c.log_param(run_id, k, str(v)[:500])
    for m in res["methods"]:
        for fld in ("thurstone", "jod", "bt", "win_rate", "score"):
            if m.get(fld) is not None:
                c.log_metric(run_id, f"{fld}.{safe_key(m['method'])}", m[fld])
    table = pd.DataFrame([{**{k: v for k, v in m.items() if not k.endswith("_ci")},
                           "thurstone_lo": m["thurstone_ci"][0], "thurstone_hi": m["thurstone_ci"][1],
                           "bt_lo": m["bt_ci"][0], "bt_hi": m["bt_ci"][1]} for m in res["methods"]])
    with warnings.catch_warnings():
        # mlflow's log_table trips a pandas-3 deprecation warning inside mlflow itself
        warnings.filterwarnings("ignore", message=".*select_dtypes.*")
        c.log_table(run_id, data=table, artifact_file="methods.json")
        c.log_table(run_id, data=pd.DataFrame(res["pairs"]), artifact_file="pairs.json")
    c.log_dict(run_id, res, "analysis.json")
    if fig is not None:
        c.log_figure(run_id, fig, "figure.png")
    log_file(c, run_id, log_path)
    c.set_terminated(run_id, "FINISHED")
    return run_id
