"""`run-benchmark`: every method on every sample, distributed by Ray, scored, summarised, logged.

    suite.specs ──hash (Ray tasks)──► cache keys ──cached? (--resume)──► rows
                                            └─ missing ─► one unit per sample: the methods it still needs
                                                  Ray tasks (classical only) / actor pool (learned methods)
                                                  decode once → harmonize → 8-bit → score ─► rows (+PNG)
    rows ─► pandas ─► means, bootstrap CIs, fg-ratio buckets, per-subset rows, paired tests ─► table / JSON /
                                                                                             MLflow

The driver alone writes the cache, `--out` and MLflow, as results arrive: an interrupted run keeps every
finished unit, and `--resume` computes only the rest.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import pandas as pd

from harness.config import BenchmarkConfig
from harness.data.io import atomic_write
from harness.engine.results import BenchmarkResult
from harness.errors import HarnessError


def open_inputs(cfg, log: Callable[[str], None]) -> tuple[Any, list]:
    """The suite (its notice said through `log`) and the resolved methods a run of `cfg` works on — the same
    first step for run-benchmark and run-robustness. `models:/` checkpoints are fetched from the model registry
    of `cfg.tracking_uri` here, on the driver."""
    from harness.data.suites import open_suite
    from harness.methods.spec import resolve_methods
    from harness.tracking.training import download_registered_checkpoint

    suite = open_suite(cfg.suite, cfg.data_root, cfg.limit)
    if suite.notice:
        log(f"note: {suite.notice}")
    methods = resolve_methods(cfg.methods, lambda ref: download_registered_checkpoint(ref, cfg.tracking_uri))
    if not methods:
        raise HarnessError("no methods to run")
    if cfg.upsample:  # the run's way up, for every learned method that does not name its own
        methods = [m.with_option("upsample", cfg.upsample) if "upsample" in m.info.options
                   and "upsample" not in m.opts else m for m in methods]
    return suite, methods


def run_benchmark(cfg: BenchmarkConfig, log: Callable[[str], None] | None = None) -> BenchmarkResult:
    """Run the benchmark described by `cfg`. `log(str)` receives progress notes (default: the console)."""
    from harness.engine.session import command_session
    from harness.tracking.benchmark import BenchmarkTracker

    cfg.check()
    with command_session(cfg, log) as session:
        suite, methods = open_inputs(cfg, session.log)
        session.track(lambda log_path: BenchmarkTracker(cfg, suite, methods, log_path=log_path))
        plan, cluster, timings = _rows(cfg, suite, methods, session)
        t0 = time.perf_counter()
        result = _summarise(cfg, suite, plan.rows, cluster, [m.label for m in methods])
        result.computed, result.cached, result.grids = plan.computed, plan.cached, plan.grids
        result.fingerprints = plan.fingerprints
        result.timings = {**timings, "summary": time.perf_counter() - t0}
        result.log_path = str(session.log_path) if session.log_path else None
        if cfg.out:
            atomic_write(Path(cfg.out) / "per_image.csv", result.rows.to_csv(index=False))
        if session.tracker is not None:
            from harness.engine.tiles import grid_image, input_tiles, output_tile

            grids = plan.grids
            inputs = input_tiles(suite, [s.id for s in suite.specs if any(s.id in p for p in grids.values())])
            images = {label: grid_image(suite, pngs, inputs=inputs) for label, pngs in grids.items()}
            outputs = {label: {sid: output_tile(png) for sid, png in pngs.items()} for label, pngs in grids.items()}
            session.finish(result, images, (inputs, outputs))
    return result


def _rows(cfg: BenchmarkConfig, suite, methods: list, session) -> tuple["Plan", dict, dict[str, float]]:
    """Every row of the run — from the cache (--resume) or computed on Ray — and the cluster it used, with the
    seconds spent starting Ray, hashing the samples and working (`compute` = hash + work).

    Without --resume the samples are hashed on Ray by the actor pool (hashing warms the workers up). With
    --resume they are hashed here first, so that a run whose every row is cached answers without Ray at all."""
    from harness.data.suites import spec_content_hash
    from harness.engine.dispatch import hash_samples, start_pool
    from harness.engine.session import shared_paths

    t0 = time.perf_counter()
    plan = _plan(cfg, suite, methods, [spec_content_hash(s) for s in suite.specs]) if cfg.resume else None
    t_hash = time.perf_counter() - t0
    if plan is not None:
        session.log(f"resume: {plan.cached} results cached, {plan.to_compute} to compute")
        if not plan.units:
            if session.tracker is not None:
                session.tracker.start(NO_RAY)
            return plan, NO_RAY, {"ray_start": 0.0, "hash": t_hash, "work": 0.0, "compute": t_hash}
    t1 = time.perf_counter()
    with session.ray(shared=shared_paths(cfg, suite)) as cluster:
        t2 = time.perf_counter()
        actors = start_pool(len(suite.specs), methods, cluster)
        if plan is None:
            plan = _plan(cfg, suite, methods, hash_samples(suite.specs, actors, cluster["cpus"]))
            t_hash = time.perf_counter() - t2
        _compute(cfg, plan, actors, session)
        work = time.perf_counter() - t2 - (0.0 if cfg.resume else t_hash)
    return plan, cluster, {"ray_start": t2 - t1, "hash": t_hash, "work": work, "compute": t_hash + work}


NO_RAY = {"address": None, "nodes": 0, "cpus": 0, "gpus": 0}  # the cluster of a run that needed none


@dataclass
class Plan:
    """A run's rows so far (cached or computed) and, per sample, the (method, key, PNG path, want PNG) still to
    compute; `grids`: the PNGs of the MLflow image grid, by method label and sample id."""

    rows: list[dict]
    grids: dict[str, dict[str, bytes]]
    units: list[tuple[Any, list[tuple]]]
    fingerprints: dict[str, str]
    grid_ids: set[str]
    cache: Any
    cached: int = 0
    computed: int = 0

    @property
    def to_compute(self) -> int:
        return sum(len(items) for _, items in self.units)


def plan_benchmark(cfg: BenchmarkConfig) -> dict[str, Any]:
    """What `run_benchmark(cfg)` would compute and what it would take from the cache (as with --resume), per
    method — without Ray or MLflow: samples are hashed here, nothing is harmonized (`--dry-run`)."""
    from harness.data.suites import spec_content_hash

    cfg.check()
    suite, methods = open_inputs(cfg, lambda line: None)
    plan = _plan(cfg, suite, methods, [spec_content_hash(s) for s in suite.specs], use_cache=True)
    todo: dict[str, int] = {m.label: 0 for m in methods}
    for _, items in plan.units:
        for m, *_ in items:
            todo[m.label] += 1
    per_method = {m.label: {"cached": len(suite.specs) - todo[m.label], "to_compute": todo[m.label]}
                  for m in methods}
    return {"dry_run": True, "suite": suite.name, "source": suite.source, "protocol": cfg.protocol_key,
            "n": len(suite.specs), "cached": plan.cached, "to_compute": plan.to_compute, "methods": per_method}


def _plan(cfg, suite, methods, hashes, use_cache: bool | None = None) -> Plan:
    """Cached rows, and per sample the (method, key, PNG path, want PNG) still to compute."""
    from harness.data.io import id_to_stem
    from harness.data.suites import loader_module
    from harness.engine.cache import RowCache, method_fingerprint, row_key, scoring_fingerprint

    cache = RowCache(cfg.cache_dir)
    grid_ids = {s.id for s in suite.specs[: cfg.grid_samples]} if cfg.mlflow else set()
    out_dir = Path(cfg.out) if cfg.out else None
    method_fps = {m: method_fingerprint(m) for m in methods}
    scoring_fps = {kind: scoring_fingerprint(loader_module(kind)) for kind in {s.kind for s in suite.specs}}
    rows, grids, units = [], {}, {}
    for spec, h in zip(suite.specs, hashes):
        for m in methods:
            key = row_key(spec.id, h, method_fps[m], scoring_fps[spec.kind], cfg.protocol_key, cfg.reference)
            png_path = out_dir / m.dirname / f"{id_to_stem(spec.id)}.png" if out_dir else None
            hit = cache.get(key) if (cfg.resume if use_cache is None else use_cache) else None
            grid_png = cache.get_png(key) if hit is not None and spec.id in grid_ids else None
            needs_png = (spec.id in grid_ids and grid_png is None) or (png_path is not None and not png_path.is_file())
            if hit is not None and not needs_png:
                rows.append(hit)
                if grid_png is not None:
                    grids.setdefault(m.label, {})[spec.id] = grid_png
            else:
                want = png_path is not None or spec.id in grid_ids
                units.setdefault(spec.id, (spec, []))[1].append((m, key, png_path, want))
    return Plan(rows, grids, list(units.values()), {m.label: fp for m, fp in method_fps.items()}, grid_ids, cache,
                cached=len(rows))


def _compute(cfg, plan: Plan, actors: list, session) -> None:
    """Compute what `plan` still needs on Ray, adding the rows (and PNGs) to it as they arrive."""
    from harness.engine.dispatch import execute

    def store(item, res) -> None:
        m, _, _, png_path = item
        plan.cache.put(res["key"], res["row"])
        plan.rows.append(res["row"])
        if res["png"] is not None:
            if png_path is not None:
                atomic_write(png_path, res["png"])
            if res["row"]["id"] in plan.grid_ids:
                plan.grids.setdefault(m.label, {})[res["row"]["id"]] = res["png"]
                plan.cache.put_png(res["key"], res["png"])

    plan.computed = plan.to_compute
    execute([(spec, [(m, key, want, png) for m, key, png, want in items]) for spec, items in plan.units],
            {"protocol": cfg.protocol_key, "reference": cfg.reference}, actors, store,
            (cfg.progress, session.progress_stream, "harmonize+score"))


def _summarise(cfg, suite, rows, cluster, method_order: list[str]) -> BenchmarkResult:
    from harness.methods.cost import cost_summary
    from harness.scoring.consistency import GAPS
    from harness.scoring.metrics import METRICS
    from harness.scoring.stats import bucket_means, paired_comparisons, summarize, summarize_per_value

    df = pd.DataFrame(rows)
    order = {s.id: i for i, s in enumerate(suite.specs)}
    df["_o"] = df["id"].map(order)
    df["_m"] = df["method"].map({m: i for i, m in enumerate(method_order)})
    df = df.sort_values(["_m", "_o"]).drop(columns=["_o", "_m"]).reset_index(drop=True)
    summary = summarize(df, METRICS + GAPS, by="method", n_boot=cfg.bootstrap, seed=cfg.seed)
    buckets = bucket_means(df, METRICS, by="method")
    pairs = paired_comparisons(df, METRICS, by="method", id_col="id", n_boot=cfg.bootstrap, seed=cfg.seed)
    subsets = summarize_per_value(df, METRICS, "subset", by="method", n_boot=cfg.bootstrap, seed=cfg.seed)
    augmentations = summarize_per_value(df, METRICS, "augmentation", by="method", n_boot=cfg.bootstrap,
                                        seed=cfg.seed)
    return BenchmarkResult(suite.name, suite.source, suite.notice, cfg.resolution, df, summary, buckets, pairs,
                           cluster, protocol=cfg.protocol_key, subsets=subsets, augmentations=augmentations,
                           efficiency=cost_summary(df))
