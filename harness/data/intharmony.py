"""IntHarmony, built: harmonization samples made from instance annotations (the IPH paper's stage-2 data, never
released — everyone must build it from MS-COCO), and portrait sets from COCO `person` or MHP (stage 3).

Per image: the usable instances are those that are not `iscrowd` and cover at least `min_area` of the image;
an image with fewer than two gives no sample (counted). Per sample k (1 … per_image), from
`numpy.random.default_rng([seed, image key, k])`: a foreground instance, a reference instance among the others
(its mask minus the foreground, non-empty — the first in a random order that qualifies), one augmentation
family and its parameters (harness/data/augment.py). The truth is the photo at native resolution; the
composite equals it outside the foreground and is the augmented photo inside.

Output, in the harness folder layout (harness/data/loaders/folder.py) plus what was done:

    OUT/composite/<id>.png  OUT/real/<id>.png  OUT/mask/<id>.png  OUT/reference/<id>.png
    OUT/manifest.jsonl      one JSON object per sample, sorted by id: id, image_id, file_name, fg_ann, ref_ann,
                            fg_category, ref_category, augmentation {name, parameters}
    OUT/build.json          the settings and the summary (samples, images skipped by reason)

Sample ids are `<image file stem>_<k>`. Deterministic: the same inputs and seed give byte-identical files.
Resumable: each image's samples are finished by writing `OUT/.parts/<image key>.json` last, and a re-run with
the same settings skips finished images (different settings in the same OUT are refused). Images are spread
over Ray tasks.
"""

from __future__ import annotations

import json
import zlib
from pathlib import Path
from typing import Any, Callable

import numpy as np

from harness.data.intharmony_config import IntHarmonyConfig
from harness.data.instances import ImageRecord, mask, read_coco, read_mhp
from harness.errors import HarnessError, InputError

ASSETS = Path(__file__).resolve().parent / "assets"
CHUNK = 4  # images per Ray task
SKIP_FEW = "fewer than two usable instances"
SKIP_REF = "no reference left outside the foreground"
SETTINGS = ("annotations", "images", "mhp", "split", "seed", "per_image", "categories", "min_area", "luts")


def bundled_annotations(split: str) -> Path:
    path = ASSETS / f"coco_{split}.json"
    if not path.is_file():
        raise HarnessError(f"no bundled instances file for split '{split}' (bundled: train, test)")
    return path


def image_key(image_id: int | str) -> int:
    """A stable integer per image for its random stream (COCO ids are ints; MHP ids are strings)."""
    return image_id if isinstance(image_id, int) else zlib.crc32(str(image_id).encode())


def _safe(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in text)


# ---------------------------------------------------------------------------------------- one image (worker)
def build_image(rec: ImageRecord, settings: dict[str, Any], out: Path) -> dict[str, Any]:
    """Make (or, when already finished, read back) every sample of one image; returns {samples, image_skipped
    (a reason or None), samples_skipped (reasons)}."""
    from harness.data import augment
    from harness.data.io import read_rgb, to_uint8, write_png

    part = out / ".parts" / f"{_safe(str(rec.image_id))}.json"
    if part.is_file():
        return json.loads(part.read_text())
    photo8 = to_uint8(read_rgb(rec.path))
    if photo8.shape[:2] != (rec.height, rec.width):
        raise InputError(rec.path, f"is {photo8.shape[1]}×{photo8.shape[0]} but the annotations say "
                                   f"{rec.width}×{rec.height}")
    photo = photo8.astype(np.float64) / 255.0
    masks = {i.ann_id: mask(rec, i) for i in rec.instances if not i.iscrowd}
    usable = [i for i in rec.instances if not i.iscrowd and masks[i.ann_id].mean() >= settings["min_area"]]
    result: dict[str, Any] = {"samples": [], "image_skipped": SKIP_FEW if len(usable) < 2 else None,
                              "samples_skipped": []}
    luts = sorted(Path(settings["luts"]).glob("*.cube")) if settings["luts"] else None
    stem = _safe(Path(rec.file_name).stem)
    for k in range(settings["per_image"] if len(usable) >= 2 else 0):
        rng = np.random.default_rng([settings["seed"], image_key(rec.image_id), k])
        fg_inst = usable[int(rng.integers(len(usable)))]
        fg = masks[fg_inst.ann_id]
        others = [usable[j] for j in rng.permutation(len(usable)) if usable[j] is not fg_inst]
        ref_inst = next((i for i in others if (masks[i.ann_id] & ~fg).any()), None)
        if ref_inst is None or fg.all():
            result["samples_skipped"].append(SKIP_REF)
            continue
        ref = masks[ref_inst.ann_id] & ~fg
        params = augment.draw(augment.FAMILIES[int(rng.integers(len(augment.FAMILIES)))], rng, fg, luts)
        composite = to_uint8(augment.apply(photo, fg, params, settings["luts"]))
        composite[~fg] = photo8[~fg]  # bit-exact outside the foreground
        sid = f"{stem}_{k}"
        for folder, img in (("composite", composite), ("real", photo8), ("mask", fg), ("reference", ref)):
            write_png(out / folder / f"{sid}.png", img)
        result["samples"].append({
            "id": sid, "image_id": rec.image_id, "file_name": rec.file_name, "fg_ann": fg_inst.ann_id,
            "ref_ann": ref_inst.ann_id, "fg_category": fg_inst.category, "ref_category": ref_inst.category,
            "augmentation": params})
    from harness.data.io import atomic_write

    atomic_write(part, json.dumps(result, sort_keys=True))  # last: the image is finished
    return result


def build_chunk(records: list[ImageRecord], settings: dict[str, Any], out: str) -> list[dict[str, Any]]:
    """A Ray task: the images of one chunk, in order."""
    return [build_image(r, settings, Path(out)) for r in records]


# ------------------------------------------------------------------------------------------------- driver
def _records(cfg: IntHarmonyConfig) -> list[ImageRecord]:
    if cfg.mhp:
        return read_mhp(cfg.mhp, cfg.split)
    if cfg.annotations:
        return read_coco(cfg.annotations, cfg.images, cfg.categories)
    from harness.data.photos import write_photos

    path = bundled_annotations(cfg.split)
    folder = Path(cfg.out) / ".photos"  # the bundled file's images, written from the installed packages
    write_photos([im["file_name"][:-4] for im in json.loads(path.read_text())["images"]], folder)
    return read_coco(path, folder, cfg.categories)


def _settings(cfg: IntHarmonyConfig) -> dict[str, Any]:
    s = {k: getattr(cfg, k) for k in SETTINGS}
    for key in ("annotations", "images", "mhp", "luts"):
        s[key] = str(Path(s[key]).resolve()) if s[key] else None
    return s


def _check_out(out: Path, settings: dict[str, Any]) -> None:
    build = out / "build.json"
    if build.is_file():
        old = json.loads(build.read_text()).get("settings", {})
        differ = sorted(k for k in SETTINGS if old.get(k) != settings.get(k))
        if differ:
            raise InputError(build, f"holds a build with other settings ({', '.join(differ)}): choose another --out")
    elif out.exists() and any(p.name != ".photos" for p in out.iterdir()):
        raise InputError(out, "exists and is not an IntHarmony build: choose another --out")


def build(cfg: IntHarmonyConfig, progress: Callable[[int], None] | None = None,
          use_ray: bool = True, start: Callable[[int], None] | None = None) -> dict[str, Any]:
    """Build (or finish building) the set; returns the summary written to OUT/build.json. `start(images)` is
    called once every input has been checked, before any work; `progress(n)` as each n images are done."""
    from harness.data.io import atomic_write

    out = Path(cfg.out)
    settings = _settings(cfg)
    _check_out(out, settings)
    if cfg.luts:
        from harness.data.augment import read_cube

        cubes = sorted(Path(cfg.luts).glob("*.cube"))
        if not cubes:
            raise InputError(cfg.luts, "no .cube files in the LUT folder")
        for cube in cubes:
            read_cube(cube)  # every LUT readable before any sample is written
    records = _records(cfg)  # every annotation checked, every image file present
    if start:
        start(len(records))
    atomic_write(out / "build.json", json.dumps({"settings": settings}, indent=1, sort_keys=True))
    chunks = [records[i:i + CHUNK] for i in range(0, len(records), CHUNK)]
    results: list[dict] = []
    if use_ray:
        import ray

        from harness.cluster import ray_session

        with ray_session(cfg.ray_address, cfg.num_cpus):
            task = ray.remote(num_cpus=1, max_retries=2)(build_chunk)
            refs = {task.remote(c, settings, str(out)): i for i, c in enumerate(chunks)}
            by_chunk: dict[int, list] = {}
            pending = list(refs)
            while pending:
                done, pending = ray.wait(pending, num_returns=1)
                for ref in done:
                    try:
                        by_chunk[refs[ref]] = ray.get(ref)
                    except ray.exceptions.RayTaskError as err:
                        cause = getattr(err, "cause", None)
                        raise (cause if isinstance(cause, BaseException) else err) from None
                    if progress:
                        progress(len(by_chunk[refs[ref]]))
            results = [r for i in range(len(chunks)) for r in by_chunk[i]]
    else:
        for c in chunks:
            part = build_chunk(c, settings, str(out))
            results += part
            if progress:
                progress(len(part))
    return _finish(out, settings, records, results)


def _finish(out: Path, settings: dict, records: list[ImageRecord], results: list[dict]) -> dict[str, Any]:
    from harness.data.io import atomic_write

    samples = sorted((s for r in results for s in r["samples"]), key=lambda s: s["id"])
    skipped: dict[str, int] = {}  # images that gave no sample, by reason
    missing: dict[str, int] = {}  # samples that could not be made, by reason
    for r in results:
        if r["image_skipped"]:
            skipped[r["image_skipped"]] = skipped.get(r["image_skipped"], 0) + 1
        for reason in r["samples_skipped"]:
            missing[reason] = missing.get(reason, 0) + 1
    families: dict[str, int] = {}
    for s in samples:
        families[s["augmentation"]["name"]] = families.get(s["augmentation"]["name"], 0) + 1
    summary = {"samples": len(samples), "images": len(records),
               "images_used": sum(1 for r in results if r["samples"]),
               "images_skipped": dict(sorted(skipped.items())), "samples_not_made": dict(sorted(missing.items())),
               "augmentations": dict(sorted(families.items()))}
    atomic_write(out / "manifest.jsonl", "".join(json.dumps(s, sort_keys=True) + "\n" for s in samples))
    atomic_write(out / "build.json", json.dumps({"settings": settings, "summary": summary}, indent=1,
                                                sort_keys=True))
    return summary
