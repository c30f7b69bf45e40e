"""Terminal tables and JSON conversion shared by the CLI commands.

JSON has no infinity: a non-finite float (e.g. PSNR of identical images) is written as the string "inf" or
"-inf", and NaN as null, so every output is strict JSON that any parser (jq, JavaScript) accepts.
"""

from __future__ import annotations

import math
from typing import Any, Mapping

import numpy as np


def jsonable(obj: Any) -> Any:
    """Recursively convert numpy scalars/arrays, tuples and non-finite floats into strict-JSON values."""
    if isinstance(obj, Mapping):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return [jsonable(v) for v in obj.tolist()]
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        f = float(obj)
        if math.isnan(f):
            return None
        if math.isinf(f):
            return "inf" if f > 0 else "-inf"
        return f
    if isinstance(obj, np.bool_):
        return bool(obj)
    return obj


def fmt(v: Any, digits: int = 4) -> str:
    if v is None:
        return "-"
    if isinstance(v, (float, np.floating)):
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return f"{v:.{digits}g}" if abs(v) >= 1e4 or (v != 0 and abs(v) < 1e-3) else f"{v:.{digits}f}".rstrip("0").rstrip(".")
    return str(v)


def sig(v: Any, digits: int = 4) -> str:
    """`digits` significant digits, no exponent below 1e6: 651.2, 20.97, 0.8525."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    v = float(v)
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    if v == 0 or abs(v) >= 10 ** digits:
        return f"{v:.0f}"
    decimals = max(0, digits - 1 - int(math.floor(math.log10(abs(v)))))
    return f"{v:.{decimals}f}"


def table(header: list[str], rows: list[list[Any]]) -> str:
    """A plain aligned text table (first column left-aligned, the rest right-aligned)."""
    cells = [header] + [[fmt(c) for c in r] for r in rows]
    widths = [max(len(str(r[i])) for r in cells) for i in range(len(header))]
    lines = []
    for j, r in enumerate(cells):
        parts = [str(c).ljust(widths[i]) if i == 0 else str(c).rjust(widths[i]) for i, c in enumerate(r)]
        lines.append("  ".join(parts))
        if j == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def format_means(means: Mapping[str, Mapping[str, float]]) -> str:
    """Rows = names (methods), columns = metrics."""
    metrics = list(next(iter(means.values())).keys())
    return table(["", *metrics], [[name, *[m[k] for k in metrics]] for name, m in means.items()])


MAIN_METRICS = ("fmse", "fpsnr", "fde2000", "fssim", "mse", "psnr")
PER_VALUE_METRICS = ("mse", "psnr", "fmse")  # what the iHarmony4 papers' per-subset tables report


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
                row.append(f"{sig(r['mean'])} [{sig(r['ci_lo'])}, {sig(r['ci_hi'])}]" if r else "-")
            rows.append(row)
    return table(["metric", *([by] if by else []), *[f"{v} (n={n[v]})" for v in values]], rows)


def summary_text(result) -> str:
    """The run-benchmark report: means with 95% bootstrap CIs, fg-ratio buckets, significant pairs."""
    lines = [f"suite {result.suite} — source: {result.source} — {result.rows['id'].nunique()} images × "
             f"{result.rows['method'].nunique()} methods, protocol {result.protocol}"
             f" ({result.computed} computed, {result.cached} from cache)"]
    if result.notice:
        lines.append(f"NOTE: {result.notice}")
    s = result.summary
    methods = list(dict.fromkeys(s["method"]))
    metrics = [m for m in MAIN_METRICS if m in set(s["metric"])]
    cell = {(r.method, r.metric): r for r in s.itertuples()}
    rows = []
    for m in methods:
        rows.append([m] + [f"{sig(cell[m, k].mean)} [{sig(cell[m, k].ci_lo)}, {sig(cell[m, k].ci_hi)}]"
                           for k in metrics])
    lines += ["", "mean [95% bootstrap CI] (all metrics in --json and MLflow); lower is better for mse and ΔE, "
                  "higher for psnr and ssim",
              table(["method", *metrics], rows)]
    gaps = [g for g in ("gap_highlight", "gap_midtone", "gap_shadow", "gap_a", "gap_b") if g in set(s["metric"])]
    if gaps:
        lines += ["", "reference consistency, no ground truth needed: |foreground − reference region| in L*a*b* "
                      "(highlight/mid-tone/shadow = L* P90/mean/P10; a*, b* means)",
                  table(["method", *[g[4:] for g in gaps]], [[m] + [sig(cell[m, g].mean) for g in gaps]
                                                           for m in methods])]
    b = result.buckets
    if len(b):
        lines += ["", "fMSE by foreground ratio (n images)"]
        buckets = list(dict.fromkeys(b["bucket"]))
        bcell = {(r["method"], r["bucket"]): r for r in b.to_dict(orient="records")}
        lines.append(table(["method", *buckets], [
            [m] + [f"{sig(bcell[m, k]['fmse'])} ({bcell[m, k]['n']})" if (m, k) in bcell else "-" for k in buckets]
            for m in methods]))
    if getattr(result, "subsets", None) is not None and len(result.subsets):
        lines += ["", "per subset, as the iHarmony4 papers tabulate them: mean [95% bootstrap CI] (every metric in "
                      "--json and MLflow)", per_value_text(result.subsets, "subset")]
    if getattr(result, "augmentations", None) is not None and len(result.augmentations):
        lines += ["", "per augmentation family (how the foreground was made to disagree): mean [95% bootstrap CI]",
                  per_value_text(result.augmentations, "augmentation")]
    if len(result.pairs) and len(methods) > 1:
        lines += ["", *paired_text(result.pairs, methods, ("fmse", "fde2000", "fpsnr"), "on the same images")]
        lines.append("every pair is in --json and in MLflow (paired_comparisons.csv)")
    return "\n".join(lines + mlflow_lines(result))


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
            row.append(f"{sig(sign * r['diff'])} [{sig(lo)}, {sig(hi)}] p={sig(r['p_holm'], 2)}"
                       + (" *" if r["p_holm"] < 0.05 else ""))
        rows.append(row)
    n_sig = int((p["p_holm"] < 0.05).sum())
    return [*lines, table(["method", *[f"Δ{k} (method − {base})" for k in shown]], rows),
            f"{n_sig} of {len(p)} comparisons (all pairs × all metrics) significant at 0.05 after Holm"]


def mlflow_lines(result) -> list[str]:
    """The closing lines of a command that logged to MLflow: the run, then the report page (last, so that
    `make run` ends on it)."""
    if not result.mlflow_run_id:
        return []
    url = getattr(result, "mlflow_url", None)
    lines = ["", f"MLflow run {result.mlflow_run_id}" + (f": {url}" + (" (start `harness ui` first)" if url.startswith(
        "http://127.0.0.1:") else "") if url else " — browse with `harness ui`")]
    if getattr(result, "report", None):
        lines.append(f"report: {result.report}")
    return lines
