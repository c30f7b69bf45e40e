"""run-ablation and sweep in MLflow — the layout the report's Table 3 is built from (reports/, issue 14):

- experiment `<suite>-ablation` (run-ablation) or `<suite>-sweep` (sweep);
- **parent run** per experiment, tag `harness.command` = `run-ablation` | `sweep`, tags `suite`, `budget`,
  `variants` (the arms' names in table order, comma-separated) and `missing` (trial keys that failed);
  params: the config and the resolved budget (`budget.<field>`); metrics: `<metric>/<variant>` with
  `_ci95_lo`/`_ci95_hi` (variant names made key-safe: `style+highlight` → `style_highlight`); artifacts
  `summary.csv`, `comparisons.csv`, `per_image.csv` (every trained model × image, with `arm` and `seed`) and
  `report/report.html` (reports/: Table 3, built by the command once the run is finished), `result.json` (the
  `--json` document: `variants` in table order, each with `name`, `label`, `metrics` {metric: {mean, ci95, n,
  n_seeds}}, `trials`);
- **one child run per trial** (tag `mlflow.parentRunId`, tag `harness.trial` = `<variant>/s<seed>`), params
  `variant`, `seed`, `method`, `loss`, `loss_options`, `overrides` and `budget.<field>`; metrics: the training
  curves `train/<term>` and `val/<metric>` at step = optimizer step over all stages, then the evaluation named
  as run-benchmark's (`psnr`, `ssim`, `de2000`, `fmse`, `fpsnr`, … with `_ci95_lo`/`_ci95_hi` over images), and
  from run-robustness `responsiveness`, `reference_accuracy`; artifact `per_image.csv`. FINISHED after
  its evaluation; FAILED (tag `error`) when its training or evaluation failed.

A resumed experiment reopens its parent and its children (found by `harness.trial`): no duplicates. Every
write happens in the driver (Tune callbacks run there): one writer for a sqlite store.
"""

from __future__ import annotations

import json

from harness.tracking.parent import ParentTracker
from harness.tracking.store import ci_metrics, get_or_create_experiment, log_metrics, safe_key


def variant_key(name: str) -> str:
    """A variant's name as part of a metric key (MLflow keys allow [A-Za-z0-9_-. /])."""
    return safe_key(name).replace("+", "_")


class ExperimentTracker(ParentTracker):
    interrupted = "KILLED"  # an interrupted experiment resumes into the same runs

    def __init__(self, cfg, suite, arms, specs: dict, log_path=None) -> None:
        super().__init__(cfg, suite, log_path)
        self.command = cfg.command
        self.arms, self.specs = arms, specs
        self.children: dict[str, str] = {}  # trial key → its run

    def experiment_name(self) -> str:
        return self.cfg.experiment_name

    def start(self, cluster: dict, budget: dict, resume_parent: str | None = None) -> str:
        if resume_parent:
            return self._reopen(resume_parent)
        what = "Table 3 ablation" if self.cfg.command == "run-ablation" else "training grid"
        tags = {"budget": self.cfg.budget, "variants": ",".join(a.name for a in self.arms),
                "mlflow.note.content": f"{what} on {self.suite.name}: {len(self.arms)} variants × {self.cfg.seeds} "
                                       f"seeds, budget {self.cfg.budget}, one child run per trial."}
        params = {k: json.dumps(v) if isinstance(v, (dict, list)) else ("" if v is None else str(v))
                  for k, v in self.cfg.to_dict().items()}
        params.update({f"budget.{k}": json.dumps(v) if isinstance(v, list) else str(v) for k, v in budget.items()})
        return self.open_parent(cluster, f"{self.cfg.command} {self.suite.name} {self.cfg.budget}", tags, params)

    def _reopen(self, parent: str) -> str:
        """A resumed experiment continues its parent run and the children of its trials (no duplicates)."""
        c = self.client
        self.exp_id = get_or_create_experiment(self.experiment_name(), self.uri)
        self.parent = parent
        self.run_ids.append(parent)
        c.update_run(parent, status="RUNNING")
        c.set_tag(parent, "resumed", "true")
        for run in c.search_runs([self.exp_id], f"tags.mlflow.parentRunId = '{parent}'", max_results=5000):
            key = run.data.tags.get("harness.trial")
            if key in self.specs:
                self.children[key] = run.info.run_id
                self.run_ids.append(run.info.run_id)
        return parent

    # --- per trial, from Tune's callbacks (harness/experiments/tune.py) -------------------------------------
    def trial_run(self, key: str) -> str:
        """The trial's child run (made on its first event)."""
        if key not in self.children:
            spec = self.specs[key]
            rid = self.child(f"{spec['arm']} seed {spec['seed']}", {
                "harness.trial": key, "variant": spec["arm"], "seed": str(spec["seed"]), "suite": self.suite.name})
            params = {"variant": spec["arm"], "seed": spec["seed"], "method": spec["method"], "loss": spec["loss"],
                      "loss_options": json.dumps(spec["loss_options"]), "overrides": json.dumps(spec["overrides"]),
                      "trial_dir": spec["dir"], **{f"budget.{k}": v for k, v in spec["budget"].items()}}
            for k, v in params.items():
                self.client.log_param(rid, k, (json.dumps(v) if isinstance(v, list) else str(v))[:500])
            self.children[key] = rid
        return self.children[key]

    def trial_started(self, key: str) -> None:
        rid = self.trial_run(key)
        run = self.client.get_run(rid)
        if run.info.status != "RUNNING":
            self.client.update_run(rid, status="RUNNING")  # a trial retried on resume continues its run
        if "error" in run.data.tags:
            self.client.delete_tag(rid, "error")

    def trial_result(self, key: str, result: dict) -> None:
        if result.get("cached") or "step" not in result:
            return
        curves = [(k, v) for k, v in result.items()
                  if (k.startswith("train/") or k.startswith("val/")) and isinstance(v, (int, float))]
        if curves:
            log_metrics(self.client, self.trial_run(key), curves, step=int(result["step"]))

    def trial_failed(self, key: str, error: str) -> None:
        """Mark the trial's run FAILED (again, with the full error, once Tune's results are in)."""
        rid = self.trial_run(key)
        self.client.set_tag(rid, "error", error[:5000])
        if self.client.get_run(rid).info.status != "FAILED":
            self.client.set_terminated(rid, "FAILED")

    # --- after evaluation ------------------------------------------------------------------------------------
    def trial_evaluated(self, key: str, summary, per_image, robustness: dict | None) -> None:
        """Log one trained model's evaluation (run-benchmark's metric names) and finish its run."""
        rid = self.trial_run(key)
        values = [kv for r in summary.itertuples() for kv in ci_metrics(r.metric, r.mean, r.ci_lo, r.ci_hi)]
        values += list((robustness or {}).items())
        log_metrics(self.client, rid, [(k, v) for k, v in values if v == v])  # NaN: not measured
        self.client.log_param(rid, "n_images", len(per_image))
        self.client.log_text(rid, per_image.to_csv(index=False), "per_image.csv")
        self.client.set_terminated(rid, "FINISHED")

    def finish(self, result) -> str:
        """Log the experiment's table and comparisons to the parent, and finish it."""
        from harness.formatting import jsonable

        c = self.client
        values = [kv for r in result.summary.itertuples()
                  for kv in ci_metrics(f"{r.metric}/{variant_key(r.arm)}", r.mean, r.ci_lo, r.ci_hi)]
        log_metrics(c, self.parent, [(k, v) for k, v in values if v == v])
        c.log_text(self.parent, result.summary.to_csv(index=False), "summary.csv")
        c.log_text(self.parent, result.comparisons.to_csv(index=False), "comparisons.csv")
        c.log_text(self.parent, result.rows.to_csv(index=False), "per_image.csv")
        if len(result.robustness):
            c.log_text(self.parent, result.robustness.to_csv(index=False), "robustness.csv")
        c.log_text(self.parent, json.dumps(jsonable({**result.to_json(), "mlflow_run_id": self.parent})),
                   "result.json")
        c.set_tag(self.parent, "missing", ",".join(result.missing))
        return self.close()
