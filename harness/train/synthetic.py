"""Training data for every learned method: the on-the-fly self-supervised generator, and any suite's samples.

**Self-supervised generator** (`SyntheticDataset`). Item i is made from `numpy.random.default_rng([seed, i])`
alone, so it is the same on every machine, in every worker and after a resume:

1. a training photo (below), a random square crop of 35–100 % of its shorter side, a random horizontal flip,
   resized to the training size with the benchmark's own resizer (harness/data/resize.py, bicubic);
2. a foreground region covering 5–40 % of the crop: a smooth random blob (thresholded low-frequency noise
   around a random centre), a rotated ellipse or a star-shaped polygon;
3. the reference region: stage 1 = the whole background (everything outside the foreground); stages 2–3 = a
   second random shape (ellipse, blob, polygon or rectangle) with the foreground removed, at least 3 % of the
   crop — disjoint from the foreground by construction;
4. the composite: the foreground's pixels perturbed in colour/luminance with the bundled suite's documented
   perturbations (`harness.data.perturb.perturb`: brightness, contrast, gamma, hue-sat, cast, mixed; kind
   and strength drawn at random; the result is then blended back towards the original by a random factor in
   [0.25, 1.25] so that weak and strong shifts both occur); pixels outside the foreground are the photo's;
5. the ground truth: the (resized) photo itself.

**Held-out rule.** The photos of the bundled evaluation suite (`sample`, and `portraittest`'s fallback) are
never used for training: `EVAL_PHOTOS` lists them (skimage's `cat` is the same picture as `chelsea`), and
the generator refuses them. The training photos are the other colour photographs shipped in installed
packages, read locally (nothing is downloaded): skimage's `stereo_motorcycle` left and right views,
`hubble_deep_field`, `retina` and `immunohistochemistry`, and scikit-learn's `china` and `flower` sample
images when scikit-learn is importable (harness/data/photos.py: `TRAIN_PHOTOS`, `available_train_photos()`).

**Suite data** (`SuiteDataset`): any suite's samples (e.g. a folder suite of real training pairs), each
image resized to the training size; stage 1 replaces the reference by the whole background. Samples need a
ground truth (`real`).

Both datasets are map-style torch Datasets returning dicts of float32 tensors: `composite`, `real` (3×S×S in
[0, 1]), `fg_mask`, `ref_mask` (1×S×S in {0, 1} for the generator; area-resized soft masks for suites).
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch.utils.data import Dataset

from harness.data.photos import EVAL_PHOTOS, available_train_photos, train_photo
from harness.errors import HarnessError, InputError

FG_AREA = (0.05, 0.40)  # foreground fraction of the crop
REF_MIN_AREA = 0.03  # smallest reference region (fraction of the crop) in stages 2–3
CROP = (0.35, 1.0)  # crop side as a fraction of the photo's shorter side
BLEND = (0.25, 1.25)  # perturbation strength multiplier


# ------------------------------------------------------------------------------------------------ regions
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


# ------------------------------------------------------------------------------------------------ dataset
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


def _to_item(composite: np.ndarray, real: np.ndarray, fg: np.ndarray, ref: np.ndarray) -> dict[str, torch.Tensor]:
    def img(a: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(np.ascontiguousarray(a.transpose(2, 0, 1), dtype=np.float32))

    def mask(a: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32))[None]

    return {"composite": img(composite), "real": img(real), "fg_mask": mask(fg), "ref_mask": mask(ref)}


class SyntheticDataset(Dataset):
    """Self-supervised (composite, fg, ref, real) items on the training photos; item i depends only on
    (seed, i). `length` only bounds the index range (items are generated on demand)."""

    def __init__(self, size: int = 128, stage: int = 1, seed: int = 0, length: int = 1_000_000,
                 photos: tuple[str, ...] | None = None) -> None:
        if stage not in (1, 2, 3):
            raise HarnessError(f"stage must be 1, 2 or 3, got {stage}")
        if size < 16:
            raise HarnessError(f"training size must be at least 16 px, got {size}")
        self.size, self.stage, self.seed, self.length = int(size), int(stage), int(seed), int(length)
        self.photos = tuple(photos) if photos is not None else available_train_photos()
        held_out = sorted(set(self.photos) & set(EVAL_PHOTOS))
        if held_out:
            raise HarnessError(f"training photos include held-out evaluation photos: {', '.join(held_out)}")
        if not self.photos:
            raise HarnessError("no training photos available")

    def __len__(self) -> int:
        return self.length

    def describe(self) -> dict:
        """What the data is, for checkpoints and MLflow params."""
        return {"kind": "synthetic", "photos": list(self.photos), "held_out": list(EVAL_PHOTOS),
                "size": self.size, "stage": self.stage, "seed": self.seed}

    def generate(self, index: int) -> dict:
        """Item `index` as numpy arrays plus what was drawn: composite, real (H×W×3 float32), fg, ref (bool)."""
        from harness.data.perturb import PERTURBATIONS, perturb

        if not 0 <= index < self.length:
            raise IndexError(index)
        rng = np.random.default_rng([self.seed, index])
        name, (y0, x0, side), real = random_crop(self.photos, self.size, rng)

        fg, shape = random_region(self.size, rng, FG_SHAPES, FG_AREA)
        ref = reference_region(fg, self.stage, rng)
        kind = PERTURBATIONS[int(rng.integers(len(PERTURBATIONS)))]
        pixels = real[fg].astype(np.float64)
        new, params = perturb(pixels, kind, rng)
        strength = rng.uniform(*BLEND)
        composite = real.copy()
        composite[fg] = np.clip(pixels + strength * (new - pixels), 0.0, 1.0).astype(np.float32)
        return {"composite": composite, "real": real, "fg": fg, "ref": ref, "photo": name, "shape": shape,
                "perturbation": kind, "strength": strength, "params": params, "crop": (y0, x0, side)}

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        g = self.generate(int(index))
        return _to_item(g["composite"], g["real"], g["fg"], g["ref"])


class SuiteDataset(Dataset):
    """A suite's samples resized to `size`² (the benchmark's resizer); stage 1 uses the whole background as
    the reference. Every sample needs a ground truth."""

    def __init__(self, suite_name: str, data_root: str | None, size: int = 128, stage: int = 1) -> None:
        from harness.data.suites import open_suite

        self.suite = open_suite(suite_name, data_root)
        if self.suite.held_out:
            raise HarnessError(f"suite '{suite_name}' ({self.suite.source}) is made from the evaluation photos, "
                               "which stay held out of training; train on your own data, or on the bundled "
                               "train split: harness build-intharmony --split train --out DIR, then --data-root DIR")
        self.size, self.stage = int(size), int(stage)

    def __len__(self) -> int:
        return len(self.suite.specs)

    def describe(self) -> dict:
        return {"kind": "suite", "suite": self.suite.name, "source": self.suite.source,
                "data_root": self.suite.data_root, "samples": len(self), "size": self.size, "stage": self.stage}

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        from harness.data.suites import load_spec
        from harness.data.resize import resize_image, resize_mask

        spec = self.suite.specs[int(index)]
        s = load_spec(spec)
        if s.real is None:
            raise InputError(spec.id, "training needs a ground truth (real/) for every sample")
        fg = resize_mask(s.fg_mask, self.size)
        ref = 1.0 - fg if self.stage == 1 else resize_mask(s.ref_mask, self.size)
        fg_b = fg > 0.5
        if not fg_b.any() or fg_b.all() or not (ref > 0.5).any():
            raise InputError(spec.id, f"a region vanishes (or covers everything) at the training size {self.size}")
        return _to_item(resize_image(s.composite, self.size), resize_image(s.real, self.size), fg, ref)
