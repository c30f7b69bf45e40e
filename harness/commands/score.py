"""Score saved predictions against a suite's ground truth, under the harness's protocol or exactly as a peer's
evaluation script does (--protocol bcmi | idih), with per-subset rows for suites that have subsets.

prediction files in PRED_DIR (.png, .jpg or .jpeg; exactly one per sample):
  <id>.png with "/" → "__"   the harness's name, as run-benchmark --out writes it: HCOCO__c101_3_1.png, img07.png
  <composite name>.jpg       the composite's own file name, flat — what Dove-Net/BargainNet test.py (bcmi) and
                             iDIH's predict_for_dir.py save: c101_3_1.jpg
  <Subset>/<composite name>  the same, one folder per subset: HCOCO/c101_3_1.jpg
  <method>/<id>.png          a run-benchmark --out folder (one folder per method): every method is scored

Every sample needs its prediction; a folder made by a --limit run holds only the suite's first N, so give the
same --limit (the error says so), or --partial to score whichever samples have one.

prediction sizes: the sample's own size, or 256×256 (what a 256-pixel model and the official test scripts save)
under --protocol bcmi, idih, or harness with --resolution 256 (idih --resolution 512: 512×512; idih
--resolution longest1024: the size with the longest side brought down to 1024). A file at that working size
is scored as it is, never upsampled; a full-size one is resized the protocol's way (bcmi: PIL 8-bit bicubic;
idih: OpenCV bilinear; harness: float bicubic). --protocol harness --resolution native takes full-size files.

examples:
  harness export-suite --suite sample --out suite/ && <run your model on suite/composite/> ...
  harness score --suite sample --pred-dir preds/                  # run-benchmark --out preds/: every method
  harness score --suite sample --pred-dir preds/composite --limit 6
  harness score --suite iharmony4 --data-root /data/iHarmony4 --pred-dir results/images --protocol bcmi
  harness score --suite iharmony4 --data-root /data/iHarmony4 --pred-dir predictions/ --protocol idih --json
  harness score --suite iharmony4 --data-root /data/iHarmony4 --pred-dir out/ --protocol idih --resolution longest1024
  harness score --suite folder --data-root my_data/ --pred-dir preds/ --resolution 256 --json
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from harness.config import ScoreConfig
from harness.options import add_arguments as add_config_arguments, from_args

SINGLE = "predictions"  # the row name when PRED_DIR is one folder of predictions


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_config_arguments(p, ScoreConfig)


def score_folder(cfg: ScoreConfig, suite, pred_dir: Path) -> tuple[list[dict], list[str]]:
    """(one row per sample with a prediction, the ids without one): every prediction is found before any work
    is done; a missing one is an error unless `cfg.partial`."""
    from harness.data.io import read_rgb
    from harness.data.predictions import find_predictions
    from harness.data.suites import load_spec
    from harness.scoring.score import score_prediction

    preds = find_predictions(pred_dir, suite.ids, partial=cfg.partial)
    import torch

    torch.set_num_threads(1)  # measured: OpenMP threads stall ~10× on a busy 2-core machine; 1 is never slower here
    rows = [score_prediction(read_rgb(preds[s.id]), load_spec(s), cfg.resolution, where=str(preds[s.id]),
                             protocol=cfg.protocol) for s in suite.specs if s.id in preds]
    return rows, [sid for sid in suite.ids if sid not in preds]


def summarise(cfg: ScoreConfig, rows: list[dict], missing: list[str]) -> dict[str, Any]:
    """One folder's numbers: per image, means with bootstrap CIs, per-subset rows, the ids left out."""
    import pandas as pd

    from harness.engine.results import per_value_json
    from harness.scoring.metrics import METRICS
    from harness.scoring.stats import summarize, summarize_per_value

    df = pd.DataFrame(rows).assign(_all=0)
    long = summarize(df, METRICS, by="_all", n_boot=cfg.bootstrap, seed=cfg.seed)
    subsets = summarize_per_value(df, METRICS, "subset", by=None, n_boot=cfg.bootstrap, seed=cfg.seed)
    return {"n": len(rows), "per_image": rows,
            "mean": {r.metric: float(r.mean) for r in long.itertuples()},
            "ci95": {r.metric: [r.ci_lo, r.ci_hi] for r in long.itertuples()},
            "n_per_metric": {r.metric: int(r.n) for r in long.itertuples()},
            "subsets": per_value_json(subsets, "subset", by=None) if len(subsets) else {},
            "_subsets": subsets, "missing": missing}


def run(args: argparse.Namespace) -> int:
    import json

    from harness.console import current
    from harness.data.predictions import method_folders
    from harness.data.suites import open_suite
    from harness.engine.results import per_value_text
    from harness.formatting import ci_cell, jsonable, plural, table
    from harness.scoring.metrics import METRICS

    cfg = from_args(ScoreConfig, args)
    console = current()
    suite = open_suite(cfg.suite, cfg.data_root, cfg.limit)
    if suite.notice:
        console.note(f"note: {suite.notice}")
    folders = method_folders(cfg.pred_dir, suite.ids) or {SINGLE: Path(cfg.pred_dir)}  # the table names them
    results = {}
    for name, folder in folders.items():
        rows, missing = score_folder(cfg, suite, folder)
        results[name] = summarise(cfg, rows, missing)
        if missing:
            console.note(f"--partial: {folder}: scored {results[name]['n']} of {len(suite.ids)} samples; "
                         f"{plural(len(missing), 'sample')} without a prediction left out (first: '{missing[0]}')")
    _say_missing_truth(results, console)
    head = {"suite": suite.name, "source": suite.source, "protocol": cfg.protocol_key, "resolution": cfg.resolution}
    if args.json:
        public = {name: {k: v for k, v in r.items() if not k.startswith("_")} for name, r in results.items()}
        doc = {**head, **public[SINGLE]} if SINGLE in public else {**head, "methods": public}
        console.out.write(json.dumps(jsonable(doc)) + "\n")
        return 0
    ns = sorted({r["n"] for r in results.values()})
    counted = plural(ns[0], "image") if len(ns) == 1 else f"{ns[0]}–{ns[-1]} images (--partial)"
    lines = [f"suite {suite.name} ({suite.source}), {counted}, protocol {cfg.protocol_key}", "",
             "mean [95% bootstrap CI]; lower is better for mse and ΔE, higher for psnr and ssim",
             table(["metric", *results], [[m] + [ci_cell(r["mean"][m], *r["ci95"][m], n=r["n_per_metric"][m])
                                                 for r in results.values()] for m in METRICS])]
    for name, r in results.items():
        if len(r["_subsets"]):
            lines += ["", f"per subset{'' if name == SINGLE else f', {name}'}: mean [95% bootstrap CI] (every "
                          "metric in --json)", per_value_text(r["_subsets"], "subset", by=None)]
    console.out.write("\n".join(lines) + "\n")
    return 0


def _say_missing_truth(results: dict[str, dict], console) -> None:
    """Samples without ground truth (harness/scoring/truth.py): with none at all there is nothing to score — one
    line saying what measures them instead; with some, the notice once (their metrics are left out)."""
    import pandas as pd

    from harness.errors import HarnessError
    from harness.scoring.truth import samples_without_truth, truth_notice

    rows = pd.DataFrame([row for r in results.values() for row in r["per_image"]])
    missing, total = samples_without_truth(rows)
    if missing and missing == total:
        raise HarnessError(f"no ground truth (real/) to score against in any of the {total} samples; "
                           "`harness run-benchmark` measures the reference-consistency gaps without it")
    if missing:
        console.note(f"note: {truth_notice(rows, '')}")
