"""Training on a suite's samples (`harness train --suite NAME`): e.g. a folder suite of real training pairs.

`SuiteDataset` resizes each sample to the training size (the benchmark's resizer); stage 1 replaces the
reference by the whole background. Samples need a ground truth (`real`). Suites made from the evaluation
photos are refused: they stay held out of training. Items are dicts of float32 tensors
(harness/train/regions.py: `to_item`) with area-resized soft masks.
"""

from __future__ import annotations

import torch
from torch.utils.data import Dataset

from harness.errors import HarnessError, InputError
from harness.train.regions import to_item


class SuiteDataset(Dataset):
    """A suite's samples resized to `size`² (the benchmark's resizer); stage 1 uses the whole background as
    the reference. Every sample needs a ground truth."""

    def __init__(self, suite_name: str, data_root: str | None, resolution: int = 128, stage: int = 1) -> None:
        from harness.data.suites import open_suite

        self.suite = open_suite(suite_name, data_root)
        if self.suite.held_out:
            raise HarnessError(f"suite '{suite_name}' ({self.suite.source}) is made from the evaluation photos, "
                               "which stay held out of training; train on your own data, or on the bundled "
                               "train split: harness build-intharmony --split train --out DIR, then --data-root DIR")
        self.resolution, self.stage = int(resolution), int(stage)

    def __len__(self) -> int:
        return len(self.suite.specs)

    def describe(self) -> dict:
        return {"kind": "suite", "suite": self.suite.name, "source": self.suite.source,
                "data_root": self.suite.data_root, "samples": len(self), "resolution": self.resolution,
                "stage": self.stage}

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        from harness.data.suites import load_spec
        from harness.data.resize import resize_image, resize_mask

        spec = self.suite.specs[int(index)]
        s = load_spec(spec)
        if s.real is None:
            raise InputError(spec.id, "training needs a ground truth (real/) for every sample")
        fg = resize_mask(s.fg_mask, self.resolution)
        ref = 1.0 - fg if self.stage == 1 else resize_mask(s.ref_mask, self.resolution)
        fg_b = fg > 0.5
        if not fg_b.any() or fg_b.all() or not (ref > 0.5).any():
            raise InputError(spec.id, f"a region vanishes (or covers everything) at the training resolution "
                                      f"{self.resolution}")
        return to_item(resize_image(s.composite, self.resolution), resize_image(s.real, self.resolution), fg, ref)
