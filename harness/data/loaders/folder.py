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
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from harness.data.io import IMAGE_EXTENSIONS, find_image, read_mask, read_mask_8bit, read_mask_channels, read_rgb
from harness.data.sample import Reference, Sample
from harness.data.specs import SampleSpec, Suite, files_hash
from harness.errors import HarnessError, InputError


def folder_suite(root: str | Path, name: str = "folder") -> Suite:
    root = Path(root)
    comp_dir = root / "composite"
    if not comp_dir.is_dir():
        raise HarnessError(f"{root}: not a folder suite (no composite/ directory)")
    specs = []
    stems = sorted({p.stem for p in comp_dir.iterdir() if p.suffix.lower() in IMAGE_EXTENSIONS})
    for stem in stems:
        comp = find_image(comp_dir, stem)
        mask = find_image(root / "mask", stem)
        if mask is None:
            raise InputError(comp_dir / f"{stem}", f"no foreground mask: expected {root / 'mask' / (stem + '.png')}")
        ref = find_image(root / "reference", stem)
        real = find_image(root / "real", stem)
        named = {}
        if (root / "references" / stem).is_dir():
            for p in sorted((root / "references" / stem).iterdir()):
                if p.suffix.lower() in IMAGE_EXTENSIONS:
                    truth = find_image(root / "references_real" / stem, p.stem)
                    named[p.stem] = (str(p), str(truth) if truth else None)
        specs.append(SampleSpec(stem, "folder", {
            "composite": str(comp), "mask": str(mask), "reference": str(ref) if ref else None,
            "real": str(real) if real else None, "source": name, "references": named}))
    return Suite(name, f"folder:{root}", specs, data_root=str(root))


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

