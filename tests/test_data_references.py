"""--reference auto: the most salient background object, disjoint from the foreground, else the background."""

import numpy as np
import pytest

from harness.errors import InputError
from harness.data.references import auto_reference


def _scene(seed=0, h=120, w=160):
    rng = np.random.default_rng(seed)
    img = np.clip(0.5 + 0.03 * rng.standard_normal((h, w, 3)), 0, 1)  # textured grey background
    yy, xx = np.mgrid[:h, :w]
    disk = (yy - 80) ** 2 + (xx - 115) ** 2 <= 22 ** 2  # the salient object: a red disk
    img[disk] = [0.85, 0.15, 0.1]
    fg = np.zeros((h, w), np.float32)
    fg[20:70, 15:60] = 1.0
    img[fg > 0.5] = [0.2, 0.6, 0.9]  # a pasted foreground, itself very different: must not be picked
    return img.astype(np.float32), fg, disk


def test_finds_the_salient_object_and_avoids_the_foreground():
    img, fg, disk = _scene()
    ref = auto_reference(img, fg)
    assert ref.shape == fg.shape and ref.dtype == np.float32 and set(np.unique(ref)) <= {0.0, 1.0}
    inside = ref > 0.5
    assert inside.any() and not (inside & (fg > 0.5)).any()
    iou = (inside & disk).sum() / (inside | disk).sum()
    assert iou > 0.8, iou


def test_uint8_input_gives_the_same_region():
    img, fg, _ = _scene()
    ref = auto_reference(img, fg)
    ref8 = auto_reference((img * 255).round().astype(np.uint8), (fg * 255).astype(np.uint8))
    assert (ref != ref8).mean() < 0.01


def test_flat_background_falls_back_to_the_whole_background():
    img = np.full((60, 80, 3), 0.4, np.float32)
    fg = np.zeros((60, 80), np.float32)
    fg[10:30, 10:40] = 1.0
    img[fg > 0.5] = [0.9, 0.1, 0.1]
    np.testing.assert_array_equal(auto_reference(img, fg), (fg <= 0.5).astype(np.float32))


def test_bad_input_is_a_user_error():
    with pytest.raises(InputError, match="H×W×3"):
        auto_reference(np.zeros((10, 10)), np.zeros((10, 10)))
    with pytest.raises(InputError, match="whole image"):
        auto_reference(np.zeros((10, 10, 3)), np.ones((10, 10)))
