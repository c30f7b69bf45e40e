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


# iHarmony4 layout written by hand (bcmi/Image-Harmonization-Dataset-iHarmony4 README: <Subset>/composite_images/
# <id>_<maskid>_<k>.jpg, masks/<id>_<maskid>.png as 3-channel PNGs, real_images/<id>.jpg, <Subset>_test.txt).
IHARMONY4_SAMPLES = {  # subset → [(composite name, (H, W), dark?)]: sizes below, above and across 256
    "HCOCO": [("c1_1_1", (120, 90), False), ("c2_4_2", (300, 280), False)],
    "HFlickr": [("f9_2_1", (97, 130), False)],
    "Hday2night": [("d3_1_1", (150, 260), True)],
}


def write_iharmony4_tree(root: Path, seed: int = 0, samples: dict | None = None) -> dict:
    """Smooth random photos-to-be (JPEG), composites with a changed foreground (JPEG) and masks with soft,
    anti-aliased edges (so bcmi's dithering and iDIH's soft weights matter). Returns, per sample id, the
    file paths and the uint8 arrays as written (before JPEG). `samples`: another IHARMONY4_SAMPLES."""
    from scipy.ndimage import gaussian_filter

    rng = np.random.default_rng(seed)
    out = {}
    for subset, items in (samples or IHARMONY4_SAMPLES).items():
        for d in ("composite_images", "masks", "real_images"):
            (root / subset / d).mkdir(parents=True, exist_ok=True)
        for name, (h, w), dark in items:
            base = rng.integers(0, 256, (h // 12 + 2, w // 12 + 2, 3)).astype(np.uint8)
            real = np.asarray(Image.fromarray(base).resize((w, h), Image.Resampling.BICUBIC))
            if dark:
                real = (real // 5).astype(np.uint8)  # a dark scene: max ≈ 51, far from the 255 peak
            yy, xx = np.mgrid[:h, :w]
            inside = (((yy - h / 2) / (h / 4)) ** 2 + ((xx - w / 2.3) / (w / 5)) ** 2 < 1).astype(float)
            mask = np.clip(np.rint(gaussian_filter(inside, 2.0) * 255), 0, 255).astype(np.uint8)
            comp = real.astype(float)
            sel = mask > 0
            comp[sel] = comp[sel] * 0.75 + np.array([25.0, 5.0, -10.0])
            comp = np.clip(np.rint(comp), 0, 255).astype(np.uint8)
            mask_id, real_id = "_".join(name.split("_")[:2]), name.split("_")[0]
            paths = {"composite": root / subset / "composite_images" / f"{name}.jpg",
                     "mask": root / subset / "masks" / f"{mask_id}.png",
                     "real": root / subset / "real_images" / f"{real_id}.jpg"}
            Image.fromarray(real).save(paths["real"], quality=92)
            Image.fromarray(comp).save(paths["composite"], quality=92)
            Image.fromarray(np.stack([mask] * 3, -1)).save(paths["mask"])
            out[f"{subset}/{name}"] = {**paths, "subset": subset, "size": (h, w), "name": name}
        (root / subset / f"{subset}_test.txt").write_text(
            "\n".join(f"{subset}/composite_images/{n}.jpg" for n, _, _ in items) + "\n")
    return out
