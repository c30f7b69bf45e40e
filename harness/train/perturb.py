"""`--data perturb`: the perturbation generator, a perturbed foreground in an untouched training photo.

Item i (`PerturbDataset`) is made from `numpy.random.default_rng([seed, i])` alone, so it is the same on every
machine, in every worker and after a resume:

1. a training photo (below), a random square crop of 35–100 % of its shorter side, a random horizontal flip,
   resized to the training size; a foreground region and a reference region (stage 1: the whole background;
   stages 2–3: a random region disjoint from the foreground) — harness/train/regions.py;
2. the composite: the foreground's pixels perturbed in colour/luminance with the bundled suite's documented
   perturbations (`harness.data.perturb.perturb`: brightness, contrast, gamma, hue-sat, cast, mixed; kind
   and strength drawn at random; the result is then blended back towards the original by a random factor in
   [0.25, 1.25] so that weak and strong shifts both occur); pixels outside the foreground are the photo's;
3. the ground truth: the (resized) photo itself.

The foreground alone predicts the truth here ("undo the change"); the default generator, harness/train/relit.py,
makes the reference the only source of the target light.

**Held-out rule.** The photos of the bundled evaluation suite (`sample`, and `portraittest`'s fallback) are
never used for training: `EVAL_PHOTOS` lists them (skimage's `cat` is the same picture as `chelsea`), and
the generator refuses them. The training photos are the other colour photographs shipped in installed
packages, read locally (nothing is downloaded): skimage's `stereo_motorcycle` left and right views,
`hubble_deep_field`, `retina` and `immunohistochemistry`, and scikit-learn's `china` and `flower` sample
images when scikit-learn is importable (harness/data/photos.py: `TRAIN_PHOTOS`, `available_train_photos()`).
Items are dicts of float32 tensors (harness/train/regions.py: `to_item`), masks in {0, 1}.
"""

from __future__ import annotations

import numpy as np
import torch
from torch.utils.data import Dataset

from harness.data.photos import EVAL_PHOTOS, available_train_photos
from harness.errors import HarnessError
from harness.train.regions import FG_AREA, FG_SHAPES, random_crop, random_region, reference_region, to_item

BLEND = (0.25, 1.25)  # perturbation strength multiplier


class PerturbDataset(Dataset):
    """Self-supervised (composite, fg, ref, real) items on the training photos; item i depends only on
    (seed, i). `length` only bounds the index range (items are generated on demand)."""

    def __init__(self, resolution: int = 128, stage: int = 1, seed: int = 0, length: int = 1_000_000,
                 photos: tuple[str, ...] | None = None) -> None:
        if stage not in (1, 2, 3):
            raise HarnessError(f"stage must be 1, 2 or 3, got {stage}")
        if resolution < 16:
            raise HarnessError(f"training resolution must be at least 16 px, got {resolution}")
        self.resolution, self.stage, self.seed, self.length = int(resolution), int(stage), int(seed), int(length)
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
        return {"kind": "perturb", "photos": list(self.photos), "held_out": list(EVAL_PHOTOS),
                "resolution": self.resolution, "stage": self.stage, "seed": self.seed}

    def generate(self, index: int) -> dict:
        """Item `index` as numpy arrays plus what was drawn: composite, real (H×W×3 float32), fg, ref (bool)."""
        from harness.data.perturb import PERTURBATIONS, perturb

        if not 0 <= index < self.length:
            raise IndexError(index)
        rng = np.random.default_rng([self.seed, index])
        name, (y0, x0, side), real = random_crop(self.photos, self.resolution, rng)

        fg, shape = random_region(self.resolution, rng, FG_SHAPES, FG_AREA)
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
        return to_item(g["composite"], g["real"], g["fg"], g["ref"])
