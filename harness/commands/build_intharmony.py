"""Build IntHarmony — or a portrait set — from instance annotations: for each image a random instance is the
foreground, another the reference region, the photo the truth, and the composite the photo with the foreground
changed by one of the IPH paper's augmentations (brightness/contrast, colour jitter, gamma, 3D LUT, local soft
light / dodge / grain merge / grain extract). Writes the harness folder layout plus manifest.jsonl; the same
inputs and seed give the same bytes; a re-run finishes an interrupted build. Details: harness/data/intharmony.py.

examples:
  harness build-intharmony --out ih-test                        # the bundled test split (offline)
  harness build-intharmony --split train --per-image 4 --out ih-train      # bundled train split (held-out photos)
  harness build-intharmony --annotations coco/annotations/instances_val2017.json --images coco/val2017 \\
      --out intharmony-test --per-image 1 --seed 0
  harness build-intharmony --annotations instances_train2017.json --images train2017 --categories person \\
      --out portraits --luts my_luts/                            # person-to-person (stage 3)
  harness build-intharmony --mhp LV-MHP-v2 --split train --out mhp-portraits
  harness run-benchmark --suite intharmony --data-root ih-test  # results by augmentation family
  harness train --method iph --stage 2 --suite intharmony --data-root ih-train --init models:/iph@stage1
"""

from __future__ import annotations

import argparse

from harness.config import IntHarmonyConfig
from harness.options import add_arguments as add_config_arguments, from_args


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_config_arguments(p, IntHarmonyConfig)


def run(args: argparse.Namespace) -> int:
    import json

    from tqdm import tqdm

    from harness.console import current
    from harness.data.intharmony import build

    cfg = from_args(IntHarmonyConfig, args)
    console = current()
    bar = tqdm(desc="images", unit="img", file=console.err, disable=not cfg.progress, dynamic_ncols=True)
    try:
        summary = build(cfg, progress=bar.update)
    finally:
        bar.close()
    if args.json:
        console.out.write(json.dumps(summary) + "\n")
        return 0
    lines = [f"{summary['samples']} samples from {summary['images_used']} of {summary['images']} images in "
             f"{cfg.out}"]
    for reason, n in summary["images_skipped"].items():
        lines.append(f"  images skipped: {n} ({reason})")
    for reason, n in summary["samples_not_made"].items():
        lines.append(f"  samples not made: {n} ({reason})")
    lines.append("  augmentations: " + ", ".join(f"{k} {v}" for k, v in summary["augmentations"].items()))
    console.out.write("\n".join(lines) + "\n")
    return 0
