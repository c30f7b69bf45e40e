"""Score saved predictions (PRED_DIR/<id>.png, full resolution) against a suite's ground truth.

examples:
  harness export-suite --suite sample --out suite/ && <run your model on suite/composite/> ...
  harness score --suite sample --pred-dir preds/
  harness score --suite folder --data-root my_data/ --pred-dir preds/ --resolution 256 --json
"""

from __future__ import annotations

import argparse

from harness.config import PROTOCOLS, ScoreConfig, default_of, parse_limit


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--suite", required=True, help="suite name (see `harness list suites`)")
    p.add_argument("--data-root", help="where the suite's data lives (folder, portraittest, iharmony4)")
    p.add_argument("--pred-dir", required=True, help="directory of predictions named <id>.png (or .jpg)")
    p.add_argument("--resolution", choices=PROTOCOLS, default=default_of(ScoreConfig, "resolution"),
                   help="evaluation protocol: native resolution or the published 256×256 (default: %(default)s)")
    p.add_argument("--limit", type=parse_limit, help="only the first N samples (or a fraction in (0, 1))")
    p.add_argument("--json", action="store_true", help="print exactly one JSON object on stdout")


def score_predictions(cfg: ScoreConfig) -> tuple[object, list[dict]]:
    """(suite, one row per sample): every prediction must exist before any work is done."""
    from pathlib import Path

    from harness.data.io import find_image, id_to_stem, read_rgb
    from harness.data.suites import load_spec, open_suite
    from harness.errors import HarnessError, InputError
    from harness.scoring.score import score_prediction

    suite = open_suite(cfg.suite, cfg.data_root, cfg.limit)
    pred_dir = Path(cfg.pred_dir)
    if not pred_dir.is_dir():
        raise HarnessError(f"{pred_dir}: prediction directory not found")
    preds = {}
    for spec in suite.specs:
        path = find_image(pred_dir, id_to_stem(spec.id))
        if path is None:
            raise InputError(pred_dir / f"{id_to_stem(spec.id)}.png", f"no prediction for sample '{spec.id}'")
        preds[spec.id] = path
    import torch

    torch.set_num_threads(1)  # measured: OpenMP threads stall ~10× on a busy 2-core machine; 1 is never slower here
    rows = [score_prediction(read_rgb(preds[s.id]), load_spec(s), cfg.resolution, where=str(preds[s.id]))
            for s in suite.specs]
    return suite, rows


def run(args: argparse.Namespace) -> int:
    import json

    import pandas as pd

    from harness.console import current
    from harness.scoring.metrics import METRICS
    from harness.scoring.tables import format_means, jsonable

    cfg = ScoreConfig(suite=args.suite, pred_dir=args.pred_dir, data_root=args.data_root,
                      resolution=args.resolution, limit=args.limit)
    console = current()
    suite, rows = score_predictions(cfg)
    if suite.notice:
        console.note(f"note: {suite.notice}")
    means = {m: float(pd.DataFrame(rows)[m].mean()) for m in METRICS}
    if args.json:
        out = {"suite": suite.name, "source": suite.source, "resolution": cfg.resolution, "n": len(rows),
               "per_image": rows, "mean": means}
        console.out.write(json.dumps(jsonable(out)) + "\n")
    else:
        console.out.write(f"suite {suite.name} ({suite.source}), {len(rows)} images, protocol {cfg.resolution}\n")
        console.out.write(format_means({"predictions": means}) + "\n")
    return 0
