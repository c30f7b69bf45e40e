"""Assemble the report from a selection of runs and write it: report.html plus each table as CSV and LaTeX.
`attach_run_report` is what run-benchmark, run-robustness, run-ablation and sweep call to log their own report."""

from __future__ import annotations

import html
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from reports import columns, cost, figures, page, tables
from reports.cells import Table, to_csv, to_html, to_latex
from reports.page import Section
from reports.source import Reader, Selection, Source, collect

REPORT = "report.html"


def _tables_html(ts: list[Table]) -> str:
    return "".join(f'<div class="scroll">{to_html(t)}</div>' for t in ts)


def _qualitative(src: Source, reader: Reader, label: str) -> str | None:
    """The paper's Fig. 4 for one benchmark: per sample, composite | regions | each method | truth."""
    index = reader.json(src.run_id, "samples/index.json")
    methods = [c for c in src.children]
    if index:
        heads = ["composite", "regions", *[c.name for c in methods], "truth"]
        rows = []
        for entry in index:
            stem = entry["stem"]
            ins = [reader.read(src.run_id, f"samples/{stem}/{k}.png") for k in ("composite", "regions")]
            outs = [reader.read(c.run_id, f"samples/{stem}.png") for c in methods]
            rows.append((entry["id"], [*ins, *outs, reader.read(src.run_id, f"samples/{stem}/truth.png")]))
        if not any(p for _, images in rows for p in images[2:-1]):
            return None
        return page.image_grid(heads, rows, f"Outputs side by side — {html.escape(label)} (the paper's Fig. 4): "
                               "the first samples of the suite; regions: the foreground in red, the reference region "
                               f"in blue (run <code>{src.run_id}</code>).")
    grids = [(c.name, reader.read(c.run_id, "grid.png")) for c in methods]
    if not any(p for _, p in grids):
        return None
    return "".join(page.figure(p, f"{name} outputs", f"<strong>{html.escape(name)}</strong>: per sample, composite "
                               "| regions | output | truth (a run made before per-sample tiles were logged).")
                   for name, p in grids if p)


def _benchmark_sections(selection: Selection, reader: Reader, out: list[Table]) -> list[Section]:
    benchmarks = selection.of("benchmark")
    labels = columns.labels(benchmarks)
    t1 = tables.table1(benchmarks, reader, labels)
    if t1:
        out.append(t1)
    tc = cost.cost_table(benchmarks, labels)
    if tc:
        out.append(tc)
    scatter = []
    for src in benchmarks:
        points = cost.scatter_points(src)
        if len(points) > 1:
            front = cost.pareto_front(points)
            png = figures.quality_latency(f"Quality against latency — {labels[src.run_id]}", points, front)
            scatter.append(page.figure(png, f"quality against latency, {labels[src.run_id]}", "Each method's mean "
                                       "fMSE against its median latency per image in the same run; ringed and "
                                       f"joined: the Pareto front ({', '.join(front)}) — no other method is both "
                                       "faster and better."))
    qual, heat, fg = [], [], []
    for src in benchmarks:
        label = labels[src.run_id]
        q = _qualitative(src, reader, label)
        if q:
            qual.append(q)
        pairs = reader.csv(src.run_id, "paired_comparisons.csv")
        methods = [c.name for c in src.children]
        metrics = [m for m in tables.METRICS if pairs is not None  # all NaN: no ground truth, nothing compared
                   and pairs.loc[pairs["metric"] == m, "diff"].notna().any()]
        if pairs is not None and len(methods) > 1 and metrics:
            png = figures.paired_heatmap(f"Paired differences — {label}", pairs, methods, metrics)
            heat.append(page.figure(png, f"paired differences, {label}", "Mean paired difference row − column on "
                                    "the same images; blue: the row's method is better, red: worse (scaled per "
                                    "metric); * significant at 0.05 after Holm (Wilcoxon signed-rank, every method "
                                    f"pair of the metric). From <code>paired_comparisons.csv</code> of run "
                                    f"<code>{src.run_id}</code>."))
        names, _, per = tables.buckets(src)
        bt = tables.bucket_table(src, label, columns.file_stem(src, benchmarks))
        if names and bt:
            out.append(bt)
            png = figures.bucket_bars(f"By foreground size — {label}", names, per)
            fg.append(page.figure(png, f"fg-ratio buckets, {label}", "fMSE and fΔE2000 by the share of the "
                                  "image the foreground covers (lower is better).") + _tables_html([bt]))
    none = "no run-benchmark run among the sources (`harness run-benchmark` logs one)"
    which = columns.provenance(selection, benchmarks, labels, "run-benchmark") if t1 else ""
    body = which + _tables_html([t1]) + (_tables_html([tc]) if tc else "") + "".join(scatter) if t1 else None
    return [Section("table1", "Table 1 — benchmark", body, none),
            Section("qualitative", "Figure — outputs side by side", "".join(qual) or None,
                    none if not benchmarks else "the benchmark runs logged no output images"),
            Section("paired", "Figure — paired differences", "".join(heat) or None,
                    none if not benchmarks else "fewer than two methods, or no paired comparisons logged"),
            Section("buckets", "Figure — by foreground size", "".join(fg) or None,
                    none if not benchmarks else "the benchmark runs logged no fg-ratio buckets")]


def _robustness_section(selection: Selection, reader: Reader, out: list[Table]) -> Section:
    runs = selection.of("robustness")
    labels = columns.labels(runs)
    t = tables.robustness_table(runs, labels)
    if t is None:
        return Section("robustness", "Figure — robustness to the reference region", None,
                       "no run-robustness run among the sources (`harness run-robustness` logs one)")
    out.append(t)
    parts = [columns.provenance(selection, runs, labels, "run-robustness")]
    for src in runs:
        panels = [(label, {c.name: tuple(c.metrics.get(k + s) for s in ("", "_lo", "_hi")) for c in src.children})
                  for label, k in (("responsiveness", "responsiveness"), ("reference accuracy", "reference_accuracy"))]
        panels = [p for p in panels if any(v[0] is not None for v in p[1].values())]
        png = figures.interval_bars(f"Responsiveness per method — {labels[src.run_id]}", panels,
                                    {"reference accuracy": 0.5})
        parts.append(page.figure(png, f"responsiveness, {labels[src.run_id]}", "Responsiveness and reference accuracy "
                                 "with their 95% CIs; dashed: chance (0.5)."))
    parts.append(_tables_html([t]))
    for src in runs:
        for path in reader.list(src.run_id, "figures"):
            if path.endswith(".png"):
                sample = path.rsplit("/", 1)[-1][:-4]
                parts.append(page.figure(reader.read(src.run_id, path), f"robustness grid {sample}",
                                         f"Sample <strong>{html.escape(sample)}</strong> "
                                         f"({html.escape(labels[src.run_id])}): "
                                         "top row, the composite and each candidate reference region (blue; the "
                                         "foreground red); below, each method's output under each region — the "
                                         "paper's Fig. 5."))
    return Section("robustness", "Figure — robustness to the reference region", "".join(parts))


def _runs_section(selection: Selection) -> Section:
    rows = "".join(f"<tr><td>{html.escape(s.kind)}</td><td>{html.escape(s.experiment)}</td><td>{html.escape(s.name)}"
                   f"</td><td><code>{s.run_id}</code></td><td>{html.escape(s.status)}</td><td>"
                   f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime(s.start_time / 1000))}</td>"
                   f"<td>{html.escape(s.why)}</td></tr>" for s in selection.sources)
    body = ('<table class="runs"><thead><tr><th scope="col">kind</th><th scope="col">experiment</th>'
            '<th scope="col">run</th><th scope="col">id</th><th scope="col">status</th><th scope="col">started</th>'
            f'<th scope="col">why</th></tr></thead><tbody>{rows}</tbody></table>')
    if selection.skipped:
        body += ("<p>Left out (pass <code>--run</code> to choose them, or <code>--all</code> for every finished "
                 "run):</p><ul class=\"notes\">") + "".join(
            f"<li><code>{s.run_id}</code> ({html.escape(s.name)}): {html.escape(why)}</li>"
            for s, why in selection.skipped) + "</ul>"
    return Section("runs", "Runs this page was built from", body)


def build(client, selection: Selection, out_dir: str | os.PathLike) -> dict:
    """Write report.html and the tables (CSV, LaTeX) into `out_dir` (which must exist); what was written."""
    out_dir = Path(out_dir)
    reader = Reader(client)
    try:
        ts: list[Table] = []
        sections = _benchmark_sections(selection, reader, ts)
        t2 = tables.table2(selection.of("votes"), reader)
        sections.append(Section("table2", "Table 2 — user study", _tables_html([t2]) if t2 else None,
                                "no analyze-votes run among the sources (`harness analyze-votes` logs one)"))
        t3 = tables.table3(selection.of("ablation"), reader)
        sections.append(Section("table3", "Table 3 — ablation", _tables_html([t3]) if t3 else None,
                                "no run-ablation run among the sources"))
        grid = tables.table3(selection.of("sweep"), reader, key="grid", title="Training grid (sweep)")
        sections.append(Section("grid", "Training grid (sweep)", _tables_html([grid]) if grid else None,
                                "no sweep run among the sources"))
        ts += [t for t in (t2, t3, grid) if t]
        sections.append(_robustness_section(selection, reader, ts))
        te = cost.efficiency_table(selection.of("efficiency"))
        sections.append(Section("efficiency", "Efficiency — latency by input size", _tables_html([te]) if te else None,
                                "no run-efficiency run among the sources (`harness run-efficiency` logs one)"))
        if te:
            ts.append(te)
        sections.append(_runs_section(selection))
    finally:
        reader.close()
    meta = (f"Built {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} from {len(selection.sources)} MLflow "
            f"run(s) in <code>{html.escape(selection.uri)}</code>.")
    (out_dir / REPORT).write_text(page.render("harness report", meta, sections), encoding="utf-8")
    files = [REPORT]
    for t in ts:
        (out_dir / f"{t.key}.csv").write_text(to_csv(t), encoding="utf-8")
        (out_dir / f"{t.key}.tex").write_text(to_latex(t), encoding="utf-8")
        files += [f"{t.key}.csv", f"{t.key}.tex"]
    return {"files": files, "sections": {s.key: s.body is not None for s in sections},
            "runs": [s.run_id for s in selection.sources], "rule": selection.rule,
            "why": {s.run_id: s.why for s in selection.sources},
            "left_out": {s.run_id: [o.run_id for o in s.left_out] for s in selection.sources if s.left_out}}


def write_atomically(client, selection: Selection, out: str | os.PathLike) -> dict:
    """`build` into a fresh folder beside `out`, then rename it into place: `out` holds a whole report or the
    previous one, never half of one. An existing `out` is replaced only if it is empty or a report."""
    from harness.errors import HarnessError

    out = Path(out).resolve()
    if out.exists() and (not out.is_dir() or (any(out.iterdir()) and not (out / REPORT).is_file())):
        raise HarnessError(f"--out {out}: exists and is not a report folder (no {REPORT}); choose another --out")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.building-", dir=out.parent))
    old = None
    try:
        info = build(client, selection, tmp)
        os.chmod(tmp, 0o755)
        if out.exists():
            old = out.with_name(f".{out.name}.old-{os.getpid()}")
            os.rename(out, old)
        os.rename(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        if old is not None and not out.exists():
            os.rename(old, out)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
    return {**info, "dir": str(out), "html": str(out / REPORT)}


def attach_run_report(client, run_id: str, uri: str = "") -> str:
    """Build the report of one finished run (run-benchmark, run-robustness, run-ablation, sweep or analyze-votes)
    and log it to that run under report/; the artifact path of the page."""
    selection = collect(client, uri or client.tracking_uri, run_ids=[run_id])
    selection.rule = "own"
    for src in selection.sources:
        src.why = "this run's own report"
    with tempfile.TemporaryDirectory(prefix="harness-report-") as tmp:
        build(client, selection, tmp)
        client.log_artifacts(run_id, tmp, "report")
    return f"report/{REPORT}"


def attach_report(tracking_uri: str | None, run_id: str, note=None) -> str | None:
    """What an experiment command does once its tracker has finished: build the run's report and log it beside
    the run. Returns the page — a local file, else its MLflow UI link — or None when it could not be built,
    said through `note` (else on stderr): a broken figure is not worth losing the run's results for."""
    from harness.tracking.links import local_artifact, ui_link
    from harness.tracking.store import client, resolve_tracking_uri

    uri = resolve_tracking_uri(tracking_uri)
    c = client(uri)
    try:
        page = attach_run_report(c, run_id, uri)
    except Exception as err:  # noqa: BLE001 — the run itself is complete; say why the report is missing
        (note or (lambda line: print(line, file=sys.stderr)))(f"report: not built ({type(err).__name__}: {err})")
        return None
    return local_artifact(c, run_id, page) or ui_link(uri, c.get_run(run_id).info.experiment_id, run_id, page)
