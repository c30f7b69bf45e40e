"""iHarmony4 in its official layout (Cong et al., CVPR 2020):

    ROOT/<Subset>/composite_images/<id>_<maskid>_<k>.jpg
    ROOT/<Subset>/masks/<id>_<maskid>.png          (3-channel PNGs: channel 0 is used, > 127 inside; the
                                                    file's own values are kept for the peer protocols)
    ROOT/<Subset>/real_images/<id>.jpg
    ROOT/<Subset>/<Subset>_test.txt                lines naming composite images (with or without a path)

Subsets: HCOCO, HAdobe5k, HFlickr, Hday2night (any that exist). The reference region is the whole
background (1 − foreground), as in every published iHarmony4 result. Each sample's `meta["subset"]` drives
the per-subset results. ROOT may be a location in an object store (`s3://BUCKET/PREFIX`, harness/storage.py):
every file is then a location the Ray worker reads itself.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from harness.data.io import read_mask_channels, read_rgb
from harness.data.sample import Sample
from harness.data.specs import SampleSpec, Suite, files_hash
from harness.errors import HarnessError, InputError

SUBSETS = ("HCOCO", "HAdobe5k", "HFlickr", "Hday2night")


def iharmony4_suite(root: str | Path, split: str = "test") -> Suite:
    from harness.storage import display, is_dir, is_file, join, locate, read_text

    root = locate(str(root))  # a folder, or a location in a store (s3://…): every file is a location
    specs = []
    found = [s for s in SUBSETS if is_dir(join(root, s))]
    if not found:
        raise HarnessError(f"{display(root)}: not an iHarmony4 root (none of {', '.join(SUBSETS)} found)")
    for subset in found:
        listing = join(root, subset, f"{subset}_{split}.txt")
        if not is_file(listing):
            raise InputError(display(listing), "split list not found")
        for lineno, line in enumerate(read_text(listing).splitlines(), 1):
            name = line.strip().split("/")[-1]
            if not name:
                continue
            stem = Path(name).stem
            parts = stem.split("_")
            if len(parts) < 3:
                raise InputError(f"{display(listing)}:{lineno}", f"'{name}' is not <id>_<maskid>_<k>.jpg")
            mask_stem, real_stem = "_".join(parts[:-1]), "_".join(parts[:-2])
            specs.append(SampleSpec(f"{subset}/{stem}", "iharmony4", {
                "composite": join(root, subset, "composite_images", name),
                "mask": join(root, subset, "masks", f"{mask_stem}.png"),
                "real": join(root, subset, "real_images", f"{real_stem}.jpg"),
                "subset": subset}))
    return Suite("iharmony4", f"iharmony4:{display(root)}", specs, data_root=root)


def load(spec: SampleSpec) -> Sample:
    from harness.storage import display

    a = spec.args
    composite = read_rgb(a["composite"])
    channels = read_mask_channels(a["mask"])
    fg = ((channels[..., 0] if channels.ndim == 3 else channels) > 127).astype(np.float32)
    real = read_rgb(a["real"])
    if fg.shape != composite.shape[:2]:
        raise InputError(display(a["mask"]), f"is {fg.shape[1]}×{fg.shape[0]} but the composite is "
                                             f"{composite.shape[1]}×{composite.shape[0]}")
    meta = {"source": "iharmony4", "subset": a["subset"], "path": display(a["composite"])}
    return Sample(spec.id, composite, fg, 1.0 - fg, real, meta, fg_mask_file=channels)


def content_hash(spec: SampleSpec) -> str:
    a = spec.args
    return files_hash([a["composite"], a["mask"], a["real"]], salt="iharmony4-v1")



def open_iharmony4(data_root: str | None) -> Suite:
    """The `iharmony4` suite from `data_root`, else $HARNESS_DATA/iHarmony4."""
    env = os.environ.get("HARNESS_DATA")
    root = data_root or (str(Path(env) / "iHarmony4") if env else None)
    if not root:
        raise HarnessError("suite 'iharmony4' needs --data-root DIR (or HARNESS_DATA/iHarmony4)")
    return iharmony4_suite(root)
