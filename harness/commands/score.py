"""Score saved predictions (PRED_DIR/<id>.png, full resolution) against a suite's ground truth.

examples:
  harness export-suite --suite sample --out suite/ && <run your model on suite/composite/> ...
  harness score --suite sample --pred-dir preds/
  harness score --suite folder --data-root my_data/ --pred-dir preds/ --resolution 256 --json
"""

from __future__ import annotations

import argparse


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--suite", required=True, help="suite name (see `harness list suites`)")
    p.add_argument("--data-root", help="where the suite's data lives (folder, portraittest, iharmony4)")
    p.add_argument("--pred-dir", required=True, help="directory of predictions named <id>.png (or .jpg)")
    p.add_argument("--resolution", choices=["full", "256"], default="full",
                   help="evaluation protocol: native resolution (default) or the published 256×256")
    p.add_argument("--limit", type=float, help="only the first N samples (or a fraction < 1)")
    p.add_argument("--json", action="store_true", help="print exactly one JSON object on stdout")


def run(args: argparse.Namespace) -> int:
    import json
    import sys
    from pathlib import Path

    from harness.data.io import find_image, id_to_stem, read_rgb
    from harness.data.suites import load_spec, open_suite
    from harness.errors import HarnessError, InputError
    from harness.report import format_means, jsonable
    from harness.scoring import score_prediction

    suite = open_suite(args.suite, args.data_root, args.limit)
    pred_dir = Path(args.pred_dir)
    if not pred_dir.is_dir():
        raise HarnessError(f"{pred_dir}: prediction directory not found")
    # Every prediction must exist before any work is done.
    preds = {}
    for spec in suite.specs:
        path = find_image(pred_dir, id_to_stem(spec.id))
        if path is None:
            raise InputError(pred_dir / f"{id_to_stem(spec.id)}.png", f"no prediction for sample '{spec.id}'")
        preds[spec.id] = path
    if suite.notice:
        print(f"note: {suite.notice}", file=sys.stderr)
    import torch

    torch.set_num_threads(1)  # measured: OpenMP threads stall ~10× on a busy 2-core machine; 1 is never slower here
    rows = []
    for spec in suite.specs:
        sample = load_spec(spec)
        rows.append(score_prediction(read_rgb(preds[spec.id]), sample, args.resolution, where=str(preds[spec.id])))
    import pandas as pd

    from harness.metrics import METRICS

    df = pd.DataFrame(rows)
    means = {m: float(df[m].mean()) for m in METRICS}
    if args.json:
        out = {"suite": suite.name, "source": suite.source, "resolution": args.resolution, "n": len(rows),
               "per_image": rows, "mean": means}
        print(json.dumps(jsonable(out)))
    else:
        print(f"suite {suite.name} ({suite.source}), {len(rows)} images, protocol {args.resolution}")
        print(format_means({"predictions": means}))
    return 0
