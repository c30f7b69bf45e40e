"""The paper's tables from the selected runs: Table 1 (methods × suites, benchmark), Table 2 (user studies),
Table 3 (ablation), and the companions of the figures (robustness, fg-ratio buckets). Each returns None when
it has no runs to be built from — the page then says so in one line."""

from __future__ import annotations

import math
import re

from harness.scoring.metrics import HIGHER_IS_BETTER
from reports import columns
from reports.cells import Cell, Num, Ref, Table, ci_parts, mark_best
from reports.source import Reader, Source

METRICS = ("psnr", "ssim", "de2000", "fmse")  # the paper's Table 1 (fMSE as the harmonization papers add it)
# beside them when a run had samples without ground truth: what it measured without one (scoring/consistency.py)
GAP_COLUMNS = ("gap_highlight", "gap_midtone", "gap_shadow")
LABELS = {"psnr": "PSNR", "ssim": "SSIM", "de2000": "ΔE2000", "fmse": "fMSE", "mse": "MSE", "fpsnr": "fPSNR",
          "fssim": "fSSIM", "fde2000": "fΔE2000", "de76": "ΔE76", "fde76": "fΔE76",
          "gap_highlight": "gap highlight", "gap_midtone": "gap mid-tone", "gap_shadow": "gap shadow"}
ALPHA = 0.05


def _label(metric: str) -> str:
    return LABELS.get(metric, metric) + ("↑" if HIGHER_IS_BETTER.get(metric) else "↓")


def _metric(child, key: str, digits: int = 4) -> Num:
    return Num(child.metrics.get(key), Ref(child.run_id, metric=key), digits)


def _pair_diff(pairs, src: Source, metric: str, method: str, best: str) -> tuple[list, dict]:
    """Δ (method − best) [95% CI], Holm p — from the run's paired_comparisons.csv, whichever way round it
    stored the pair — as cell parts, and as plain values for the CSV."""
    if pairs is None or pairs.empty:
        return [], {}
    for a, b, scale in ((method, best, 1.0), (best, method, -1.0)):
        hit = pairs[(pairs["metric"] == metric) & (pairs["a"] == a) & (pairs["b"] == b)]
        if len(hit):
            r = hit.iloc[0]

            def num(field_: str, k: float = scale, digits: int = 4) -> Num:
                v = float(r[field_])
                return Num(None if v != v else k * v, Ref(src.run_id, artifact="paired_comparisons.csv",
                                                          path=f"metric={metric}&a={a}&b={b}/{field_}", scale=k),
                           digits, p=field_ == "p_holm")

            diff, p = num("diff"), num("p_holm", 1.0, 2)
            lo, hi = (num("ci_lo"), num("ci_hi")) if scale > 0 else (num("ci_hi"), num("ci_lo"))
            star = " *" if p.value is not None and p.value < ALPHA else ""
            return (["Δ ", diff, " [", lo, ", ", hi, "], p = ", p, star],
                    {"diff_vs_best": diff.value, "diff_ci_lo": lo.value, "diff_ci_hi": hi.value,
                     "p_holm_vs_best": p.value})
    return [], {}


def table1(benchmarks: list[Source], reader: Reader, labels: dict[str, str] | None = None) -> Table | None:
    """Methods × (one column group per run: PSNR, SSIM, ΔE2000, fMSE), groups labelled by `labels` (run id →
    label; columns.labels by default). The page stacks the groups (one block of rows each); CSV and LaTeX set
    them side by side as the paper does. A run with samples without ground truth (its `no_ground_truth` tag)
    has empty cells where it measured nothing, the reference-consistency gaps beside them, and its notice above."""
    from harness.tracking.parent import NO_TRUTH_TAG

    if not benchmarks:
        return None
    labels = labels or columns.labels(benchmarks)
    metrics = [m for m in METRICS if any(m in c.metrics for s in benchmarks for c in s.children)]
    if any(s.tags.get(NO_TRUTH_TAG) for s in benchmarks):
        metrics += [g for g in GAP_COLUMNS if any(g in c.metrics for s in benchmarks for c in s.children)]
    methods = list(dict.fromkeys(c.name for s in benchmarks for c in s.children))
    cells: dict[tuple[str, str, str], Cell] = {}
    records, notes = [], []
    for src in benchmarks:
        pairs = reader.csv(src.run_id, "paired_comparisons.csv")
        by_name = {c.name: c for c in src.children}
        for metric in metrics:
            column = {}
            for name, child in by_name.items():
                mean, lo, hi = (_metric(child, metric), _metric(child, f"{metric}_ci95_lo"),
                                _metric(child, f"{metric}_ci95_hi"))
                column[name] = cells[src.run_id, metric, name] = Cell(ci_parts(mean, lo, hi))
            mark_best(list(column.values()), HIGHER_IS_BETTER.get(metric, False))
            best = [n for n, c in column.items() if c.mark == "best"]
            for name, cell in column.items():
                diff, values = ([], {}) if not best or name in best else _pair_diff(pairs, src, metric, name, best[0])
                cell.sub = ["best"] if name in best else diff
                mean, lo, hi = (by_name[name].metrics.get(k) for k in (metric, f"{metric}_ci95_lo",
                                                                     f"{metric}_ci95_hi"))
                records.append({"column": labels[src.run_id], "suite": src.suite,
                                "protocol": src.tags.get("protocol"), "run_id": src.run_id, "method": name,
                                "metric": metric, "mean": mean, "ci_lo": lo, "ci_hi": hi, "mark": cell.mark or "",
                                "best": best[0] if best else "", **values})
        if src.tags.get("data_notice"):  # which run, images, data and protocol: above the table (columns.py)
            notes.append([f"{labels[src.run_id]}: NOTE — {src.tags['data_notice']}"])
        if src.tags.get(NO_TRUTH_TAG):
            notes.append([f"{labels[src.run_id]}: NOTE — {src.tags[NO_TRUTH_TAG]}"])
    rows = [(m, [cells.get((s.run_id, k, m), Cell(["—"])) for s in benchmarks for k in metrics]) for m in methods]
    return Table("table1", "Table 1 — benchmark", "Mean [95% bootstrap CI] over images; best in red, second best in "
                 "blue, per run and metric. Under each mean: the method's paired difference to the column's best on "
                 "the same images (method − best) [95% paired-bootstrap CI], and its Wilcoxon signed-rank p, "
                 f"Holm-corrected over every method pair of that metric in the run (* p < {ALPHA}).",
                 [_label(k) for _ in benchmarks for k in metrics], rows,
                 groups=[(labels[s.run_id], len(metrics)) for s in benchmarks], records=records,
                 notes=notes, stack=True)


def _study_num(src: Source, method: str, field_: str, digits: int = 3, index: int | None = None,
               analysis: dict | None = None) -> Num:
    entry = next((m for m in analysis["methods"] if m["method"] == method), {})
    v = entry.get(field_)
    if index is not None:
        v = v[index] if isinstance(v, list) else None
    path = f"methods/method={method}/{field_}" + (f"/{index}" if index is not None else "")
    return Num(v, Ref(src.run_id, artifact="analysis.json", path=path), digits)


def table2(studies: list[Source], reader: Reader) -> Table | None:
    analyses = [(s, reader.json(s.run_id, "analysis.json")) for s in studies]
    analyses = [(s, a) for s, a in analyses if a]
    if not analyses:
        return None
    methods = list(dict.fromkeys(m["method"] for _, a in analyses for m in a["methods"]))
    columns, groups, notes, records = [], [], [], []
    blocks = []  # per study: {method: [cells]}
    for src, a in analyses:
        rank = a["kind"] == "rank"
        fields = (["score"] if rank else []) + ["thurstone", "jod", "bt"] + ([] if rank else ["win_rate"])
        heads = {"score": "3/2/1 score", "thurstone": "Thurstone z [95% CI]", "jod": "JOD [95% CI]",
                 "bt": "Bradley–Terry [95% CI]", "win_rate": "win rate"}
        columns += [heads[f] for f in fields]
        groups.append((f"{'ranking' if rank else 'A/B'} study: {src.name}", len(fields)))
        block = {}
        for m in a["methods"]:
            name, row = m["method"], []
            for f in fields:
                num = lambda *k: _study_num(src, name, *k, analysis=a)  # noqa: E731
                row.append(Cell(ci_parts(num(f), num(f"{f}_ci", 3, 0), num(f"{f}_ci", 3, 1))
                                if f in ("thurstone", "jod", "bt") else [num(f)]))
                records.append({"study": src.name, "kind": a["kind"], "run_id": src.run_id, "method": name,
                                "field": f, "value": m.get(f), "ci_lo": (m.get(f"{f}_ci") or [None])[0],
                                "ci_hi": (m.get(f"{f}_ci") or [None, None])[1]})
            block[name] = row
        for j in range(len(fields)):
            mark_best([r[j] for r in block.values()], higher=True)
        blocks.append((block, len(fields)))
        st = a["settings"]
        pre = f"run {src.run_id}"
        notes.append([f"{groups[-1][0]}: ", Num(a["n_votes"], Ref(src.run_id, artifact="analysis.json",
                                                                  path="n_votes"), 0),
                      f" {'rankings' if rank else 'votes'} by ",
                      Num(st["n_subjects"], Ref(src.run_id, artifact="analysis.json", path="settings/n_subjects"), 0),
                      " subjects on ",
                      Num(st["n_images"], Ref(src.run_id, artifact="analysis.json", path="settings/n_images"), 0),
                      f" images; Thurstone prior {st.get('thurstone_prior', 'none')}; {pre}"])
        for i, p in enumerate(a["pairs"]):
            if p["p_holm"] is not None and p["p_holm"] < ALPHA:
                ref = lambda f: Ref(src.run_id, artifact="analysis.json", path=f"pairs/{i}/{f}")  # noqa: E731
                notes.append([f"{groups[-1][0]}: {p['a']} preferred to {p['b']}: Δz = ", Num(p["diff"], ref("diff"), 3),
                              ", p (Holm) = ", Num(p["p_holm"], ref("p_holm"), 2, p=True)])
    rows = []
    for name in methods:
        cells = []
        for block, n in blocks:
            cells += block.get(name, [Cell(["—"]) for _ in range(n)])
        rows.append((name, cells))
    return Table("table2", "Table 2 — user study", "Thurstone Case V scale values (z; P(a preferred to b) = "
                 "Φ(z_a − z_b)), the same in JOD (1 JOD = 75% preference) and Bradley–Terry, with 95% subject-"
                 "bootstrap CIs; for rankings, the 3/2/1 score (mean points per image). Best in red, second in "
                 f"blue. Listed below: the differences significant at {ALPHA} after Holm.", columns, rows,
                 groups=groups, records=records, notes=notes)


def _variant(child) -> str:
    return child.params.get("variant") or child.tags.get("variant") or child.name


def _variant_key(name: str) -> str:
    """A variant's name in the parent's metric keys as harness/tracking/experiments.py writes them (reports/
    reads runs and never imports their writers): every character outside [A-Za-z0-9-_.] becomes "_"."""
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)


def table3(ablations: list[Source], reader: Reader | None = None, key: str = "table3",
           title: str = "Table 3 — ablation") -> Table | None:
    """Variants × metrics. From the parent when it holds the variant's numbers (run-ablation logs them with a
    CI bootstrapped over seeds and images together: the command's own table); otherwise one seed: the child's
    metric and its logged CI; several: their mean and the 95% t-interval over seeds."""
    if not ablations:
        return None
    from scipy.stats import t as student

    metrics = [m for m in METRICS + ("fpsnr", "fde2000", "fssim", "mse")
               if any(m in c.metrics for s in ablations for c in s.children)]
    # Table 3's order as the command lists it (the parent's `variants` tag); children finish in any order
    listed = [v for s in ablations for v in s.tags.get("variants", "").split(",") if v]
    variants = list(dict.fromkeys(listed + [_variant(c) for s in ablations for c in s.children]))
    cells, records, notes = {}, [], []
    for src in ablations:
        groups: dict[str, list] = {}
        for c in src.children:
            groups.setdefault(_variant(c), []).append(c)
        for metric in metrics:
            column = {}
            for v in variants:
                runs = [r for r in groups.get(v, []) if metric in r.metrics]
                logged = f"{metric}/{_variant_key(v)}"  # the parent's key for this variant's metric
                if runs and all(f"{logged}{s}" in src.metrics for s in ("", "_ci95_lo", "_ci95_hi")):
                    mean, lo, hi = (Num(src.metrics[f"{logged}{s}"], Ref(src.run_id, metric=f"{logged}{s}"))
                                    for s in ("", "_ci95_lo", "_ci95_hi"))
                elif len(runs) == 1:
                    r = runs[0]
                    mean, lo, hi = _metric(r, metric), _metric(r, f"{metric}_ci95_lo"), _metric(r, f"{metric}_ci95_hi")
                elif runs:
                    xs = [r.metrics[metric] for r in runs]
                    m = sum(xs) / len(xs)
                    sd = math.sqrt(sum((x - m) ** 2 for x in xs) / (len(xs) - 1))
                    half = student.ppf(0.975, len(xs) - 1) * sd / math.sqrt(len(xs))
                    ids = tuple(r.run_id for r in runs)
                    mean, lo, hi = (Num(m, Ref(metric=metric, runs=ids, agg="mean")),
                                    Num(m - half, Ref(metric=metric, runs=ids, agg="t95_lo")),
                                    Num(m + half, Ref(metric=metric, runs=ids, agg="t95_hi")))
                else:
                    continue
                seeds = [r.params.get("seed") or r.tags.get("seed") for r in runs]
                count = Num(len(runs), Ref(metric=metric, runs=tuple(r.run_id for r in runs), agg="count"), 0)
                column[v] = cells[src.run_id, metric, v] = Cell(ci_parts(mean, lo, hi),
                                                                sub=[count, " seeds"] if len(runs) > 1 else [])
                records.append({"ablation": src.name, "run_id": src.run_id, "variant": v, "metric": metric,
                                "mean": mean.value, "ci_lo": lo.value, "ci_hi": hi.value, "n_seeds": len(runs),
                                "seeds": ",".join(str(s) for s in seeds if s is not None)})
            mark_best(list(column.values()), HIGHER_IS_BETTER.get(metric, False))
        notes.append([f"{src.name}: suite {src.suite}, run {src.run_id}"])
        notes += _consecutive(src, reader, [m for m in METRICS if m in metrics]) if reader else []
    rows = [(v, [cells.get((s.run_id, k, v), Cell(["—"])) for s in ablations for k in metrics]) for v in variants]
    return Table(key, title, "Per variant: the mean over seeds and images with its 95% CI bootstrapped over "
                 "both, as run-ablation and sweep log it (runs made otherwise: the metric of its run with its logged "
                 "CI, or over several seeds their mean and 95% t-interval); best in red, second in blue. Listed "
                 "below: each row against the one before it — mean paired difference [95% CI] over the same seeds "
                 "and images, Holm-corrected Wilcoxon p.",
                 [_label(k) for _ in ablations for k in metrics], rows,
                 groups=[(s.name, len(metrics)) for s in ablations] if len(ablations) > 1 else [],
                 records=records, notes=notes, row_header="variant")


def _consecutive(src: Source, reader: Reader, metrics: list[str]) -> list[list]:
    """run-ablation's paired differences between consecutive rows (its comparisons.csv: b − a over the same
    seeds × images, bootstrap CI, Holm over the table), as note lines under Table 3."""
    df = reader.csv(src.run_id, "comparisons.csv")
    if df is None or df.empty:
        return []
    lines = []
    for r in df.to_dict(orient="records"):
        if r["metric"] not in metrics:
            continue
        path = lambda f, r=r: f"metric={r['metric']}&a={r['a']}&b={r['b']}/{f}"  # noqa: E731
        num = lambda f, digits=4, **kw: Num(r[f], Ref(src.run_id, artifact="comparisons.csv", path=path(f)),  # noqa: E731
                                            digits, **kw)
        lines.append([f"{r['b']} − {r['a']}, {_label(r['metric'])}: ", num("diff"), " [", num("ci_lo"), ", ",
                      num("ci_hi"), "], p (Holm) = ", num("p_holm", 2, p=True)])
    return lines


def robustness_table(runs: list[Source], labels: dict[str, str] | None = None) -> Table | None:
    from harness.tracking.parent import NO_TRUTH_TAG

    if not runs:
        return None
    labels = labels or columns.labels(runs)
    methods = list(dict.fromkeys(c.name for s in runs for c in s.children))
    cells, records = {}, []
    for src in runs:
        for c in src.children:
            for k in ("responsiveness", "reference_accuracy"):
                mean, lo, hi = _metric(c, k, 3), _metric(c, f"{k}_lo", 3), _metric(c, f"{k}_hi", 3)
                cells[src.run_id, k, c.name] = Cell(ci_parts(mean, lo, hi))
                records.append({"column": labels[src.run_id], "suite": src.suite, "run_id": src.run_id,
                                "method": c.name, "measure": k,
                                "mean": mean.value, "ci_lo": lo.value, "ci_hi": hi.value})
        mark_best([cells[src.run_id, "reference_accuracy", c.name] for c in src.children], higher=True)
    keys = ("responsiveness", "reference_accuracy")
    rows = [(m, [cells.get((s.run_id, k, m), Cell(["—"])) for s in runs for k in keys]) for m in methods]
    return Table("robustness", "Robustness to the reference region", "Responsiveness: how far the foreground moves "
                 "between regions over how far the regions themselves are apart (0: ignores the region; 1: follows "
                 "it exactly). Reference accuracy: harmonized to region A, closer to A's truth than to B's (0.5 = "
                 "chance; best in red, second in blue). 95% bootstrap CIs over samples.",
                 ["responsiveness [95% CI]", "reference accuracy [95% CI]"] * len(runs), rows,
                 groups=[(labels[s.run_id], 2) for s in runs], records=records,
                 notes=[[f"{labels[s.run_id]}: NOTE — {s.tags[NO_TRUTH_TAG]}"] for s in runs
                        if s.tags.get(NO_TRUTH_TAG)])


_BUCKET = re.compile(r"^(fmse|fde2000|fpsnr)/fg_(\d+)_(\d+)$")


def buckets(src: Source) -> tuple[list[str], dict[str, str], dict[str, dict[str, dict[str, float]]]]:
    """The fg-ratio buckets a benchmark logged, in order ('0–5%', …), each one's key suffix ('fg_0_5'), and per
    method {metric: {bucket: value}}."""
    found, per = {}, {}
    for c in src.children:
        for key, v in c.metrics.items():
            m = _BUCKET.match(key)
            if m:
                name = f"{m.group(2)}–{m.group(3)}%"
                found[name] = (int(m.group(2)), key.split("/")[1])
                per.setdefault(c.name, {}).setdefault(m.group(1), {})[name] = v
    return sorted(found, key=lambda b: found[b][0]), {n: k for n, (_, k) in found.items()}, per


def bucket_table(src: Source, label: str = "", stem: str = "") -> Table | None:
    """`src`'s fg-ratio buckets; `label` names its column elsewhere on the page, `stem` its files (default: the
    suite — not enough when two runs of one suite are shown, columns.file_stem)."""
    names, keys, _ = buckets(src)
    if not names:
        return None
    rows, records = [], []
    for metric in ("fmse", "fde2000"):
        column_cells = {n: [] for n in names}
        for c in src.children:
            row = []
            for n in names:
                cell = Cell([_metric(c, f"{metric}/{keys[n]}")], sub=["n = ", _metric(c, f"n_images/{keys[n]}", 0)]
                            if f"n_images/{keys[n]}" in c.metrics else [])
                column_cells[n].append(cell)
                row.append(cell)
                records.append({"run_id": src.run_id, "method": c.name, "metric": metric, "bucket": n,
                                "value": c.metrics.get(f"{metric}/{keys[n]}"),
                                "n": c.metrics.get(f"n_images/{keys[n]}")})
            rows.append((f"{c.name} · {_label(metric)}", row))
        for cells in column_cells.values():
            mark_best(cells, HIGHER_IS_BETTER[metric])
    return Table(f"fg_buckets_{stem or src.suite}", f"By foreground size — {label or src.suite}", "Means over the "
                 "images whose foreground covers that share of the image (n = images in the bucket); best in red, "
                 "second in blue.",
                 [f"foreground {n}" for n in names], rows, records=records, row_header="method · metric")
