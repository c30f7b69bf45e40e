"""Resizing images and masks to a method's working size (e.g. the 256² input of learned models).

Filters, chosen once for the whole project (and used by `--protocol harness --resolution 256`; this is *not*
what either published evaluation script does — `--protocol bcmi|idih` reproduce those, harness/scoring/peers.py):
- images: PIL **bicubic** — the filter of bcmi's iHarmony4 evaluation.py, but here each channel is resized as
  a 32-bit float ('F' mode) image so no precision is lost to uint8; bicubic overshoot is clipped back to
  [0, 1]. (evaluation.py resizes the 8-bit image: PIL's uint8 path rounds and clips between its two separable
  passes, so it differs by a few /255 at sharp edges; the float path matches torch's antialiased bicubic to
  ~1e-5.)
- masks: PIL **box** (area average) when shrinking, so a low-res mask value is the fraction of the pixel that
  the full-res region covers and "> 0.5" keeps meaning "mostly inside"; **bilinear** when enlarging (box
  would give blocky edges). Values stay in [0, 1] by construction. (bcmi dithers the mask to 1 bit and
  resizes it nearest; iDIH resizes it bilinearly and weights by the soft values.)

`size` is an int (square) or (height, width), numpy order — not PIL's (width, height).
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from harness.errors import InputError


def _hw(size: int | tuple[int, int]) -> tuple[int, int]:
    h, w = (size, size) if isinstance(size, (int, np.integer)) else size
    if int(h) < 1 or int(w) < 1:
        raise InputError("resize", f"target size must be positive, got {size!r}")
    return int(h), int(w)


def _resize_plane(plane: np.ndarray, hw: tuple[int, int], resample: Image.Resampling) -> np.ndarray:
    img = Image.fromarray(np.ascontiguousarray(plane, dtype=np.float32), mode="F")
    return np.asarray(img.resize((hw[1], hw[0]), resample=resample), dtype=np.float32)


def resize_image(img: np.ndarray, size: int | tuple[int, int], clip: bool = True) -> np.ndarray:
    """Bicubic resize of a float H×W×3 image in [0, 1]; returns float32 in [0, 1]. Same size → a copy.
    `clip=False` keeps values outside [0, 1] (a signed residual, harness/methods/highres.py)."""
    hw = _hw(size)
    if img.ndim != 3 or img.shape[2] != 3:
        raise InputError("resize", f"image must be H×W×3, got shape {img.shape}")
    if img.shape[:2] == hw:
        return img.astype(np.float32, copy=True)
    out = np.stack([_resize_plane(img[..., c], hw, Image.Resampling.BICUBIC) for c in range(3)], axis=-1)
    return np.clip(out, 0.0, 1.0) if clip else out


def resize_mask(mask: np.ndarray, size: int | tuple[int, int]) -> np.ndarray:
    """Area-average (shrink) / bilinear (enlarge) resize of a float H×W mask in [0, 1]; returns float32."""
    hw = _hw(size)
    if mask.ndim != 2:
        raise InputError("resize", f"mask must be H×W, got shape {mask.shape}")
    if mask.shape == hw:
        return mask.astype(np.float32, copy=True)
    shrinking = hw[0] * hw[1] < mask.shape[0] * mask.shape[1]
    resample = Image.Resampling.BOX if shrinking else Image.Resampling.BILINEAR
    return np.clip(_resize_plane(mask, hw, resample), 0.0, 1.0)
