"""Test helpers: folder suites written by hand with PIL (never with the harness's own writer)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image


def write_folder_suite(root: Path, n: int = 3, size=(48, 64), seed: int = 0, with_real: bool = True,
                       rgb_masks: bool = False) -> dict:
    """A folder-layout suite of random-ish images; returns the uint8 arrays written, by id."""
    rng = np.random.default_rng(seed)
    h, w = size
    arrays = {}
    for d in ("composite", "mask", "reference", "real"):
        (root / d).mkdir(parents=True, exist_ok=True)
    for i in range(n):
        sid = f"img{i:02d}"
        real = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
        fg = np.zeros((h, w), np.uint8)
        fg[h // 4: h // 2 + i, w // 4: w // 2] = 255
        ref = np.zeros((h, w), np.uint8)
        ref[3 * h // 4:, :] = 255
        comp = real.copy()
        comp[fg > 0] = np.clip(comp[fg > 0].astype(int) + 30, 0, 255).astype(np.uint8)
        Image.fromarray(comp).save(root / "composite" / f"{sid}.png")
        if rgb_masks:
            rgb = np.zeros((h, w, 3), np.uint8)
            rgb[..., 0], rgb[..., 2] = fg, ref
            Image.fromarray(rgb).save(root / "mask" / f"{sid}.png")
        else:
            Image.fromarray(fg).save(root / "mask" / f"{sid}.png")
            Image.fromarray(ref).save(root / "reference" / f"{sid}.png")
        if with_real:
            Image.fromarray(real).save(root / "real" / f"{sid}.png")
        arrays[sid] = {"composite": comp, "fg": fg, "ref": ref, "real": real}
    return arrays
