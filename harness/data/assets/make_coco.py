"""Provenance of the bundled COCO-format instances files (run once; the JSON files beside this one ship).

- `coco_test.json` — the evaluation photos (harness/data/photos.py) with the regions of make_masks.py: the
  hand-drawn shapes as polygons (ellipses as 64-gons), the two person masks as compressed RLE, the chelsea
  backdrop as uncompressed RLE, and one crowd annotation (iscrowd = 1, never used as a foreground or
  reference) — every segmentation format pycocotools reads.
- `coco_train.json` — the training photos with segments found by scikit-image's Felzenszwalb graph
  segmentation (scale 400, σ 0.8, min size 2 % of the image): the five largest segments of at least 2 % of
  the image, category `region`, compressed RLE. They keep the evaluation photos out of training data.

Image `file_name`s are `<photo>.png`; `harness.data.photos.write_photos` writes those files from the installed
packages (harness/data/intharmony.py does it for the bundled build).

    python harness/data/assets/make_coco.py
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

HERE = Path(__file__).parent
TEST_REGIONS = {  # photo → [(region file stem, category)]
    "astronaut": [("person", "person"), ("flag", "flag"), ("shuttle", "spacecraft")],
    "grace_hopper": [("person", "person"), ("flag", "flag"), ("backdrop", "backdrop")],
    "coffee": [("cup", "cup"), ("table", "table")],
    "chelsea": [("cat", "cat"), ("backdrop", "backdrop")],
    "rocket": [("rocket", "rocket"), ("sky", "sky")],
}


def _polygons(shapes: list) -> list[list[float]]:
    out = []
    for shape in shapes:
        if shape[0] == "poly":
            out.append([float(v) for xy in shape[1] for v in xy])
        else:
            _, cx, cy, rx, ry = shape
            t = np.linspace(0, 2 * math.pi, 64, endpoint=False)
            out.append([float(round(v, 2)) for p in zip(cx + rx * np.cos(t), cy + ry * np.sin(t)) for v in p])
    return out


def _rle(mask: np.ndarray, compressed: bool = True) -> dict:
    from pycocotools import mask as cocomask

    rle = cocomask.encode(np.asfortranarray(mask.astype(np.uint8)))
    if compressed:
        return {"size": [int(v) for v in rle["size"]], "counts": rle["counts"].decode()}
    flat = mask.astype(np.uint8).flatten(order="F")  # column-major, counts start with zeros
    change = np.flatnonzero(np.diff(flat)) + 1
    bounds = np.concatenate([[0], change, [flat.size]])
    counts = np.diff(bounds).tolist()
    if flat[0] == 1:
        counts = [0] + counts
    return {"size": list(mask.shape), "counts": [int(c) for c in counts]}


def _file(images, annotations, categories) -> dict:
    cats = sorted(categories)
    return {"info": {"description": "harness bundled instances (harness/data/assets/make_coco.py)"},
            "images": images, "annotations": annotations,
            "categories": [{"id": i + 1, "name": c, "supercategory": c} for i, c in enumerate(cats)]}


def make_test() -> dict:
    from PIL import Image

    import sys

    sys.path.insert(0, str(HERE))
    from make_masks import REGIONS  # beside this file (assets/ is data, not a package)

    from harness.data.photos import eval_photo

    images, anns, cats = [], [], set()
    for image_id, (photo, regions) in enumerate(TEST_REGIONS.items(), start=1):
        h, w = eval_photo(photo).shape[:2]
        images.append({"id": image_id, "file_name": f"{photo}.png", "height": h, "width": w})
        for stem, category in regions:
            cats.add(category)
            key = f"{photo}_{stem}"
            if key in REGIONS and key != "chelsea_backdrop":
                seg = _polygons(REGIONS[key][1])
            else:
                with Image.open(HERE / f"{key}.png") as im:
                    m = np.asarray(im.convert("L")) > 127
                seg = _rle(m, compressed=key != "chelsea_backdrop")
            anns.append({"id": len(anns) + 1, "image_id": image_id, "category": category, "segmentation": seg,
                         "iscrowd": 0})
        if photo == "coffee":  # a crowd region: the builder must never use it
            crowd = np.zeros((h, w), bool)
            crowd[20:90, 20:200] = True
            cats.add("crowd")
            anns.append({"id": len(anns) + 1, "image_id": image_id, "category": "crowd",
                         "segmentation": _rle(crowd), "iscrowd": 1})
    return _finish(images, anns, cats)


def make_train() -> dict:
    from skimage.segmentation import felzenszwalb

    from harness.data.photos import available_train_photos, train_photo

    images, anns = [], []
    for image_id, photo in enumerate(available_train_photos(), start=1):
        img = train_photo(photo)
        h, w = img.shape[:2]
        images.append({"id": image_id, "file_name": f"{photo}.png", "height": h, "width": w})
        labels = felzenszwalb(img, scale=400, sigma=0.8, min_size=int(0.02 * h * w))
        ids, sizes = np.unique(labels, return_counts=True)
        for label in ids[np.argsort(-sizes)][:5]:
            m = labels == label
            if m.mean() >= 0.02:
                anns.append({"id": len(anns) + 1, "image_id": image_id, "category": "region",
                             "segmentation": _rle(m), "iscrowd": 0})
    return _finish(images, anns, {"region"})


def _finish(images, anns, cats) -> dict:
    data = _file(images, anns, cats)
    ids = {c["name"]: c["id"] for c in data["categories"]}
    for a in anns:
        a["category_id"] = ids[a.pop("category")]
        a["area"] = 0.0  # filled below from the decoded mask, as COCO does
    from harness.data.instances import ImageRecord, Instance, mask

    sizes = {im["id"]: (im["height"], im["width"]) for im in images}
    for a in anns:
        h, w = sizes[a["image_id"]]
        rec = ImageRecord(a["image_id"], "", "", h, w, ())
        a["area"] = float(mask(rec, Instance(a["id"], "", bool(a["iscrowd"]), a["segmentation"])).sum())
    return data


if __name__ == "__main__":
    for split, make in (("test", make_test), ("train", make_train)):
        data = make()
        (HERE / f"coco_{split}.json").write_text(json.dumps(data, separators=(",", ":")) + "\n")
        print(split, len(data["images"]), "images", len(data["annotations"]), "annotations")
