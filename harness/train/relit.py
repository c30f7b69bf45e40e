"""The relit training generator: data in which the reference region is the only source of the target light.

The perturbation generator (harness/train/perturb.py) changes the foreground of an untouched photo, so the
foreground alone tells what the truth is ("undo the change") and a network can learn to ignore the reference
— the shipped IPH of the first release did exactly that (its style codes collapsed to a constant). Here the
whole scene is relit (harness/data/relight.py) and the truth depends on the reference:

1. a training photo (never an evaluation photo: harness/data/photos.py), a random square crop of 35–100 % of
   its shorter side, a random flip, resized to the training size;
2. a foreground region (5–40 % of the crop) and two reference regions (random shapes minus the foreground,
   ≥ 3 % each, disjoint), the first nearer one side of the crop;
3. three lights A, B, C, pairwise distinct; the scene under A and B with a soft ramp between the two
   reference regions (stage 1: the reference is the whole background, lit by both);
4. the composite: the scene with the foreground under C; the truth under reference R: the scene with the
   foreground under R's light.

Items come in **pairs** (index 2k and 2k + 1), so a batch of consecutive indices always holds both and a
network that ignores the reference cannot fit both truths:
- `regions` pairs share the composite and take two reference regions, each under its own light;
- `lights` pairs take one reference region under light A in one item and light B in the other (everything
  else identical): the cleanest lesson — the foreground must follow the region's light;
- `both` (the default) alternates them scene by scene. Item i depends only on (seed, i // 2): the same on every machine, in every
worker and after a resume.
"""

from __future__ import annotations

import numpy as np
import torch
from torch.utils.data import Dataset

from harness.data import relight
from harness.data.photos import EVAL_PHOTOS, available_train_photos
from harness.errors import HarnessError
from harness.train.regions import (FG_AREA, FG_SHAPES, REF_MIN_AREA, REF_SHAPES, random_crop, random_region,
                                   to_item)


PAIRS = ("regions", "lights", "both")


class RelitDataset(Dataset):
    def __init__(self, resolution: int = 128, stage: int = 2, seed: int = 0, length: int = 1_000_000,
                 photos: tuple[str, ...] | None = None, pairs: str = "both") -> None:
        if stage not in (1, 2, 3):
            raise HarnessError(f"stage must be 1, 2 or 3, got {stage}")
        self.resolution, self.stage, self.seed, self.length = int(resolution), int(stage), int(seed), int(length)
        if pairs not in PAIRS:
            raise HarnessError(f"pairs must be one of {', '.join(PAIRS)}, not '{pairs}'")
        self.pairs = pairs
        self.photos = tuple(photos) if photos is not None else available_train_photos()
        held_out = sorted(set(self.photos) & set(EVAL_PHOTOS))
        if held_out:
            raise HarnessError(f"training photos include held-out evaluation photos: {', '.join(held_out)}")
        self._recent: dict[int, dict] = {}

    def __len__(self) -> int:
        return self.length

    def describe(self) -> dict:
        return {"kind": "relit", "photos": list(self.photos), "held_out": list(EVAL_PHOTOS),
                "resolution": self.resolution, "stage": self.stage, "seed": self.seed, "pairs": self.pairs if self.stage > 1 else None}

    def _regions(self, fg: np.ndarray, rng: np.random.Generator) -> list[np.ndarray]:
        """Two disjoint reference regions outside the foreground (stage 1: the whole background, once)."""
        if self.stage == 1:
            return [~fg]
        out: list[np.ndarray] = []
        taken = fg.copy()
        for _ in range(40):
            shape, _ = random_region(self.resolution, rng, REF_SHAPES, (0.05, 0.3))
            region = shape & ~taken
            if region.mean() >= REF_MIN_AREA:
                out.append(region)
                taken |= region
                if len(out) == 2:
                    return out
        return out + [~taken] if len(out) == 1 and (~taken).mean() >= REF_MIN_AREA else [~fg, ~fg]

    def scene(self, pair: int) -> dict:
        """The composite, the regions, and the truth under each region, as numpy arrays (the last few are
        kept: the two items of a pair come one after the other)."""
        if pair in self._recent:
            return self._recent[pair]
        rng = np.random.default_rng([self.seed, pair])
        _, _, crop = random_crop(self.photos, self.resolution, rng)
        photo = crop.astype(np.float64)
        fg, _ = random_region(self.resolution, rng, FG_SHAPES, FG_AREA)
        regions = self._regions(fg, rng)
        light_a, light_b, light_c = relight.draw_lights(rng, 3)
        if len(regions) == 2 and not np.array_equal(regions[0], regions[1]):
            centre, direction = relight.separating_ramp(regions[0], regions[1])
        else:
            centre = (self.resolution * rng.uniform(0.3, 0.7), self.resolution * rng.uniform(0.3, 0.7))
            angle = rng.uniform(0, 2 * np.pi)
            direction = (float(np.sin(angle)), float(np.cos(angle)))
        field = relight.gain_field(relight.ramp(fg.shape, centre, direction), light_a, light_b)
        if self.pairs == "lights" or (self.pairs == "both" and pair % 2 and self.stage > 1):
            # one region, under light A in one item and light B in the other; all else shared
            region = regions[0]
            fields = [field.copy(), field.copy()]
            fields[0][region], fields[1][region] = light_a, light_b
            composites = [relight.relight(photo, f, fg, light_c) for f in fields]
            truths = [relight.relight(photo, f, fg, light) for f, light in zip(fields, (light_a, light_b))]
            out = {"composites": composites, "fg": fg, "regions": [region, region], "truths": truths}
        else:
            composite = relight.relight(photo, field, fg, light_c)
            truths = [relight.relight(photo, field, fg, relight.region_light(field, r)) for r in regions]
            out = {"composites": [composite] * len(regions), "fg": fg, "regions": regions, "truths": truths}
        self._recent = {**dict(list(self._recent.items())[-3:]), pair: out}
        return out

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        index = int(index)
        if not 0 <= index < self.length:
            raise IndexError(index)
        s = self.scene(index // 2)
        k = (index % 2) % len(s["regions"])
        return to_item(s["composites"][k].astype(np.float32), s["truths"][k].astype(np.float32), s["fg"],
                        s["regions"][k])
