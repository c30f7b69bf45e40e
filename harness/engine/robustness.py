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

from typing import Callable

import pandas as pd

from harness.config import RobustnessConfig
from harness.data.candidates import parse_candidates
from harness.engine.results import PAIRED, PER_REFERENCE, RobustnessResult


def run_robustness(cfg: RobustnessConfig, log: Callable[[str], None] | None = None) -> RobustnessResult:
    """Run every method with every candidate region of every sample (`cfg`); `log(str)` receives progress notes
    (default: the console)."""
    from harness.engine.benchmark import open_inputs
    from harness.engine.session import command_session
    from harness.tracking.robustness import RobustnessTracker

    cfg.check()
    kinds = parse_candidates(cfg.references)
    with command_session(cfg, log) as session:
        suite, methods = open_inputs(cfg, session.log)
        session.track(lambda log_path: RobustnessTracker(cfg, suite, methods, log_path=log_path))
        rows, grids, computed, cached, cluster = _rows(cfg, kinds, suite, methods, session)
        result = _summarise(cfg, kinds, suite, rows, cluster, [m.label for m in methods])
        result.computed, result.cached, result.grids = computed, cached, grids
        if session.tracker is not None:
            session.finish(result, _figures(suite, result, [m.label for m in methods]))
    return result


def _rows(cfg, kinds, suite, methods, session):
    """Every row of the run, from the cache (--resume) or computed on Ray, and the cluster it used. As in
    run-benchmark (harness/engine/benchmark.py: _rows), --resume hashes the samples here first: when every
    (method, sample) is cached, Ray is never started."""
    from harness.data.suites import spec_content_hash
    from harness.engine.benchmark import NO_RAY
    from harness.engine.dispatch import hash_samples, start_pool
    from harness.engine.session import shared_paths

    planned = None
    if cfg.resume:
        planned = _plan(cfg, kinds, suite, methods, [spec_content_hash(s) for s in suite.specs], session.log)
        if not planned[2]:
            if session.tracker is not None:
                session.tracker.start(NO_RAY)
            rows, grids, _, _, cached = planned
            return rows, grids, 0, cached, NO_RAY
    with session.ray(shared=shared_paths(cfg, suite)) as cluster:
        actors = start_pool(len(suite.specs), methods, cluster)
        if planned is None:
            planned = _plan(cfg, kinds, suite, methods, hash_samples(suite.specs, actors, cluster["cpus"]),
                            session.log)
        rows, grids, units, cache, cached = planned
        _compute(cfg, kinds, units, actors, cache, rows, grids, session.progress_stream)
    return rows, grids, sum(len(items) for _, items in units), cached, cluster


def _png_key(key: str, region: str) -> str:
    import hashlib

    return hashlib.sha256(f"{key}|{region}".encode()).hexdigest()


def _keep_pngs(grids: dict, sid: str, label: str, pngs: dict) -> None:
    for region, data in pngs.items():
        grids.setdefault(sid, {})[f"{label}|{region}"] = data


def _plan(cfg, kinds, suite, methods, hashes, log):
    """(cached rows, grid PNGs, units still to compute, the cache, how many (method, sample) were cached)."""
    from harness.data.suites import loader_module
    from harness.engine.cache import RowCache, method_fingerprint, row_key, scoring_fingerprint

    cache = RowCache(cfg.cache_dir)
    grid_ids = {s.id for s in suite.specs[: cfg.grid_samples]} if cfg.mlflow else set()
    method_fps = {m: method_fingerprint(m) for m in methods}
    scoring_fps = {k: scoring_fingerprint(loader_module(k)) for k in {s.kind for s in suite.specs}}
    variant = "regions:" + ",".join(kinds)
    rows: list[dict] = []
    grids: dict[str, dict[str, bytes]] = {}
    units = []
    for spec, h in zip(suite.specs, hashes):
        items = []
        for m in methods:
            key = row_key(spec.id, h, method_fps[m], scoring_fps[spec.kind], cfg.protocol_key, variant)
            hit = cache.get(key) if cfg.resume else None
            if hit is not None and spec.id in grid_ids:
                pngs = {r["reference"]: cache.get_png(_png_key(key, r["reference"])) for r in hit}
                hit = hit if all(pngs.values()) else None
                if hit is not None:
                    _keep_pngs(grids, spec.id, m.label, pngs)
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
    return rows, grids, units, cache, cached


def _compute(cfg, kinds, units, actors, cache, rows, grids, progress_stream) -> None:
    """Compute `units` on Ray, adding their rows (and grid PNGs) to `rows` and `grids` as they arrive."""
    from tqdm import tqdm

    from harness.engine.dispatch import execute

    total = sum(len(items) for _, items in units)
    # one item is a method swept over every candidate region of a sample, not one image: counted here, as sweeps
    # (the engine's own bar counts images)
    bar = tqdm(total=total, desc="regions swept (method × sample)", unit="sweep", file=progress_stream,
               disable=not cfg.progress or total == 0, dynamic_ncols=True)

    def store(item, res) -> None:
        m, key, _ = item
        cache.put(key, res["row"])
        rows.extend(res["row"])
        if res["png"]:
            sid = res["row"][0]["id"]
            for region, data in res["png"].items():
                cache.put_png(_png_key(key, region), data)
            _keep_pngs(grids, sid, m.label, res["png"])
        bar.update(1)

    try:
        execute(units, {"protocol": cfg.protocol_key, "candidates": kinds}, actors, store,
                (False, progress_stream, ""))
    finally:
        bar.close()


def _summarise(cfg, kinds, suite, rows, cluster, method_order: list[str]) -> RobustnessResult:
    from harness.scoring.robustness import robustness_summary
    from harness.scoring.stats import paired_comparisons

    df = pd.DataFrame(rows)
    order = {s.id: i for i, s in enumerate(suite.specs)}
    df["_o"], df["_m"] = df["id"].map(order), df["method"].map({m: i for i, m in enumerate(method_order)})
    df = df.sort_values(["_m", "_o"], kind="stable").drop(columns=["_o", "_m"]).reset_index(drop=True)
    summary = robustness_summary(df, n_boot=cfg.bootstrap, seed=cfg.seed)
    summary["_m"] = summary["method"].map({m: i for i, m in enumerate(method_order)})
    summary = summary.sort_values("_m").drop(columns="_m").reset_index(drop=True)
    cols = [c for c in PER_REFERENCE if c in df]
    per_ref = df.groupby(["method", "reference"], sort=False)[cols].mean().reset_index()
    per_ref["n"] = df.groupby(["method", "reference"], sort=False).size().to_numpy()
    paired = [c for c in PAIRED if c in df]
    per_sample = df.groupby(["method", "id"], sort=False)[paired].mean().reset_index()
    pairs = paired_comparisons(per_sample, paired, by="method", id_col="id", n_boot=cfg.bootstrap, seed=cfg.seed)
    from harness.methods.cost import cost_summary

    return RobustnessResult(suite.name, suite.source, suite.notice, kinds, df, summary, per_ref, cluster,
                            pairs=pairs, efficiency=cost_summary(df))


def _figures(suite, result: RobustnessResult, labels: list[str]) -> dict:
    from harness.data.suites import load_spec
    from harness.engine.tiles import region_figure

    out = {}
    for spec in suite.specs:
        if spec.id in result.grids:
            regions = list(dict.fromkeys(result.rows[result.rows["id"] == spec.id]["reference"]))
            out[spec.id] = region_figure(load_spec(spec), result.grids[spec.id], labels, regions)
    return out
