"""run-efficiency in MLflow: experiment `efficiency`; one parent run per invocation (the config, the summary
per method × size, the whole result), one child run per method — metrics `latency_ms_median/<size>`,
`latency_ms_p90/<size>`, `peak_mb/<size>`, `gflop/<size>` and `params`, the tag `device` — from which the
command builds the parent's report (reports/)."""

from __future__ import annotations

import json

from harness.tracking.parent import ParentTracker
from harness.tracking.store import log_metrics

EXPERIMENT = "efficiency"


class EfficiencyTracker(ParentTracker):
    command = "run-efficiency"

    def __init__(self, cfg, methods, log_path=None) -> None:
        super().__init__(cfg, None, log_path)
        self.methods = methods

    def experiment_name(self) -> str:
        return EXPERIMENT

    def start(self, cluster: dict) -> str:
        sizes = ", ".join(f"{z}²" for z in self.cfg.sizes)
        tags = {"mlflow.note.content": f"Efficiency: {len(self.methods)} methods timed on square inputs of {sizes} "
                                       f"(batch 1, {self.cfg.threads} torch thread(s) on a CPU, {self.cfg.repeat} "
                                       "timed calls after a warm-up). One child run per method."}
        params = {k: "" if v is None else str(v) for k, v in self.cfg.to_dict().items()}
        params["methods_resolved"] = ",".join(m.label for m in self.methods)
        return self.open_parent(cluster, f"efficiency {sizes}", tags, params)

    def finish(self, result) -> str:
        from harness.formatting import jsonable

        c = self.client
        for m in self.methods:
            s = result.summary[result.summary["method"] == m.label]
            if s.empty:
                continue
            cid = self.child(m.label, {"method": m.name, "device": str(s.iloc[0]["device"])[:5000]})
            values = [(f"{k}/{r['size']}", float(r[k])) for r in s.to_dict(orient="records")
                      for k in ("latency_ms_median", "latency_ms_p90", "peak_mb", "gflop")
                      if r[k] is not None and r[k] == r[k]]
            if s.iloc[0]["params"] is not None:
                values.append(("params", float(s.iloc[0]["params"])))
            log_metrics(c, cid, values)
            c.log_param(cid, "method", m.label[:500])
            c.set_terminated(cid, "FINISHED")
        c.log_text(self.parent, result.summary.to_csv(index=False), "summary.csv")
        c.log_text(self.parent, json.dumps(jsonable({**result.to_json(), "mlflow_run_id": self.parent})),
                   "result.json")
        return self.close()
