"""What the training generators draw from: a random square crop of a training photo, random foreground and
reference regions in it, and the item every training dataset returns.

Regions: the foreground covers 5–40 % of the crop (`FG_AREA`): a smooth random blob (thresholded
low-frequency noise around a random centre), a rotated ellipse or a star-shaped polygon; the reference is, in
stage 1, the whole background and, in stages 2–3, a second random shape (ellipse, blob, polygon or rectangle)
with the foreground removed, at least `REF_MIN_AREA` of the crop — disjoint from the foreground by
construction. Crops: 35–100 % of the photo's shorter side (`CROP`), flipped half the time, resized with the
benchmark's own resizer (harness/data/resize.py, bicubic). Every draw comes from the `rng` passed in, so an
item is a pure function of its generator's (seed, index).

An item is a dict of float32 tensors: `composite`, `real` (3×S×S in [0, 1]), `fg_mask`, `ref_mask` (1×S×S).
"""

from __future__ import annotations

import math

import numpy as np
import torch

from harness.data.photos import train_photo

FG_AREA = (0.05, 0.40)  # foreground fraction of the crop
REF_MIN_AREA = 0.03  # smallest reference region (fraction of the crop) in stages 2–3
CROP = (0.35, 1.0)  # crop side as a fraction of the photo's shorter side


def _grid(size: int) -> tuple[np.ndarray, np.ndarray]:
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float64)
    return (yy + 0.5) / size, (xx + 0.5) / size  # pixel centres in (0, 1)


def ellipse(size: int, rng: np.random.Generator, area: float) -> np.ndarray:
    """A rotated ellipse of about `area` (fraction of the image) at a random centre."""
    yy, xx = _grid(size)
    aspect = math.exp(rng.uniform(-0.9, 0.9))
    ab = area / math.pi  # a·b in unit-square coordinates
    a, b = math.sqrt(ab * aspect), math.sqrt(ab / aspect)
    cy, cx = rng.uniform(0.15, 0.85, size=2)
    t = rng.uniform(0, math.pi)
    u = (xx - cx) * math.cos(t) + (yy - cy) * math.sin(t)
    v = -(xx - cx) * math.sin(t) + (yy - cy) * math.cos(t)
    return (u / a) ** 2 + (v / b) ** 2 <= 1.0


def blob(size: int, rng: np.random.Generator, area: float) -> np.ndarray:
    """A smooth random blob: low-frequency noise plus a bump at a random centre, thresholded at the quantile
    that gives exactly `area`."""
    from scipy.ndimage import zoom

    k = int(rng.integers(3, 7))
    noise = zoom(rng.standard_normal((k, k)), size / k, order=3)[:size, :size]
    yy, xx = _grid(size)
    cy, cx = rng.uniform(0.2, 0.8, size=2)
    bump = -((yy - cy) ** 2 + (xx - cx) ** 2) / 0.08
    field = bump + 0.6 * noise
    return field >= np.quantile(field, 1.0 - area)


def polygon(size: int, rng: np.random.Generator, area: float) -> np.ndarray:
    """A star-shaped polygon (5–10 vertices at sorted random angles) scaled to about `area`."""
    from skimage.draw import polygon as draw_polygon

    n = int(rng.integers(5, 11))
    angles = np.sort(rng.uniform(0, 2 * math.pi, n))
    radii = rng.uniform(0.5, 1.0, n)
    # Shoelace area of the unit-scale polygon, then scale the radii to the wanted area.
    xs, ys = radii * np.cos(angles), radii * np.sin(angles)
    unit = 0.5 * abs(np.dot(xs, np.roll(ys, -1)) - np.dot(ys, np.roll(xs, -1)))
    scale = math.sqrt(area / max(unit, 1e-6))
    cy, cx = rng.uniform(0.2, 0.8, size=2)
    rr, cc = draw_polygon((cy + scale * ys) * size, (cx + scale * xs) * size, shape=(size, size))
    mask = np.zeros((size, size), bool)
    mask[rr, cc] = True
    return mask


def rectangle(size: int, rng: np.random.Generator, area: float) -> np.ndarray:
    """An axis-aligned rectangle of about `area` at a random place."""
    aspect = math.exp(rng.uniform(-0.7, 0.7))
    h, w = min(1.0, math.sqrt(area * aspect)), min(1.0, math.sqrt(area / aspect))
    y0, x0 = rng.uniform(0, 1 - h), rng.uniform(0, 1 - w)
    yy, xx = _grid(size)
    return (yy >= y0) & (yy < y0 + h) & (xx >= x0) & (xx < x0 + w)


FG_SHAPES = {"blob": blob, "ellipse": ellipse, "polygon": polygon}
REF_SHAPES = {**FG_SHAPES, "rectangle": rectangle}


def random_region(size: int, rng: np.random.Generator, shapes: dict, area_range: tuple[float, float],
                  tries: int = 20) -> tuple[np.ndarray, str]:
    """A region whose area lies in `area_range` (shapes clipped by the border are redrawn)."""
    names = sorted(shapes)
    for _ in range(tries):
        name = names[int(rng.integers(len(names)))]
        mask = shapes[name](size, rng, rng.uniform(*area_range))
        if area_range[0] <= mask.mean() <= area_range[1] and not mask.all():
            return mask, name
    return blob(size, rng, float(np.mean(area_range))), "blob"  # blob hits its area exactly


def reference_region(fg: np.ndarray, stage: int, rng: np.random.Generator) -> np.ndarray:
    """Stage 1: the whole background. Stages 2–3: a random region minus the foreground, ≥ REF_MIN_AREA."""
    if stage == 1:
        return ~fg
    for _ in range(20):
        shape, _ = random_region(fg.shape[0], rng, REF_SHAPES, (0.05, 0.35))
        ref = shape & ~fg
        if ref.mean() >= REF_MIN_AREA:
            return ref
    return ~fg  # nothing disjoint was found (practically unreachable with fg ≤ 40 %)


# -------------------------------------------------------------------------------------------- crops, items
def random_crop(photos, size: int, rng: np.random.Generator) -> tuple[str, tuple[int, int, int], np.ndarray]:
    """A random square crop (CROP of the shorter side) of one of `photos`, flipped half the time, resized to
    size²: the photo's name, the crop's (y0, x0, side) and the crop, float32 in [0, 1]. Both generators start
    their items from it."""
    from harness.data.resize import resize_image

    name = photos[int(rng.integers(len(photos)))]
    photo = train_photo(name)
    h, w = photo.shape[:2]
    side = max(16, int(round(min(h, w) * rng.uniform(*CROP))))
    y0, x0 = int(rng.integers(0, h - side + 1)), int(rng.integers(0, w - side + 1))
    crop = photo[y0:y0 + side, x0:x0 + side]
    if rng.random() < 0.5:
        crop = crop[:, ::-1]
    return name, (y0, x0, side), resize_image(crop.astype(np.float32) / 255.0, size)


def to_item(composite: np.ndarray, real: np.ndarray, fg: np.ndarray, ref: np.ndarray) -> dict[str, torch.Tensor]:
    """The item every training dataset returns: H×W×3 images → 3×H×W, H×W masks → 1×H×W, float32 tensors."""
    def img(a: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(np.ascontiguousarray(a.transpose(2, 0, 1), dtype=np.float32))

    def mask(a: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32))[None]

    return {"composite": img(composite), "real": img(real), "fg_mask": mask(fg), "ref_mask": mask(ref)}
