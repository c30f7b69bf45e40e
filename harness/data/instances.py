"""Instance annotations the IntHarmony builder reads: MS-COCO instances JSON, and MHP's per-person masks.

Both become the same records — an image (path, size) with its instances (an id, a category, and how to get
its mask) — so one builder serves COCO (stage 2, any categories) and portraits (stage 3: COCO `person`, or MHP).

COCO (read with pycocotools, https://cocodataset.org/#format-data): `images` (id, width, height, file_name),
`annotations` (id, image_id, category_id, segmentation, iscrowd), `categories` (id, name). A segmentation is a
list of polygons [[x1, y1, x2, y2, …], …], or RLE {"size": [h, w], "counts": […] (uncompressed) or "…"
(compressed)}; `mask()` decodes each the way pycocotools' `COCO.annToMask` does. Everything is checked before
any work starts: a missing image file, an annotation that is not well formed, an unknown category are one line
naming it.

MHP (Multi-Human Parsing, v1 and v2 layouts): `<split>/images/<id>.jpg` (v2) or `images/<id>.jpg` (v1), and one
parsing PNG per person, `<id>_<NN>_<kk>.png`, in `parsing_annos/` (v2 archive) or `annotations/` (v1, and the
official v2 evaluation script); the person is channel 0 > 0. Image lists: v1 `<split>_list.txt`, v2
`list/<split>.txt`; without a list every image of the split folder is used.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from harness.errors import InputError, UnknownNameError


@dataclass(frozen=True)
class Instance:
    ann_id: int | str
    category: str
    iscrowd: bool
    segmentation: Any  # COCO: the segmentation object; MHP: the parsing PNG's path


@dataclass(frozen=True)
class ImageRecord:
    image_id: int | str
    file_name: str
    path: str
    height: int
    width: int
    instances: tuple[Instance, ...]


def mask(record: ImageRecord, inst: Instance) -> np.ndarray:
    """The instance's mask, bool H×W."""
    if isinstance(inst.segmentation, str):  # MHP parsing PNG
        from harness.data.io import read_mask_channels

        arr = read_mask_channels(inst.segmentation)
        arr = arr[..., 0] if arr.ndim == 3 else arr
        if arr.shape != (record.height, record.width):
            raise InputError(inst.segmentation, f"is {arr.shape[1]}×{arr.shape[0]} but the image is "
                                                f"{record.width}×{record.height}")
        return arr > 0
    import warnings

    from pycocotools import mask as cocomask

    h, w = record.height, record.width
    seg = inst.segmentation
    with warnings.catch_warnings():  # pycocotools' own numpy-2 DeprecationWarning (its __array__ signature)
        warnings.simplefilter("ignore", DeprecationWarning)
        if isinstance(seg, list):  # polygons: one RLE per part, merged
            rle = cocomask.merge(cocomask.frPyObjects(seg, h, w))
        elif isinstance(seg["counts"], list):  # uncompressed RLE
            rle = cocomask.frPyObjects(seg, h, w)
        else:
            rle = seg
        return cocomask.decode(rle).astype(bool)


# ------------------------------------------------------------------------------------------------ COCO
def _check_segmentation(where: str, seg: Any, h: int, w: int) -> None:
    if isinstance(seg, list):
        if not seg or not all(isinstance(p, list) and len(p) >= 6 and len(p) % 2 == 0
                              and all(isinstance(v, (int, float)) for v in p) for p in seg):
            raise InputError(where, "segmentation polygons must be lists of at least 3 x, y pairs")
        return
    if not isinstance(seg, dict) or "counts" not in seg or "size" not in seg:
        raise InputError(where, "segmentation is neither polygons nor RLE {size, counts}")
    if list(seg["size"]) != [h, w]:
        raise InputError(where, f"RLE size {seg['size']} differs from the image's [{h}, {w}]")
    counts = seg["counts"]
    if isinstance(counts, list):
        if not all(isinstance(c, int) and c >= 0 for c in counts) or sum(counts) != h * w:
            raise InputError(where, f"uncompressed RLE counts must be non-negative and sum to {h}×{w}")
    elif not isinstance(counts, str):
        raise InputError(where, "RLE counts must be a list of ints or a compressed string")


def read_coco(annotations: str | Path, images_dir: str | Path,
              categories: list[str] | None = None) -> list[ImageRecord]:
    """Every image of the file with its instances (of `categories` when given), checked."""
    path = Path(annotations)
    if not path.is_file():
        raise InputError(path, "annotations file not found")
    try:
        data = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise InputError(path, f"not valid JSON ({err})") from None
    for key in ("images", "annotations", "categories"):
        if not isinstance(data, dict) or not isinstance(data.get(key), list):
            raise InputError(path, f"not a COCO instances file (no '{key}' list)")
    names: dict[int, str] = {}
    for c in data["categories"]:
        if not isinstance(c, dict) or not isinstance(c.get("id"), int) or not isinstance(c.get("name"), str):
            raise InputError(path, f"category {c!r} needs an integer id and a name")
        names[c["id"]] = c["name"]
    wanted = set(names.values()) if categories is None else set(categories)
    unknown = sorted(wanted - set(names.values()))
    if unknown:
        raise UnknownNameError(f"category (in {path.name})", unknown[0], sorted(set(names.values())))
    images: dict[int, dict] = {}
    for im in data["images"]:
        where = f"{path}: image {im.get('id') if isinstance(im, dict) else im!r}"
        if not (isinstance(im, dict) and isinstance(im.get("id"), int) and isinstance(im.get("file_name"), str)
                and isinstance(im.get("height"), int) and isinstance(im.get("width"), int)
                and im["height"] > 0 and im["width"] > 0):
            raise InputError(where, "needs an integer id, a file_name and positive integer width and height")
        if im["id"] in images:
            raise InputError(where, "image id appears twice")
        images[im["id"]] = im
    per_image: dict[int, list[Instance]] = {i: [] for i in images}
    seen: set[int] = set()
    for ann in data["annotations"]:
        where = f"{path}: annotation {ann.get('id') if isinstance(ann, dict) else ann!r}"
        if not isinstance(ann, dict) or not isinstance(ann.get("id"), int):
            raise InputError(where, "needs an integer id")
        if ann["id"] in seen:
            raise InputError(where, "annotation id appears twice")
        seen.add(ann["id"])
        if ann.get("image_id") not in images:
            raise InputError(where, f"image_id {ann.get('image_id')!r} is not in 'images'")
        if ann.get("category_id") not in names:
            raise InputError(where, f"category_id {ann.get('category_id')!r} is not in 'categories'")
        if ann.get("iscrowd", 0) not in (0, 1):
            raise InputError(where, f"iscrowd must be 0 or 1, not {ann.get('iscrowd')!r}")
        im = images[ann["image_id"]]
        _check_segmentation(where, ann.get("segmentation"), im["height"], im["width"])
        if names[ann["category_id"]] in wanted:
            per_image[ann["image_id"]].append(Instance(ann["id"], names[ann["category_id"]],
                                                       bool(ann.get("iscrowd", 0)), ann["segmentation"]))
    root = Path(images_dir)
    records = []
    for image_id in sorted(images):
        im = images[image_id]
        file = root / im["file_name"]
        if not file.is_file():
            raise InputError(file, f"image file not found (image {image_id} of {path.name})")
        records.append(ImageRecord(image_id, im["file_name"], str(file), im["height"], im["width"],
                                   tuple(sorted(per_image[image_id], key=lambda a: a.ann_id))))
    return records


# ------------------------------------------------------------------------------------------------- MHP
_MHP_ANN = re.compile(r"^(?P<image>.+)_(?P<n>\d+)_(?P<k>\d+)$")


def read_mhp(root: str | Path, split: str) -> list[ImageRecord]:
    """The images of an MHP split with one `person` instance per parsing PNG (sizes read from the files)."""
    from PIL import Image

    root = Path(root)
    base = root / split if (root / split / "images").is_dir() else root  # v2 per-split folders, or v1 flat
    images_dir = base / "images"
    ann_dir = next((d for d in (base / "parsing_annos", base / "annotations") if d.is_dir()), None)
    if not images_dir.is_dir() or ann_dir is None:
        raise InputError(root, f"not an MHP root for split '{split}' (expected images/ and parsing_annos/ or "
                               "annotations/)")
    listing = next((p for p in (root / "list" / f"{split}.txt", root / f"{split}_list.txt") if p.is_file()), None)
    if listing is not None:
        stems = [Path(line.strip()).stem for line in listing.read_text().splitlines() if line.strip()]
    else:
        stems = sorted(p.stem for p in images_dir.iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png"))
    people: dict[str, list[Path]] = {}
    for p in sorted(ann_dir.glob("*.png")):
        m = _MHP_ANN.match(p.stem)
        if m:
            people.setdefault(m.group("image"), []).append(p)
    records = []
    for stem in stems:
        file = next((images_dir / f"{stem}{ext}" for ext in (".jpg", ".jpeg", ".png")
                     if (images_dir / f"{stem}{ext}").is_file()), None)
        if file is None:
            raise InputError(images_dir / f"{stem}.jpg", "image file not found (listed in "
                                                         f"{listing.name if listing else 'the split'})")
        with Image.open(file) as im:
            width, height = im.size
        instances = tuple(Instance(p.stem, "person", False, str(p)) for p in people.get(stem, []))
        records.append(ImageRecord(stem, file.name, str(file), height, width, instances))
    return records
