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

from harness.config import IntHarmonyConfig, default_of


def add_arguments(p: argparse.ArgumentParser) -> None:
    d = lambda name: default_of(IntHarmonyConfig, name)  # noqa: E731 — the config's defaults, shown in --help
    g = p.add_argument_group("source (default: the bundled COCO-format instances over the bundled photos)")
    g.add_argument("--annotations", help="COCO instances JSON (polygons, compressed or uncompressed RLE)")
    g.add_argument("--images", help="the folder of the images the annotations name")
    g.add_argument("--mhp", metavar="ROOT", help="an MHP (Multi-Human Parsing) root instead: one person per "
                                                 "parsing mask")
    g.add_argument("--split", choices=("train", "test", "val"), default=d("split"),
                   help="bundled file or MHP split (default: %(default)s)")
    g = p.add_argument_group("what to make")
    g.add_argument("--out", required=True, help="output folder (created; a finished or interrupted build of "
                                                "the same settings is completed, never mixed)")
    g.add_argument("--seed", type=int, default=d("seed"), help="(default: %(default)s)")
    g.add_argument("--per-image", type=int, default=d("per_image"), help="samples per image (default: %(default)s)")
    g.add_argument("--categories", help="comma-separated categories to use, e.g. person (default: all)")
    g.add_argument("--min-area", type=float, default=d("min_area"),
                   help="smallest usable instance, as a fraction of the image (default: %(default)s)")
    g.add_argument("--luts", metavar="DIR", help="folder of .cube 3D LUTs for the LUT augmentation (default: "
                                                 "seeded random smooth LUTs)")
    g = p.add_argument_group("compute")
    g.add_argument("--ray-address", help="Ray cluster to use (else $RAY_ADDRESS; else a local Ray)")
    g.add_argument("--num-cpus", type=int, help="local Ray: CPUs to use (default: all available)")
    g.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    g.add_argument("--no-progress", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    import json

    from tqdm import tqdm

    from harness.console import current
    from harness.data.intharmony import build

    cfg = IntHarmonyConfig(out=args.out, annotations=args.annotations, images=args.images, mhp=args.mhp,
                           split=args.split, seed=args.seed, per_image=args.per_image,
                           categories=[c.strip() for c in args.categories.split(",") if c.strip()]
                           if args.categories is not None else None,
                           min_area=args.min_area, luts=args.luts, ray_address=args.ray_address,
                           num_cpus=args.num_cpus, progress=not args.no_progress and not args.json)
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
