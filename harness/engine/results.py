"""The results of run-benchmark and run-robustness, and how each presents itself: `to_json()` (the `--json`
document, also logged to MLflow as result.json) and `to_text()` (the terminal table). Numbers are written by
harness/formatting.py; the statistics behind them come from harness/scoring/stats.py and robustness.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from harness.config.reporting import UI_PORT
from harness.formatting import ci_cell, count, plural, sig, table
from harness.scoring.truth import (BENCHMARK_WITHOUT_TRUTH, ROBUSTNESS_WITHOUT_TRUTH, has_truth, truth_json,
                                   truth_notice)

MAIN_METRICS = ("fmse", "fpsnr", "fde2000", "fssim", "mse", "psnr")
PER_VALUE_METRICS = ("mse", "psnr", "fmse")  # what the iHarmony4 papers' per-subset tables report
PER_REFERENCE = ("fmse", "fde2000", "fpsnr", "gap_highlight", "gap_midtone", "gap_shadow", "gap_a", "gap_b")
PAIRED = ("fde2000", "fmse")  # compared between methods, where the suite has truths


@dataclass
class BenchmarkResult:
    suite: str
    source: str
    notice: str | None
    resolution: str
    rows: pd.DataFrame
    summary: pd.DataFrame
    buckets: pd.DataFrame
    pairs: pd.DataFrame
    cluster: dict[str, Any]
    mlflow_run_id: str | None = None
    mlflow_url: str | None = None  # the parent run in the MLflow UI (runs view)
    report: str | None = None  # the report page (reports/): a local file, else its MLflow UI link
    computed: int = 0
    cached: int = 0
    grids: dict[str, Any] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)  # seconds: ray_start, compute (hash + work), summary
    log_path: str | None = None
    fingerprints: dict[str, str] = field(default_factory=dict)  # method label → what keys its cached rows
    protocol: str = "harness:native"  # how the rows were scored (harness/scoring/protocols.py: protocol_key)
    # per subset × method × metric: n, mean, CI, with the all-images row "All" (empty without subsets)
    subsets: pd.DataFrame = field(default_factory=pd.DataFrame)
    # the same per augmentation family (IntHarmony builds: harness/data/augment.py)
    augmentations: pd.DataFrame = field(default_factory=pd.DataFrame)
    # per method: what it cost (harness/methods/cost.py: latency, peak memory, parameters, GFLOP, device)
    efficiency: pd.DataFrame = field(default_factory=pd.DataFrame)

    def to_json(self) -> dict[str, Any]:
        from harness.scoring.consistency import GAPS
        from harness.scoring.metrics import METRICS
        from harness.scoring.score import BREAKDOWNS

        methods = {}
        for label, g in self.summary.groupby("method", sort=False):
            methods[label] = {"mean": {r.metric: r.mean for r in g.itertuples()},
                              "ci95": {r.metric: [r.ci_lo, r.ci_hi] for r in g.itertuples()},
                              **method_cost(self.rows, self.efficiency, label)}
        keep = ["method", "id", *METRICS, *GAPS, "fg_ratio", "source", *COST_COLUMNS]
        keep = [k for k in keep if k in self.rows] + [k for k in BREAKDOWNS if k in self.rows]
        truth = has_truth(self.rows)  # without any, the pairs and buckets (of metrics needing it) are empty
        return {"suite": self.suite, "source": self.source, "protocol": self.protocol,
                "resolution": self.resolution,
                "n": int(self.rows["id"].nunique()) if len(self.rows) else 0, "methods": methods,
                "pairs": self.pairs.to_dict(orient="records") if truth else [],
                "fg_ratio_buckets": self.buckets.to_dict(orient="records") if truth else [],
                "subsets": per_value_json(self.subsets, "subset") if len(self.subsets) else {},
                "augmentations": (per_value_json(self.augmentations, "augmentation")
                                  if len(self.augmentations) else {}),
                "per_image": self.rows[keep].to_dict(orient="records"),
                "ray": self.cluster, "computed": self.computed, "cached": self.cached,
                "mlflow_run_id": self.mlflow_run_id, "mlflow_url": self.mlflow_url, "report": self.report,
                **truth_json(self.rows, BENCHMARK_WITHOUT_TRUTH)}

    def to_text(self) -> str:
        """The terminal table: means with 95% bootstrap CIs, consistency gaps, fg-ratio buckets, per-subset rows,
        significant pairs, then where the run is logged. Without any ground truth, one line says so instead of
        the tables of metrics that need it, and the gaps carry their CIs."""
        lines = [f"suite {self.suite} — source: {self.source} — {plural(self.rows['id'].nunique(), 'image')} × "
                 f"{plural(self.rows['method'].nunique(), 'method')}, protocol {self.protocol}"
                 f" ({self.computed} computed, {self.cached} from cache)"]
        if self.notice:
            lines.append(f"NOTE: {self.notice}")
        missing = truth_notice(self.rows, BENCHMARK_WITHOUT_TRUTH)
        if missing:
            lines.append(f"NOTE: {missing}")
        truth = has_truth(self.rows)
        s = self.summary
        methods = list(dict.fromkeys(s["method"]))
        metrics = [m for m in MAIN_METRICS if m in set(s["metric"])]
        cell = {(r.method, r.metric): r for r in s.itertuples()}
        if truth:
            rows = []
            for m in methods:
                rows.append([m] + [ci_cell(cell[m, k].mean, cell[m, k].ci_lo, cell[m, k].ci_hi, n=cell[m, k].n)
                                   for k in metrics])
            lines += ["", "mean [95% bootstrap CI] (all metrics in --json and MLflow); lower is better for mse and "
                          "ΔE, higher for psnr and ssim",
                      table(["method", *metrics], rows)]
        gaps = [g for g in ("gap_highlight", "gap_midtone", "gap_shadow", "gap_a", "gap_b") if g in set(s["metric"])]
        if gaps:
            def gap(m: str, g: str) -> str:  # without truth the gaps are the result: with their CIs
                c = cell[m, g]
                return sig(c.mean) if truth else ci_cell(c.mean, c.ci_lo, c.ci_hi, n=c.n)

            lines += ["", "reference consistency, no ground truth needed: |foreground − reference region| in L*a*b* "
                          "(highlight/mid-tone/shadow = L* P90/mean/P10; a*, b* means)"
                          + ("" if truth else "; mean [95% bootstrap CI], lower is closer"),
                      table(["method", *[g[4:] for g in gaps]], [[m] + [gap(m, g) for g in gaps] for m in methods])]
        b = self.buckets if truth else self.buckets.iloc[0:0]
        if len(b):
            lines += ["", "fMSE by foreground ratio (n images)"]
            buckets = list(dict.fromkeys(b["bucket"]))
            bcell = {(r["method"], r["bucket"]): r for r in b.to_dict(orient="records")}
            lines.append(table(["method", *buckets], [
                [m] + [f"{sig(bcell[m, k]['fmse'])} ({bcell[m, k]['n']})" if (m, k) in bcell else "-" for k in buckets]
                for m in methods]))
        if len(self.subsets) and truth:
            lines += ["", "per subset, as the iHarmony4 papers tabulate them: mean [95% bootstrap CI] (every metric in "
                          "--json and MLflow)", per_value_text(self.subsets, "subset")]
        if len(self.augmentations) and truth:
            lines += ["", "per augmentation family (how the foreground was made to disagree): mean [95% bootstrap CI]",
                      per_value_text(self.augmentations, "augmentation")]
        if len(self.pairs) and len(methods) > 1 and truth:
            lines += ["", *paired_text(self.pairs, methods, ("fmse", "fde2000", "fpsnr"), "on the same images")]
            lines.append("every pair is in --json and in MLflow (paired_comparisons.csv)")
        lines += cost_text(self.rows, self.efficiency, methods)
        return "\n".join(lines + closing_lines(self))


@dataclass
class RobustnessResult:
    suite: str
    source: str
    notice: str | None
    references: list[str]
    rows: pd.DataFrame  # one per (method, sample, candidate region)
    summary: pd.DataFrame  # per method: responsiveness, reference accuracy
    per_reference: pd.DataFrame  # per method × region: means of PER_REFERENCE
    cluster: dict[str, Any]
    # every method pair on PAIRED, per sample (its mean over regions: regions of one scene are not independent)
    pairs: pd.DataFrame = field(default_factory=pd.DataFrame)
    computed: int = 0
    cached: int = 0
    grids: dict[str, dict[str, bytes]] = field(default_factory=dict)  # sample id → {method|region: PNG}
    mlflow_run_id: str | None = None
    mlflow_url: str | None = None  # the parent run in the MLflow UI (runs view)
    report: str | None = None  # the report page (reports/): a local file, else its MLflow UI link
    efficiency: pd.DataFrame = field(default_factory=pd.DataFrame)  # per method (harness/methods/cost.py)

    def to_json(self) -> dict[str, Any]:
        methods = {}
        per_ref = self.per_reference
        for r in self.summary.to_dict(orient="records"):
            acc = r["reference_accuracy"]
            known = acc == acc  # not NaN
            rows = per_ref[per_ref["method"] == r["method"]]
            methods[r["method"]] = {
                "responsiveness": r["responsiveness"],
                "responsiveness_ci95": [r["responsiveness_lo"], r["responsiveness_hi"]],
                "reference_accuracy": acc if known else None,
                "reference_accuracy_ci95": [r["reference_accuracy_lo"], r["reference_accuracy_hi"]] if known else None,
                "pairs": r["pairs"], "samples": r["samples"],
                "per_reference": {x["reference"]: {k: x[k] for k in PER_REFERENCE if k in x}
                                  for x in rows.to_dict(orient="records")},
                **method_cost(self.rows, self.efficiency, r["method"])}
        flat = self.rows.drop(columns=[c for c in ("de2000_to", "truth_apart", "node", "worker_seconds")
                                       if c in self.rows])
        return {"suite": self.suite, "source": self.source, "references": self.references,
                "n": int(self.rows["id"].nunique()) if len(self.rows) else 0, "methods": methods,
                "pairs": self.pairs.to_dict(orient="records"),
                "per_image": flat.to_dict(orient="records"), "ray": self.cluster, "computed": self.computed,
                "cached": self.cached, "mlflow_run_id": self.mlflow_run_id, "mlflow_url": self.mlflow_url,
                "report": self.report, **truth_json(self.rows, ROBUSTNESS_WITHOUT_TRUTH)}

    def to_text(self) -> str:
        """The terminal table: responsiveness and reference accuracy with CIs, the paired differences."""
        lines = [f"suite {self.suite} — source: {self.source} — {plural(self.rows['id'].nunique(), 'sample')} × "
                 f"{plural(self.rows['method'].nunique(), 'method')} × candidate regions "
                 f"({', '.join(self.references)}); "
                 f"{self.computed} (method, sample) pairs computed, {self.cached} from cache"]
        if self.notice:
            lines.append(f"NOTE: {self.notice}")
        missing = truth_notice(self.rows, ROBUSTNESS_WITHOUT_TRUTH)
        if missing:
            lines.append(f"NOTE: {missing}")
        truth = has_truth(self.rows)
        means = self.rows.groupby("method", sort=False)[["fde2000", "gap_midtone"]].mean()
        body = []
        for r in self.summary.to_dict(orient="records"):
            acc = r["reference_accuracy"]
            one = r["samples"] < 2  # a bootstrap over one sample is no interval
            body.append([r["method"], ci_cell(r["responsiveness"], r["responsiveness_lo"], r["responsiveness_hi"], 3,
                                              n=r["samples"]),
                         "-" if acc != acc else f"{100 * acc:.0f}% " + (
                             "(n = 1, no CI)" if one else f"[{100 * r['reference_accuracy_lo']:.0f}, "
                                                          f"{100 * r['reference_accuracy_hi']:.0f}]")
                         + f" ({plural(r['pairs'], 'pair')})",
                         sig(means.loc[r["method"], "fde2000"]), sig(means.loc[r["method"], "gap_midtone"])])
        header = ["method", "responsiveness", "reference accuracy", "fΔE2000", "gap midtone"]
        caption = ("responsiveness = foreground colour change between regions / the regions' own colour difference "
                   "(0: ignores the reference); reference accuracy = output under A closer to truth A than to "
                   "truth B (50% = chance); 95% bootstrap CIs over samples; fΔE2000 and the mid-tone gap are "
                   "means over samples × regions")
        if not truth:  # nothing measured in those two columns: the notice above says why
            header, body = [header[0], header[1], header[4]], [[b[0], b[1], b[4]] for b in body]
            caption = ("responsiveness = foreground colour change between regions / the regions' own colour "
                       "difference (0: ignores the reference), 95% bootstrap CI over samples; the mid-tone gap is a "
                       "mean over samples × regions")
        lines += ["", caption, table(header, body)]
        methods = list(self.summary["method"])
        if len(self.pairs) and len(methods) > 1 and truth:
            lines += ["", *paired_text(self.pairs, methods, PAIRED, "per sample (its mean over the regions)"),
                      "every pair is in --json (pairs) and in MLflow (paired_comparisons.csv)"]
        lines += cost_text(self.rows, self.efficiency, methods)
        return "\n".join(lines + closing_lines(self))


def per_value_json(long, column: str, by: str | None = "method") -> dict[str, Any]:
    """`summarize_per_value`'s long table as JSON: {value: {group: {"n", "mean": {metric: …}, "ci95":
    {metric: [lo, hi]}}}} (value order kept, the all-images row last); without `by`, {value: {"n", "mean",
    "ci95"}}. "n" counts the images of that value (per-metric counts, after NaNs, are in the table)."""
    out: dict[str, Any] = {}
    for value, rows in long.groupby(column, sort=False):
        groups = rows.groupby(by, sort=False) if by else [(None, rows)]
        entry = {}
        for group, g in groups:
            cell = {"n": int(g["n"].max()), "mean": {r.metric: r.mean for r in g.itertuples()},
                    "ci95": {r.metric: [r.ci_lo, r.ci_hi] for r in g.itertuples()}}
            if by:
                entry[str(group)] = cell
            else:
                entry = cell
        out[str(value)] = entry
    return out


def per_value_text(long, column: str, by: str | None = "method", metrics=PER_VALUE_METRICS) -> str:
    """A terminal table of `summarize_per_value`'s output: one column per value of `column` (the all-images
    row last), one row per metric × group, cells "mean [95% CI]"."""
    values = list(dict.fromkeys(long[column]))
    n = {v: int(long.loc[long[column] == v, "n"].max()) for v in values}
    groups = list(dict.fromkeys(long[by])) if by else [None]
    cell = {(r[column], r[by] if by else None, r["metric"]): r for r in long.to_dict(orient="records")}
    rows = []
    for metric in metrics:
        for i, group in enumerate(groups):
            row = [metric if i == 0 else ""] + ([group] if by else [])
            for v in values:
                r = cell.get((v, group, metric))
                row.append(ci_cell(r["mean"], r["ci_lo"], r["ci_hi"], n=r["n"]) if r else "-")
            rows.append(row)
    return table(["metric", *([by] if by else []), *[f"{v} (n={n[v]})" for v in values]], rows)


def paired_text(p, methods: list[str], shown: tuple[str, ...], unit: str) -> list[str]:
    """Paired differences of every method against the first (rows of scoring.stats.paired_comparisons), as
    method − first: mean [CI] and the Holm-corrected p, then how many of all the comparisons are significant."""
    base = methods[0]
    lines = [f"paired differences against {base} {unit}: mean [95% bootstrap CI], Wilcoxon signed-rank p, "
             "Holm-corrected over all method pairs (* p < 0.05)"]
    rows = []
    for m in methods[1:]:
        row = [m]
        for metric in shown:
            hit = p[(p["metric"] == metric) & (((p["a"] == m) & (p["b"] == base)) | ((p["a"] == base) & (p["b"] == m)))]
            if hit.empty:
                row.append("-")
                continue
            r = hit.iloc[0]
            sign = 1.0 if r["a"] == m else -1.0  # report method − base
            lo, hi = sorted((sign * r["ci_lo"], sign * r["ci_hi"]))
            row.append(ci_cell(sign * r["diff"], lo, hi, n=r["n"]) + f" p={sig(r['p_holm'], 2)}"
                       + (" *" if r["p_holm"] < 0.05 else ""))
        rows.append(row)
    n_sig = int((p["p_holm"] < 0.05).sum())
    return [*lines, table(["method", *[f"Δ{k} (method − {base})" for k in shown]], rows),
            f"{n_sig} of {len(p)} comparisons (all pairs × all metrics) significant at 0.05 after Holm"]


def closing_lines(result) -> list[str]:
    """The closing lines of a command that logged to MLflow: the run, then the report page (last, so that
    `make run` ends on it)."""
    if not result.mlflow_run_id:
        return []
    url = getattr(result, "mlflow_url", None)
    # a local store's links point at `harness ui` (UI_PORT); a server's at the server, which is already up
    lines = ["", f"MLflow run {result.mlflow_run_id}" + (f": {url}" + (" (start `harness ui` first)" if url.startswith(
        f"http://127.0.0.1:{UI_PORT}/") else "") if url else " — browse with `harness ui`")]
    if getattr(result, "report", None):
        lines.append(f"report: {result.report}")
    return lines


COST_COLUMNS = ("seconds", "peak_mb", "upsample", "device")  # per image, beside the metrics


def method_cost(rows: pd.DataFrame, efficiency: pd.DataFrame, label: str) -> dict[str, Any]:
    """A method's `efficiency` (harness/methods/cost.py) and the way(s) up it took, for --json."""
    out: dict[str, Any] = {}
    if len(efficiency):
        hit = efficiency[efficiency["method"] == label]
        if len(hit):
            out["efficiency"] = {k: v for k, v in hit.iloc[0].to_dict().items() if k != "method"}
    if "upsample" in rows:
        out["upsample"] = ", ".join(dict.fromkeys(rows.loc[rows["method"] == label, "upsample"].dropna()))
    return out


def cost_text(rows: pd.DataFrame, efficiency: pd.DataFrame, methods: list[str]) -> list[str]:
    """The terminal's cost block: per method latency (median, P90), peak memory, parameters, GFLOP, and the
    way up to the sample's resolution; then the device(s) that ran them."""
    if not len(efficiency):
        return []
    by = {r["method"]: r for r in efficiency.to_dict(orient="records")}
    ways = rows.groupby("method", sort=False)["upsample"].agg(lambda s: ", ".join(dict.fromkeys(s.dropna()))) \
        if "upsample" in rows else {}
    body = []
    for m in methods:
        r = by.get(m)
        if r is None:
            continue
        body.append([m, sig(r["latency_ms_median"], 3), sig(r["latency_ms_p90"], 3), sig(r["peak_mb"], 3),
                     count(r["params"]), "-" if r["gflop"] is None or r["gflop"] != r["gflop"] else sig(r["gflop"], 3),
                     ways.get(m, "") if len(ways) else ""])
    devices = "; ".join(dict.fromkeys(str(r["device"]) for r in by.values() if r["device"]))
    return ["", "cost of harmonize alone (warm; decoding and scoring excluded): latency in ms, peak memory in MB "
                "(GPU: max allocated; CPU: resident growth of the first call), GFLOP of one forward; way up = "
                "from the working resolution to the sample's (none: scored at it)",
            table(["method", "ms median", "ms P90", "peak MB", "params", "GFLOP", "way up"], body),
            f"device: {devices}"]
