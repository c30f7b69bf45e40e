"""The harness's own folder layout, for any user data:

    ROOT/composite/<id>.png   the image to harmonize (8-bit RGB; .jpg/.jpeg accepted too)
    ROOT/mask/<id>.png        foreground mask, 8-bit, > 127 inside
    ROOT/reference/<id>.png   reference region mask, 8-bit, > 127 inside
    ROOT/real/<id>.png        ground truth (optional: needed only for scoring)

Instead of mask/ + reference/, one RGB mask per sample in mask/<id>.png is accepted: red = foreground,
blue = reference (the convention shown on the IPH project page); it is used when reference/<id>.png is absent.

Optional, for run-robustness (`harness run-robustness`, candidates `suite`): more named reference
regions per sample, each with the ground truth it implies when known —

    ROOT/references/<id>/<name>.png        a candidate reference region, 8-bit, > 127 inside
    ROOT/references_real/<id>/<name>.png   the truth harmonizing towards that region should give (optional)

ROOT may be a location in an object store (`s3://BUCKET/PREFIX`, harness/storage.py): the folder is listed once,
and every file is a location that whoever loads the sample — a Ray worker on any node — reads itself.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from harness.data.io import IMAGE_EXTENSIONS, read_mask, read_mask_8bit, read_mask_channels, read_rgb
from harness.data.sample import Reference, Sample
from harness.data.specs import SampleSpec, Suite, files_hash
from harness.errors import HarnessError, InputError


def folder_suite(root: str | Path, name: str = "folder") -> Suite:
    from harness.storage import display, is_uri, join, list_dir, locate

    root = locate(str(root))
    listed = {f for f, is_dir in list_dir(root, recursive=True).items() if not is_dir}
    if not any(f.startswith("composite/") for f in listed) and not (
            not is_uri(root) and (Path(root) / "composite").is_dir()):
        raise HarnessError(f"{display(root)}: not a folder suite (no composite/ directory)")

    def find(folder: str, stem: str) -> str | None:  # io.find_image over the listing: .png, .jpg, .jpeg
        for ext in IMAGE_EXTENSIONS:
            if f"{folder}/{stem}{ext}" in listed:
                return join(root, folder, stem + ext)
        return None

    specs = []
    stems = sorted({Path(f).stem for f in listed if f.count("/") == 1 and f.startswith("composite/")
                    and Path(f).suffix.lower() in IMAGE_EXTENSIONS})
    for stem in stems:
        comp = find("composite", stem)
        if comp is None:  # only an upper-case extension: read as before, by its own name
            comp = join(root, "composite", next(f for f in sorted(listed) if f.startswith("composite/")
                                                  and Path(f).stem == stem).split("/", 1)[1])
        mask = find("mask", stem)
        if mask is None:
            raise InputError(display(join(root, "composite", stem)),
                             f"no foreground mask: expected {display(join(root, 'mask', stem + '.png'))}")
        named = {}
        for f in sorted(listed):
            if f.startswith(f"references/{stem}/") and f.count("/") == 2 and \
                    Path(f).suffix.lower() in IMAGE_EXTENSIONS:
                region = Path(f).stem
                named[region] = (join(root, f), find(f"references_real/{stem}", region))
        specs.append(SampleSpec(stem, "folder", {
            "composite": comp, "mask": mask, "reference": find("reference", stem), "real": find("real", stem),
            "source": name, "references": named}))
    return Suite(name, f"folder:{display(root)}", specs, data_root=root)


def open_folder(data_root: str | None) -> Suite:
    """The `folder` suite: the user's data under `data_root`."""
    if not data_root:
        raise HarnessError("suite 'folder' needs --data-root DIR (with composite/, mask/, reference/, real/)")
    return folder_suite(data_root, name="folder")


def load(spec: SampleSpec) -> Sample:
    a = spec.args
    composite = read_rgb(a["composite"])
    if a["reference"]:
        fg8 = read_mask_8bit(a["mask"])
        ref = read_mask(a["reference"])
    else:
        channels = read_mask_channels(a["mask"])
        if channels.ndim != 3:
            raise InputError(a["mask"], "single-channel mask and no reference/ file: cannot tell the reference "
                                        "region (give reference/<id>.png, or an RGB mask with red = foreground, "
                                        "blue = reference)")
        fg8 = np.ascontiguousarray(channels[..., 0])
        ref = (channels[..., 2] > 127).astype(np.float32)
    fg = (fg8 > 127).astype(np.float32)
    real = read_rgb(a["real"]) if a["real"] else None
    # Name the offending file in size errors (Sample's own message names only the sample).
    h, w = composite.shape[:2]
    for key, arr in (("mask", fg), ("reference", ref), ("real", real)):
        if arr is not None and arr.shape[:2] != (h, w):
            raise InputError(a[key] or a["mask"], f"is {arr.shape[1]}×{arr.shape[0]} but the composite "
                                                  f"{Path(a['composite']).name} is {w}×{h}")
    meta = {"source": a.get("source", "folder"), "path": a["composite"], **a.get("meta", {})}
    references = tuple(Reference(n, read_mask(m), read_rgb(t) if t else None)
                       for n, (m, t) in a.get("references", {}).items())
    # the foreground file's own values (soft edges included), for the peer protocols (harness/data/sample.py)
    return Sample(spec.id, composite, fg, ref, real, meta, fg_mask_file=fg8, references=references)


def content_hash(spec: SampleSpec) -> str:
    a = spec.args
    named = [p for m, t in a.get("references", {}).values() for p in (m, t)]
    return files_hash([a["composite"], a["mask"], a["reference"], a["real"], *named],
                      salt="folder-v1|" + ",".join(a.get("references", {})))

