"""Build IntHarmony — or a portrait set — from instance annotations: for each image a random instance is the
foreground, another the reference region, the photo the truth, and the composite the photo with the foreground
changed by one of the IPH paper's augmentations (brightness/contrast, colour jitter, gamma, 3D LUT, local soft
light / dodge / grain merge / grain extract). Writes the harness folder layout plus manifest.jsonl; the same
inputs and seed give the same bytes; a re-run finishes an interrupted build. Details: harness/data/intharmony.py.

examples:
  harness build-intharmony --per-image 2 --out ih-test          # the bundled test split (offline): the very set
                                                                # --suite intharmony uses without --data-root
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

# printed after Ctrl-C (harness/cli.py)
INTERRUPTED = "run the same command again to finish the build (finished images are kept)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_config_arguments(p, IntHarmonyConfig)


def run(args: argparse.Namespace) -> int:
    import json

    from tqdm import tqdm

    from harness.console import current
    from harness.data.intharmony import build
    from harness.formatting import plural

    cfg = from_args(IntHarmonyConfig, args)
    console = current()
    bars = []  # drawn once the inputs are checked (a bad --annotations is one line, no bar) and the total known

    def start(total: int) -> None:
        bars.append(tqdm(total=total, desc="images", unit="img", file=console.err, disable=not cfg.progress,
                         dynamic_ncols=True))

    try:
        summary = build(cfg, progress=lambda n: bars[0].update(n), start=start)
    finally:
        for bar in bars:
            bar.close()
    if args.json:
        console.out.write(json.dumps(summary) + "\n")
        return 0
    lines = [f"{plural(summary['samples'], 'sample')} from {summary['images_used']} of "
             f"{plural(summary['images'], 'image')} in {cfg.out}"]
    for reason, n in summary["images_skipped"].items():
        lines.append(f"  images skipped: {n} ({reason})")
    for reason, n in summary["samples_not_made"].items():
        lines.append(f"  samples not made: {n} ({reason})")
    lines.append("  augmentations: " + ", ".join(f"{k} {v}" for k, v in summary["augmentations"].items()))
    console.out.write("\n".join(lines) + "\n")
    return 0
