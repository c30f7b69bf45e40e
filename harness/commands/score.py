"""Score saved predictions against a suite's ground truth, under the harness's protocol or exactly as a peer's
evaluation script does (--protocol bcmi | idih), with per-subset rows for suites that have subsets.

prediction files in PRED_DIR (.png, .jpg or .jpeg; exactly one per sample):
  <id>.png with "/" → "__"   the harness's name, as run-benchmark --out writes it: HCOCO__c101_3_1.png, img07.png
  <composite name>.jpg       the composite's own file name, flat — what Dove-Net/BargainNet test.py (bcmi) and
                             iDIH's predict_for_dir.py save: c101_3_1.jpg
  <Subset>/<composite name>  the same, one folder per subset: HCOCO/c101_3_1.jpg

prediction sizes: the sample's own size, or 256×256 (what a 256-pixel model and the official test scripts save)
under --protocol bcmi, idih, or harness with --resolution 256. A 256×256 file is scored as it is, never
upsampled; a full-size one is resized the protocol's way (bcmi: PIL 8-bit bicubic; idih: OpenCV bilinear;
harness: float bicubic). --protocol harness --resolution full takes full-size files only.

examples:
  harness export-suite --suite sample --out suite/ && <run your model on suite/composite/> ...
  harness score --suite sample --pred-dir preds/
  harness score --suite iharmony4 --data-root /data/iHarmony4 --pred-dir results/images --protocol bcmi
  harness score --suite iharmony4 --data-root /data/iHarmony4 --pred-dir predictions/ --protocol idih --json
  harness score --suite folder --data-root my_data/ --pred-dir preds/ --resolution 256 --json
"""

from __future__ import annotations

import argparse

from harness.config import ScoreConfig
from harness.options import add_arguments as add_config_arguments, from_args


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_config_arguments(p, ScoreConfig)


def score_predictions(cfg: ScoreConfig) -> tuple[object, list[dict]]:
    """(suite, one row per sample): every prediction must exist before any work is done."""
    from harness.data.io import read_rgb
    from harness.data.predictions import find_predictions
    from harness.data.suites import load_spec, open_suite
    from harness.scoring.score import score_prediction

    suite = open_suite(cfg.suite, cfg.data_root, cfg.limit)
    preds = find_predictions(cfg.pred_dir, suite.ids)
    import torch

    torch.set_num_threads(1)  # measured: OpenMP threads stall ~10× on a busy 2-core machine; 1 is never slower here
    rows = [score_prediction(read_rgb(preds[s.id]), load_spec(s), cfg.resolution, where=str(preds[s.id]),
                             protocol=cfg.protocol) for s in suite.specs]
    return suite, rows


def run(args: argparse.Namespace) -> int:
    import json

    import pandas as pd

    from harness.console import current
    from harness.scoring.metrics import METRICS
    from harness.scoring.stats import bootstrap_ci, summarize_per_value
    from harness.engine.results import per_value_json, per_value_text
    from harness.formatting import format_means, jsonable

    cfg = from_args(ScoreConfig, args)
    console = current()
    suite, rows = score_predictions(cfg)
    if suite.notice:
        console.note(f"note: {suite.notice}")
    df = pd.DataFrame(rows)
    means = {m: float(df[m].mean()) for m in METRICS}
    subsets = summarize_per_value(df, METRICS, "subset", by=None, n_boot=cfg.bootstrap, seed=cfg.seed)
    if args.json:
        ci = {m: list(bootstrap_ci(df[m].to_numpy(dtype=float), n_boot=cfg.bootstrap, seed=cfg.seed)) for m in METRICS}
        out = {"suite": suite.name, "source": suite.source, "protocol": cfg.protocol_key,
               "resolution": cfg.resolution, "n": len(rows), "per_image": rows, "mean": means, "ci95": ci,
               "subsets": per_value_json(subsets, "subset", by=None) if len(subsets) else {}}
        console.out.write(json.dumps(jsonable(out)) + "\n")
    else:
        console.out.write(f"suite {suite.name} ({suite.source}), {len(rows)} images, protocol {cfg.protocol_key}\n")
        console.out.write(format_means({"predictions": means}) + "\n")
        if len(subsets):
            console.out.write("\nper subset: mean [95% bootstrap CI] (every metric in --json)\n"
                              + per_value_text(subsets, "subset", by=None) + "\n")
    return 0
