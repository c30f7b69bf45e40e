"""IntHarmony as a suite: the output of `harness build-intharmony` (harness/data/intharmony.py).

With `--data-root OUT` it reads that build, whichever split. Each sample carries its augmentation family, so
results break down by it (`augmentation` in every per-image row), and the categories of its foreground and
reference instances.

Without `--data-root`, the bundled test split — built from the bundled COCO-format instances over the bundled
photos (harness/data/assets/coco_test.json), once, into the cache directory: exactly what `harness
build-intharmony --per-image 2 --out DIR` makes (BUNDLED_PER_IMAGE samples per photo). Any build made from the
bundled files — this one, or one the user made and passes as `--data-root` — says so: these are not IntHarmony
numbers. Builds of the bundled test split are made from the evaluation photos, so training refuses them
(`held_out`).
"""

from __future__ import annotations

import json
from pathlib import Path

from harness.data.loaders.folder import folder_suite
from harness.data.specs import SampleSpec, Suite
from harness.errors import HarnessError, InputError

BUNDLED_SOURCE = "intharmony-bundled"
BUNDLED_PER_IMAGE = 2  # the implicit suite: `harness build-intharmony --per-image 2` (README, Data)
BUNDLED_NOTICE = ("IntHarmony built from the bundled instances file over the bundled photos: NOT IntHarmony "
                  "numbers. Build the real one from MS-COCO with `harness build-intharmony --annotations … --images "
                  "…` and pass --data-root.")


def open_intharmony(data_root: str | None) -> Suite:
    if data_root:
        return intharmony_suite(data_root)
    from harness.data.intharmony_config import IntHarmonyConfig
    from harness.options import default_cache_dir
    from harness.data.intharmony import build

    root = Path(default_cache_dir()) / "intharmony-bundled-test"
    build(IntHarmonyConfig(out=str(root), split="test", per_image=BUNDLED_PER_IMAGE, progress=False), use_ray=False)
    suite = intharmony_suite(root)
    suite.source = f"{BUNDLED_SOURCE} (built from harness/data/assets/coco_test.json)"
    return suite


def intharmony_suite(root: str | Path) -> Suite:
    from harness.storage import display, is_file, join, locate, read_text

    root = locate(str(root))  # a folder, or a location in a store (s3://…)
    manifest, build = join(root, "manifest.jsonl"), join(root, "build.json")
    if not is_file(manifest) or not is_file(build):
        raise HarnessError(f"{display(root)}: not an IntHarmony build (no manifest.jsonl/build.json; make one "
                           "with `harness build-intharmony --out DIR`)")
    entries = {}
    for lineno, line in enumerate(read_text(manifest).splitlines(), 1):
        if line.strip():
            try:
                e = json.loads(line)
                entries[e["id"]] = {"augmentation": e["augmentation"]["name"], "fg_category": e["fg_category"],
                                    "ref_category": e["ref_category"]}
            except (json.JSONDecodeError, KeyError, TypeError):
                raise InputError(f"{display(manifest)}:{lineno}", "not a manifest entry (id, augmentation.name, "
                                                         "fg_category, ref_category)") from None
    settings = json.loads(read_text(build)).get("settings", {})
    folder = folder_suite(root, name="intharmony")
    specs = []
    for spec in folder.specs:
        if spec.id not in entries:
            raise InputError(display(join(root, "composite", f"{spec.id}.png")), "has no entry in manifest.jsonl")
        specs.append(SampleSpec(spec.id, spec.kind, {**spec.args, "source": "intharmony",
                                                     "meta": entries[spec.id]}))
    bundled = not settings.get("annotations") and not settings.get("mhp")  # the bundled instances files
    held_out = bundled and settings.get("split") == "test"
    if not bundled:
        return Suite("intharmony", f"intharmony:{display(root)}", specs, data_root=str(root))
    split = settings.get("split", "test")
    return Suite("intharmony", f"{BUNDLED_SOURCE}:{display(root)} (built from harness/data/assets/coco_{split}.json)",
                 specs, data_root=str(root), held_out=held_out, notice=BUNDLED_NOTICE)
