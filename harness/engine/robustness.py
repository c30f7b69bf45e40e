"""`run-robustness`: every method run with every candidate reference region of every sample — the run that
measures IPH's one promise (pick another region, get another, correct result).

    suite.specs ──hash──► keys ──cached? (--resume)──► rows
                               └─ missing ─► one unit per sample (decoded once, candidates made once):
                                     every method × every candidate (harness/data/references.py: the suite's
                                     regions, the background, auto, K boxes) ─► one row per (method, region)
    rows ─► responsiveness, reference accuracy (harness/scoring/robustness.py), metrics and reference-
            consistency gaps per region ─► table / JSON / MLflow (with the outputs side by side per region)

Same engine as run-benchmark (harness/engine/dispatch.py: Ray tasks and actors, cache, --resume, --limit).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable

import pandas as pd

from harness.config import RobustnessConfig, parse_candidates

PER_REFERENCE = ("fmse", "fde2000", "fpsnr", "gap_highlight", "gap_midtone", "gap_shadow", "gap_a", "gap_b")
PAIRED = ("fde2000", "fmse")  # compared between methods, where the suite has truths


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
                                  for x in rows.to_dict(orient="records")}}
        flat = self.rows.drop(columns=[c for c in ("de2000_to", "truth_apart", "node", "worker_seconds")
                                       if c in self.rows])
        return {"suite": self.suite, "source": self.source, "references": self.references,
                "n": int(self.rows["id"].nunique()) if len(self.rows) else 0, "methods": methods,
                "pairs": self.pairs.to_dict(orient="records"),
                "per_image": flat.to_dict(orient="records"), "ray": self.cluster, "computed": self.computed,
                "cached": self.cached, "mlflow_run_id": self.mlflow_run_id, "mlflow_url": self.mlflow_url,
                "report": self.report}


def run_robustness(cfg: RobustnessConfig, log: Callable[[str], None] | None = None) -> RobustnessResult:
    from harness.cluster import ray_session
    from harness.console import current
    from harness.engine.benchmark import open_inputs

    console = current()
    log = log or console.note
    cfg.check()
    kinds = parse_candidates(cfg.references)
    suite, methods = open_inputs(cfg, log)
    tracker = None
    if cfg.mlflow:
        from harness.tracking.robustness import RobustnessTracker

        tracker = RobustnessTracker(cfg, suite, methods, log_path=console.log_path)
    try:
        with ray_session(cfg.ray_address, cfg.num_cpus) as cluster:
            if tracker:
                tracker.start(cluster)
            rows, grids, computed, cached = _execute(cfg, kinds, suite, methods, cluster, log, console.err)
        result = _summarise(cfg, kinds, suite, rows, cluster, [m.label for m in methods])
        result.computed, result.cached, result.grids = computed, cached, grids
        if tracker:
            result.mlflow_run_id = tracker.finish(result, _figures(suite, result, [m.label for m in methods]),
                                                  note=log)
            result.mlflow_url, result.report = tracker.url, tracker.report
        return result
    except BaseException as err:
        if tracker:
            tracker.fail(err)
        raise


def _execute(cfg, kinds, suite, methods, cluster, log, progress_stream):
    import hashlib

    from harness.data.suites import loader_module
    from harness.engine.cache import RowCache, method_fingerprint, row_key, scoring_fingerprint
    from harness.engine.dispatch import execute, hash_samples, progress_bar, start_pool

    actors = start_pool(len(suite.specs), methods, cluster)
    hashes = hash_samples(suite.specs, actors, cluster["cpus"])
    cache = RowCache(cfg.cache_dir)
    grid_ids = {s.id for s in suite.specs[: cfg.grid_samples]} if cfg.mlflow else set()
    method_fps = {m: method_fingerprint(m) for m in methods}
    scoring_fps = {k: scoring_fingerprint(loader_module(k)) for k in {s.kind for s in suite.specs}}
    variant = "regions:" + ",".join(kinds)
    rows: list[dict] = []
    grids: dict[str, dict[str, bytes]] = {}
    units = []

    def png_key(key: str, region: str) -> str:
        return hashlib.sha256(f"{key}|{region}".encode()).hexdigest()

    def keep_pngs(sid: str, label: str, key: str, pngs: dict) -> None:
        for region, data in pngs.items():
            grids.setdefault(sid, {})[f"{label}|{region}"] = data

    for spec, h in zip(suite.specs, hashes):
        items = []
        for m in methods:
            key = row_key(h, method_fps[m], scoring_fps[spec.kind], cfg.protocol_key, variant)
            hit = cache.get(key) if cfg.resume else None
            if hit is not None and spec.id in grid_ids:
                pngs = {r["reference"]: cache.get_png(png_key(key, r["reference"])) for r in hit}
                hit = hit if all(pngs.values()) else None
                if hit is not None:
                    keep_pngs(spec.id, m.label, key, pngs)
            if hit is not None:
                rows += hit
            else:
                items.append((m, key, spec.id in grid_ids))
        if items:
            units.append((spec, items))
    cached = len({(r["method"], r["id"]) for r in rows})
    total = sum(len(items) for _, items in units)
    if cfg.resume:
        log(f"resume: {cached} (method, sample) pairs cached, {total} to compute")

    def store(item, res) -> None:
        m, key, _ = item
        cache.put(key, res["row"])
        rows.extend(res["row"])
        if res["png"]:
            sid = res["row"][0]["id"]
            for region, data in res["png"].items():
                cache.put_png(png_key(key, region), data)
            keep_pngs(sid, m.label, key, res["png"])

    bar = progress_bar(total, cfg.progress, progress_stream, desc="method × sample, every region")
    try:
        execute(units, {"protocol": cfg.protocol_key, "candidates": kinds}, actors, store, total, bar)
    except BaseException:
        bar.leave = False
        raise
    finally:
        bar.close()
    return rows, grids, total, cached


def _summarise(cfg, kinds, suite, rows, cluster, method_order: list[str]) -> RobustnessResult:
    from harness.scoring.robustness import robustness_summary
    from harness.scoring.stats import paired_comparisons

    df = pd.DataFrame(rows)
    order = {s.id: i for i, s in enumerate(suite.specs)}
    df["_o"], df["_m"] = df["id"].map(order), df["method"].map({m: i for i, m in enumerate(method_order)})
    df = df.sort_values(["_m", "_o"], kind="stable").drop(columns=["_o", "_m"]).reset_index(drop=True)
    summary = robustness_summary(df, n_boot=cfg.n_boot, seed=cfg.seed)
    summary["_m"] = summary["method"].map({m: i for i, m in enumerate(method_order)})
    summary = summary.sort_values("_m").drop(columns="_m").reset_index(drop=True)
    cols = [c for c in PER_REFERENCE if c in df]
    per_ref = df.groupby(["method", "reference"], sort=False)[cols].mean().reset_index()
    per_ref["n"] = df.groupby(["method", "reference"], sort=False).size().to_numpy()
    paired = [c for c in PAIRED if c in df]
    per_sample = df.groupby(["method", "id"], sort=False)[paired].mean().reset_index()
    pairs = paired_comparisons(per_sample, paired, by="method", id_col="id", n_boot=cfg.n_boot, seed=cfg.seed)
    return RobustnessResult(suite.name, suite.source, suite.notice, kinds, df, summary, per_ref, cluster,
                            pairs=pairs)


def _figures(suite, result: RobustnessResult, labels: list[str]) -> dict:
    from harness.data.suites import load_spec
    from harness.engine.tiles import region_figure

    out = {}
    for spec in suite.specs:
        if spec.id in result.grids:
            regions = list(dict.fromkeys(result.rows[result.rows["id"] == spec.id]["reference"]))
            out[spec.id] = region_figure(load_spec(spec), result.grids[spec.id], labels, regions)
    return out


def summary_text(result: RobustnessResult) -> str:
    from harness.scoring.tables import mlflow_lines, paired_text, sig, table

    lines = [f"suite {result.suite} — source: {result.source} — {result.rows['id'].nunique()} samples × "
             f"{result.rows['method'].nunique()} methods × candidate regions ({', '.join(result.references)}); "
             f"{result.computed} (method, sample) pairs computed, {result.cached} from cache"]
    if result.notice:
        lines.append(f"NOTE: {result.notice}")
    means = result.rows.groupby("method", sort=False)[["fde2000", "gap_midtone"]].mean()
    body = []
    for r in result.summary.to_dict(orient="records"):
        acc = r["reference_accuracy"]
        body.append([r["method"], f"{sig(r['responsiveness'], 3)} [{sig(r['responsiveness_lo'], 3)}, "
                                  f"{sig(r['responsiveness_hi'], 3)}]",
                     "-" if acc != acc else f"{100 * acc:.0f}% [{100 * r['reference_accuracy_lo']:.0f}, "
                                            f"{100 * r['reference_accuracy_hi']:.0f}] ({r['pairs']} pairs)",
                     sig(means.loc[r["method"], "fde2000"]), sig(means.loc[r["method"], "gap_midtone"])])
    lines += ["", "responsiveness = foreground colour change between regions / the regions' own colour difference "
                  "(0: ignores the reference); reference accuracy = output under A closer to truth A than to "
                  "truth B (50% = chance); 95% bootstrap CIs over samples; fΔE2000 and the mid-tone gap are "
                  "means over samples × regions",
              table(["method", "responsiveness", "reference accuracy", "fΔE2000", "gap midtone"], body)]
    methods = list(result.summary["method"])
    if len(result.pairs) and len(methods) > 1:
        lines += ["", *paired_text(result.pairs, methods, PAIRED, "per sample (its mean over the regions)"),
                  "every pair is in --json (pairs) and in MLflow (paired_comparisons.csv)"]
    return "\n".join(lines + mlflow_lines(result))
