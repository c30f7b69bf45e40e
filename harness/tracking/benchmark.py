"""run-benchmark in MLflow: one parent run per invocation (config, cluster, summary tables, the full result,
the log of Ray's and MLflow's messages, `per_subset.csv`, and the summary as metrics `<metric>/<method>` with
`_ci95_lo`/`_ci95_hi`, method names made key-safe: `lum-match` → `lum_match`), one child run per method
(metrics with CIs, fg-ratio buckets, per-subset metrics `fmse/HCOCO` … `fmse/All` with their CIs, the per-image
table, an image grid, and the grid's tiles one by one under `samples/` for the report's qualitative figure); the
command then builds the parent's `report/report.html` from all of it (reports/). The experiment is named after
the suite; the protocol is a tag of every run; every run carries a description of what was run
(`mlflow.note.content`)."""

from __future__ import annotations

import json

from harness.data.io import id_to_stem
from harness.scoring.truth import BENCHMARK_WITHOUT_TRUTH
from harness.tracking.parent import ParentTracker, log_cost, tag_missing_truth
from harness.tracking.store import ci_metrics, log_metrics, metric_key, safe_key


def summary_metrics(summary) -> list[tuple[str, float]]:
    """The summary (rows of method, metric, mean, ci_lo, ci_hi) as the parent's metrics — what the command
    printed, on the run its link opens (not only on the children). Not measured (NaN): not logged. A label is
    cut to 200 characters (a checkpoint path can be long; MLflow refuses keys over 250)."""
    return [(k, v) for r in summary.itertuples()
            for k, v in ci_metrics(f"{r.metric}/{safe_key(r.method)[:200]}", r.mean, r.ci_lo, r.ci_hi) if v == v]


class BenchmarkTracker(ParentTracker):
    command = "run-benchmark"

    def __init__(self, cfg, suite, methods, log_path=None) -> None:
        super().__init__(cfg, suite, log_path)
        self.methods = methods

    def start(self, cluster: dict) -> str:
        notice = f"\n\n**{self.suite.notice}**" if self.suite.notice else ""
        note = (f"Benchmark: {len(self.methods)} methods ({', '.join(m.label for m in self.methods)}) on suite "
                f"{self.suite.name} ({self.suite.source}, {len(self.suite)} samples), protocol "
                f"{self.cfg.protocol_key}, reference regions: {self.cfg.reference}. One child run per method; the "
                f"report page is report/report.html (Artifacts).{notice}")
        tags = {"protocol": self.cfg.protocol_key, "resolution": self.cfg.resolution, "reference": self.cfg.reference,
                "mlflow.note.content": note}
        params = {k: "" if v is None else str(v) for k, v in self.cfg.to_dict().items()}
        params["methods_resolved"] = ",".join(m.label for m in self.methods)
        return self.open_parent(cluster, f"{self.suite.name} [{self.suite.source}]", tags, params)

    def finish(self, result, grids: dict, samples: tuple[dict, dict] | None = None) -> str:
        """Log the result; `grids` maps a method label to its grid image (H×W×3 uint8); `samples` is (per sample
        id its input tiles — engine/tiles.py `input_tiles` —, per method label {sample id: output tile})."""
        from harness.formatting import jsonable
        from harness.scoring.consistency import GAPS
        from harness.scoring.metrics import METRICS
        from harness.scoring.score import BREAKDOWNS

        c = self.client
        for m in self.methods:
            rows = result.rows[result.rows["method"] == m.label]
            if rows.empty:
                continue
            cid = self.child(m.label, {
                "method": m.name, "suite": self.suite.name,
                "suite_source": self.suite.source, "protocol": self.cfg.protocol_key,
                "resolution": self.cfg.resolution,
                "mlflow.note.content": f"{m.label} on suite {self.suite.name} ({len(rows)} images, protocol "
                                       f"{self.cfg.protocol_key}): metrics with 95% bootstrap CIs, per-image "
                                       "rows (per_image.csv), its outputs beside the inputs (grid.png)."})
            c.log_param(cid, "method", m.label[:500])
            c.log_param(cid, "method_fingerprint", result.fingerprints.get(m.label, ""))
            c.log_param(cid, "n_images", len(rows))
            values = [kv for r in result.summary[result.summary["method"] == m.label].itertuples()
                      for kv in ci_metrics(r.metric, r.mean, r.ci_lo, r.ci_hi)]
            for r in result.buckets[result.buckets["method"] == m.label].to_dict(orient="records"):
                values += [(metric_key(f"{metric}/fg_{r['bucket']}"), r[metric])
                           for metric in ("fmse", "fpsnr", "fde2000") if metric in r]
                values.append((metric_key(f"n_images/fg_{r['bucket']}"), r["n"]))
            log_metrics(c, cid, [(k, v) for k, v in values if v == v])  # NaN (no ground truth): not logged
            log_cost(c, cid, result, m.label)
            self._log_per_value(cid, result.subsets, "subset", m.label)
            self._log_per_value(cid, result.augmentations, "augmentation", m.label)
            cols = ["id", *METRICS, *GAPS, "fg_ratio", "source", "seconds", "peak_mb", "upsample"] + [
                k for k in BREAKDOWNS if k in rows]
            table = rows[[k for k in cols if k in rows]].reset_index(drop=True)
            c.log_table(cid, data=table.replace([float("inf")], 1e308), artifact_file="per_image.json")
            c.log_text(cid, table.to_csv(index=False), "per_image.csv")
            if m.label in grids:
                c.log_image(cid, grids[m.label], artifact_file="grid.png")
            for sid, tile in (samples[1].get(m.label, {}) if samples else {}).items():
                c.log_image(cid, tile, artifact_file=f"samples/{id_to_stem(sid)}.png")
            c.set_terminated(cid, "FINISHED")
        log_metrics(c, self.parent, summary_metrics(result.summary))
        c.log_text(self.parent, result.summary.to_csv(index=False), "summary.csv")
        c.log_text(self.parent, result.pairs.to_csv(index=False), "paired_comparisons.csv")
        if len(result.subsets):
            c.log_text(self.parent, result.subsets.to_csv(index=False), "per_subset.csv")
        if len(result.augmentations):
            c.log_text(self.parent, result.augmentations.to_csv(index=False), "per_augmentation.csv")
        c.log_table(self.parent, data=result.summary.replace([float("inf")], 1e308), artifact_file="summary.json")
        c.log_text(self.parent, json.dumps(jsonable({**result.to_json(), "mlflow_run_id": self.parent})),
                   "result.json")
        if samples:
            self._log_inputs(samples[0])
        tag_missing_truth(c, self.parent, result.rows, BENCHMARK_WITHOUT_TRUTH)
        c.set_tag(self.parent, "computed", str(result.computed))
        c.set_tag(self.parent, "cached", str(result.cached))
        return self.close()

    def _log_inputs(self, inputs: dict) -> None:
        """What every method's output is shown beside, once per sample: samples/<stem>/{composite, regions,
        truth}.png, and samples/index.json (the sample ids, in the suite's order, with their file stems)."""
        index = []
        for sid, tiles in inputs.items():
            stem = id_to_stem(sid)
            index.append({"id": sid, "stem": stem})
            for name, tile in tiles.items():
                if tile is not None:
                    self.client.log_image(self.parent, tile, artifact_file=f"samples/{stem}/{name}.png")
        self.client.log_dict(self.parent, index, "samples/index.json")

    def _log_per_value(self, run_id: str, long, column: str, label: str) -> None:
        """Per-value means and CIs of one method (per subset: `fmse/HCOCO`, `fmse/HCOCO_ci95_lo`, …, `fmse/All`;
        per augmentation the same), in batches (5 subsets × 10 metrics × 3 values: one call, not 150)."""
        if len(long):
            log_metrics(self.client, run_id, [kv for r in long[long["method"] == label].to_dict(orient="records")
                                              for kv in ci_metrics(f"{r['metric']}/{r[column]}", r["mean"],
                                                                   r["ci_lo"], r["ci_hi"]) if kv[1] == kv[1]])
