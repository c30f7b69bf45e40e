"""run-robustness in MLflow: experiment `<suite>-robustness`; one parent run per sweep (config, the summary, the
per-region table, the full result, a figure per sample with the outputs side by side per region), one child
run per method (responsiveness, reference accuracy, per-region metrics, the per-image rows); the parent's
`report/report.html` is built from all of it (reports/)."""

from __future__ import annotations

import json
import time

from harness.tracking.store import (client, fail_runs, finish_parent, get_or_create_experiment, git_sha,
                                    harness_version, metric_key, resolve_tracking_uri)


class RobustnessTracker:
    def __init__(self, cfg, suite, methods, log_path=None) -> None:
        self.cfg, self.suite, self.methods, self.log_path = cfg, suite, methods, log_path
        self.uri = resolve_tracking_uri(cfg.tracking_uri)
        self.client = client(self.uri)
        self.run_ids: list[str] = []
        self.parent: str | None = None
        self.url: str | None = None  # the parent run in the MLflow UI
        self.report: str | None = None  # its report page: a local file, else its UI link

    def start(self, cluster: dict) -> str:
        self.exp_id = get_or_create_experiment(f"{self.suite.name}-robustness", self.uri)
        tags = {"harness.command": "run-robustness", "git_sha": git_sha(), "harness_version": harness_version(),
                "suite": self.suite.name, "suite_source": self.suite.source, "n_samples": str(len(self.suite)),
                "references": self.cfg.references, "ray_address": str(cluster.get("address")),
                "mlflow.note.content": f"Robustness run on {self.suite.name}: every method with every candidate "
                                       f"reference region ({self.cfg.references})."}
        if self.suite.notice:
            tags["data_notice"] = self.suite.notice
        name = f"robustness {self.suite.name} {time.strftime('%Y-%m-%d %H:%M:%S')}"
        self.parent = self.client.create_run(self.exp_id, run_name=name, tags=tags).info.run_id
        self.run_ids.append(self.parent)
        for k, v in self.cfg.to_dict().items():
            self.client.log_param(self.parent, k, ("" if v is None else str(v))[:500])
        self.client.log_param(self.parent, "methods_resolved", ",".join(m.label for m in self.methods)[:500])
        return self.parent

    def finish(self, result, figures: dict, note=None) -> str:
        """Log the result; `figures` maps a sample id to its figure (H×W×3 uint8); `note` receives the line
        saying why a report could not be built, if it could not."""
        from harness.scoring.tables import jsonable

        c = self.client
        for m in self.methods:
            summ = result.summary[result.summary["method"] == m.label]
            if summ.empty:
                continue
            cid = c.create_run(self.exp_id, run_name=m.label, tags={
                "mlflow.parentRunId": self.parent, "method": m.name, "suite": self.suite.name,
                "mlflow.note.content": f"{m.label} under every candidate reference region ({self.cfg.references}) "
                                       f"of suite {self.suite.name}: responsiveness, reference accuracy, "
                                       "per-region metrics, per-image rows."}).info.run_id
            self.run_ids.append(cid)
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
            rows = result.rows[result.rows["method"] == m.label]
            c.log_text(cid, rows.drop(columns=[k for k in ("de2000_to", "truth_apart") if k in rows]).to_csv(
                index=False), "per_image.csv")
            c.set_terminated(cid, "FINISHED")
        for sid, image in figures.items():
            c.log_image(self.parent, image, artifact_file=f"figures/{sid}.png")
        c.log_text(self.parent, result.summary.to_csv(index=False), "summary.csv")
        c.log_text(self.parent, result.per_reference.to_csv(index=False), "per_reference.csv")
        c.log_text(self.parent, result.pairs.to_csv(index=False), "paired_comparisons.csv")
        c.log_text(self.parent, json.dumps(jsonable({**result.to_json(), "mlflow_run_id": self.parent})),
                   "result.json")
        self.url, self.report = finish_parent(c, self.uri, self.exp_id, self.parent, self.log_path, note)
        return self.parent

    def fail(self, err: BaseException) -> None:
        fail_runs(self.client, self.parent, self.run_ids, err, self.log_path)
