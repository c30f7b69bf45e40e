"""The perturbation generator (`--data perturb`), the suite dataset and the batch split (no Ray, no training)."""

from __future__ import annotations

import numpy as np
import pytest

from harness.data.photos import EVAL_PHOTOS
from harness.train.perturb import PerturbDataset
from harness.train.regions import FG_AREA, REF_MIN_AREA
from harness.train.suite import SuiteDataset
from harness.errors import HarnessError
from harness.train.loop import batch_indices


def test_item_depends_only_on_seed_and_index():
    a, b = PerturbDataset(64, stage=2, seed=7), PerturbDataset(64, stage=2, seed=7)
    late = b[5]  # b is read in another order than a
    _ = b[3]
    first = a[5]
    for key in ("composite", "real", "fg_mask", "ref_mask"):
        assert np.array_equal(first[key].numpy(), late[key].numpy())
    other_seed = PerturbDataset(64, stage=2, seed=8)[5]
    assert not np.array_equal(first["composite"].numpy(), other_seed["composite"].numpy())
    assert not np.array_equal(first["composite"].numpy(), a[6]["composite"].numpy())


@pytest.mark.parametrize("stage", [1, 2])
def test_regions_are_valid_and_only_the_foreground_changes(stage):
    ds = PerturbDataset(64, stage=stage, seed=3)
    for i in range(25):
        g = ds.generate(i)
        fg, ref, comp, real = g["fg"], g["ref"], g["composite"], g["real"]
        assert FG_AREA[0] <= fg.mean() <= FG_AREA[1]
        assert ref.any() and not (fg & ref).any()
        if stage == 1:
            assert np.array_equal(ref, ~fg)  # stage 1: the reference is the whole background
        else:
            assert ref.mean() >= REF_MIN_AREA and ref.sum() < (~fg).sum()
        assert np.array_equal(comp[~fg], real[~fg])  # outside the foreground: the photo, bit for bit
        assert np.abs(comp[fg] - real[fg]).max() > 0.0  # inside: perturbed
        assert comp.dtype == np.float32 and comp.min() >= 0.0 and comp.max() <= 1.0


def test_brightness_items_are_a_uniform_shift_of_the_photo():
    """Independent check of the perturbation: a brightness item's composite − real is strength·b wherever
    neither is clipped (numpy arithmetic on the returned draws, not the generator's code path)."""
    ds = PerturbDataset(64, stage=1, seed=11)
    seen = 0
    for i in range(80):
        g = ds.generate(i)
        if g["perturbation"] != "brightness":
            continue
        seen += 1
        shift = g["strength"] * g["params"]["brightness"]
        real = g["real"][g["fg"]].astype(np.float64)
        ok = (real + shift > 0.0) & (real + shift < 1.0)
        diff = g["composite"][g["fg"]].astype(np.float64) - real
        np.testing.assert_allclose(diff, np.clip(real + shift, 0.0, 1.0) - real, atol=1e-6)
        assert ok.mean() > 0.5
    assert seen >= 3


def test_evaluation_photos_are_held_out():
    import skimage.data

    with pytest.raises(HarnessError, match="held-out"):
        PerturbDataset(64, photos=("motorcycle_left", "astronaut"))
    ds = PerturbDataset(64)
    assert not set(ds.photos) & set(EVAL_PHOTOS)
    # No training photo is one of the evaluation pictures (compared with skimage's own copies).
    from harness.data.photos import train_photo

    evals = [skimage.data.astronaut(), skimage.data.coffee(), skimage.data.chelsea(), skimage.data.rocket()]
    for name in ds.photos:
        p = train_photo(name)
        assert not any(e.shape == p.shape and np.array_equal(e, p) for e in evals)


def test_batches_split_the_global_batch_between_ranks():
    world, batch = 3, 4
    for step in (0, 5):
        shares = [batch_indices(step, r, world, batch, 10**6, seed=0, shuffle=False) for r in range(world)]
        flat = sorted(i for s in shares for i in s)
        assert flat == list(range(step * batch * world, (step + 1) * batch * world))
    # A finite suite: one epoch visits every sample exactly once, in a seeded order.
    n = 12
    epoch = [i for step in range(2) for r in range(2) for i in batch_indices(step, r, 2, 3, n, 0, True)]
    assert sorted(epoch) == list(range(n)) and epoch != list(range(n))


def test_suite_dataset_stage1_uses_the_whole_background(tmp_path):
    from tests.helpers import write_folder_suite

    arrays = write_folder_suite(tmp_path, n=2, size=(64, 64))
    s1, s2 = SuiteDataset("folder", str(tmp_path), 32, stage=1), SuiteDataset("folder", str(tmp_path), 32, 2)
    it1, it2 = s1[0], s2[0]
    np.testing.assert_allclose(it1["ref_mask"].numpy(), 1.0 - it1["fg_mask"].numpy())
    # Stage 2 keeps the suite's reference region: the bottom quarter, area-resized 64 → 32 by 2×2 means.
    ref = arrays["img00"]["ref"].astype(np.float64) / 255.0
    expected = ref.reshape(32, 2, 32, 2).mean(axis=(1, 3))
    np.testing.assert_allclose(it2["ref_mask"].numpy()[0], expected, atol=1e-6)
    assert it1["composite"].shape == (3, 32, 32)
