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
        t0 = time.perf_counter()
        with session.ray() as cluster:
            t1 = time.perf_counter()
            rows, grids, computed, cached, fingerprints, t_hash = _execute(cfg, suite, methods, cluster, session.log,
                                                                          session.progress_stream)
            t2 = time.perf_counter()
        result = _summarise(cfg, suite, rows, cluster, [m.label for m in methods])
        result.computed, result.cached, result.grids = computed, cached, grids
        result.fingerprints = fingerprints
        result.timings = {"ray_start": t1 - t0, "compute": t2 - t1, "hash": t_hash, "work": t2 - t1 - t_hash,
                          "summary": time.perf_counter() - t2}
        result.log_path = str(session.log_path) if session.log_path else None
        if cfg.out:
            atomic_write(Path(cfg.out) / "per_image.csv", result.rows.to_csv(index=False))
        if session.tracker is not None:
            from harness.engine.tiles import grid_image, input_tiles, output_tile

            inputs = input_tiles(suite, [s.id for s in suite.specs if any(s.id in p for p in grids.values())])
            images = {label: grid_image(suite, pngs, inputs=inputs) for label, pngs in grids.items()}
            outputs = {label: {sid: output_tile(png) for sid, png in pngs.items()} for label, pngs in grids.items()}
            session.finish(result, images, (inputs, outputs))
    return result


def plan_benchmark(cfg: BenchmarkConfig) -> dict[str, Any]:
    """What `run_benchmark(cfg)` would compute and what it would take from the cache (as with --resume), per
    method — without Ray or MLflow: samples are hashed here, nothing is harmonized (`--dry-run`)."""
    from harness.data.suites import spec_content_hash
    from harness.engine.cache import RowCache

    cfg.check()
    suite, methods = open_inputs(cfg, lambda line: None)
    grid_ids = {s.id for s in suite.specs[: cfg.grid_samples]} if cfg.mlflow else set()
    hashes = [spec_content_hash(s) for s in suite.specs]
    rows, _, units, _ = _plan(cfg, suite, methods, hashes, RowCache(cfg.cache_dir), grid_ids, use_cache=True)
    todo: dict[str, int] = {m.label: 0 for m in methods}
    for _, items in units:
        for m, *_ in items:
            todo[m.label] += 1
    per_method = {m.label: {"cached": len(suite.specs) - todo[m.label], "to_compute": todo[m.label]}
                  for m in methods}
    return {"dry_run": True, "suite": suite.name, "source": suite.source, "protocol": cfg.protocol_key,
            "n": len(suite.specs),
            "cached": len(rows), "to_compute": sum(todo.values()), "methods": per_method}


def _plan(cfg, suite, methods, hashes, cache, grid_ids, use_cache: bool | None = None):
    """Cached rows, and per sample the (method, key, PNG path, want PNG) still to compute."""
    from harness.data.io import id_to_stem
    from harness.data.suites import loader_module
    from harness.engine.cache import method_fingerprint, row_key, scoring_fingerprint

    out_dir = Path(cfg.out) if cfg.out else None
    method_fps = {m: method_fingerprint(m) for m in methods}
    scoring_fps = {kind: scoring_fingerprint(loader_module(kind)) for kind in {s.kind for s in suite.specs}}
    rows, grids, units = [], {}, {}
    for spec, h in zip(suite.specs, hashes):
        for m in methods:
            key = row_key(h, method_fps[m], scoring_fps[spec.kind], cfg.protocol_key, cfg.reference)
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
    return rows, grids, list(units.values()), {m.label: fp for m, fp in method_fps.items()}


def _execute(cfg, suite, methods, cluster, log, progress_stream):
    from harness.engine.cache import RowCache
    from harness.engine.dispatch import execute, hash_samples, start_pool

    t0 = time.perf_counter()
    actors = start_pool(len(suite.specs), methods, cluster)
    hashes = hash_samples(suite.specs, actors, cluster["cpus"])
    t_hash = time.perf_counter() - t0

    cache = RowCache(cfg.cache_dir)
    grid_ids = {s.id for s in suite.specs[: cfg.grid_samples]} if cfg.mlflow else set()
    rows, grids, units, fingerprints = _plan(cfg, suite, methods, hashes, cache, grid_ids)
    cached = len(rows)
    total = sum(len(items) for _, items in units)
    if cfg.resume:
        log(f"resume: {cached} results cached, {total} to compute")

    def store(item, res) -> None:
        m, _, _, png_path = item
        cache.put(res["key"], res["row"])
        rows.append(res["row"])
        if res["png"] is not None:
            if png_path is not None:
                atomic_write(png_path, res["png"])
            if res["row"]["id"] in grid_ids:
                grids.setdefault(m.label, {})[res["row"]["id"]] = res["png"]
                cache.put_png(res["key"], res["png"])

    execute([(spec, [(m, key, want, png) for m, key, png, want in items]) for spec, items in units],
            {"protocol": cfg.protocol_key, "reference": cfg.reference}, actors, store,
            (cfg.progress, progress_stream, "harmonize+score"))
    return rows, grids, total, cached, fingerprints, t_hash


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
