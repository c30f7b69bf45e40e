"""run-robustness in MLflow: experiment `<suite>-robustness`; one parent run per invocation (config, the summary,
the per-region table, the full result, a figure per sample with the outputs side by side per region, and the
summary as metrics `responsiveness/<method>`, `reference_accuracy/<method>` with `_ci95_lo`/`_ci95_hi`), one child
run per method (responsiveness, reference accuracy, per-region metrics, the per-image rows); the command then
builds the parent's `report/report.html` from all of it (reports/)."""

from __future__ import annotations

import json

from harness.scoring.truth import ROBUSTNESS_WITHOUT_TRUTH
from harness.tracking.parent import ParentTracker, log_cost, tag_missing_truth
from harness.tracking.store import ci_metrics, log_metrics, metric_key, safe_key

MEASURES = ("responsiveness", "reference_accuracy")


def summary_metrics(summary) -> list[tuple[str, float]]:
    """Each method's responsiveness and reference accuracy with their CIs as the parent's metrics (what the
    command printed, on the run its link opens). Not measured (NaN: a method that ignores the reference has no
    reference accuracy): not logged. A label is cut to 200 characters (MLflow refuses keys over 250)."""
    return [(k, v) for r in summary.to_dict(orient="records") for m in MEASURES
            for k, v in ci_metrics(f"{m}/{safe_key(r['method'])[:200]}", r[m], r[f"{m}_lo"], r[f"{m}_hi"])
            if v == v]


class RobustnessTracker(ParentTracker):
    command = "run-robustness"

    def __init__(self, cfg, suite, methods, log_path=None) -> None:
        super().__init__(cfg, suite, log_path)
        self.methods = methods

    def experiment_name(self) -> str:
        return f"{self.suite.name}-robustness"

    def start(self, cluster: dict) -> str:
        tags = {"references": self.cfg.references, "protocol": self.cfg.protocol_key,
                "mlflow.note.content": f"Robustness run on {self.suite.name}: every method with every candidate "
                                       f"reference region ({self.cfg.references})."}
        params = {k: "" if v is None else str(v) for k, v in self.cfg.to_dict().items()}
        params["methods_resolved"] = ",".join(m.label for m in self.methods)
        return self.open_parent(cluster, f"robustness {self.suite.name}", tags, params)

    def finish(self, result, figures: dict) -> str:
        """Log the result; `figures` maps a sample id to its figure (H×W×3 uint8)."""
        from harness.formatting import jsonable

        c = self.client
        for m in self.methods:
            summ = result.summary[result.summary["method"] == m.label]
            if summ.empty:
                continue
            cid = self.child(m.label, {
                "method": m.name, "suite": self.suite.name,
                "mlflow.note.content": f"{m.label} under every candidate reference region ({self.cfg.references}) "
                                       f"of suite {self.suite.name}: responsiveness, reference accuracy, "
                                       "per-region metrics, per-image rows."})
            c.log_param(cid, "method", m.label[:500])
            r = summ.iloc[0]
            for k in ("responsiveness", "responsiveness_lo", "responsiveness_hi", "reference_accuracy",
                      "reference_accuracy_lo", "reference_accuracy_hi"):
                if r[k] == r[k]:
                    c.log_metric(cid, k, float(r[k]))
            for x in result.per_reference[result.per_reference["method"] == m.label].to_dict(orient="records"):
                for k, v in x.items():
                    if k not in ("method", "reference", "n") and v == v:
                        c.log_metric(cid, metric_key(f"{k}/{x['reference']}"), float(v))
            log_cost(c, cid, result, m.label)
            rows = result.rows[result.rows["method"] == m.label]
            c.log_text(cid, rows.drop(columns=[k for k in ("de2000_to", "truth_apart") if k in rows]).to_csv(
                index=False), "per_image.csv")
            c.set_terminated(cid, "FINISHED")
        log_metrics(c, self.parent, summary_metrics(result.summary))
        for sid, image in figures.items():
            c.log_image(self.parent, image, artifact_file=f"figures/{sid}.png")
        c.log_text(self.parent, result.summary.to_csv(index=False), "summary.csv")
        c.log_text(self.parent, result.per_reference.to_csv(index=False), "per_reference.csv")
        c.log_text(self.parent, result.pairs.to_csv(index=False), "paired_comparisons.csv")
        c.log_text(self.parent, json.dumps(jsonable({**result.to_json(), "mlflow_run_id": self.parent})),
                   "result.json")
        tag_missing_truth(c, self.parent, result.rows, ROBUSTNESS_WITHOUT_TRUTH)
        return self.close()
