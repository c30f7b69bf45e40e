import re

import numpy as np
import pytest

from harness.data.sample import Sample
from harness.errors import InputError


def _arrays(h=8, w=10):
    comp = np.full((h, w, 3), 0.5, np.float32)
    fg = np.zeros((h, w), np.float32)
    fg[2:5, 2:6] = 1
    ref = np.zeros((h, w), np.float32)
    ref[6:, :] = 1
    return comp, fg, ref


def test_uint8_and_bool_inputs_are_normalised():
    comp, fg, ref = _arrays()
    s = Sample("a", (comp * 255).astype(np.uint8), fg > 0.5, ref, None)
    assert s.composite.dtype == np.float32 and s.composite.max() == pytest.approx(127 / 255, abs=1e-6)
    assert s.fg_mask.dtype == np.float32 and s.fg.sum() == 12
    assert s.fg_ratio == pytest.approx(12 / 80)
    assert s.meta["original_size"] == (8, 10)


@pytest.mark.parametrize("break_it, message", [
    (lambda c, f, r: (c, f[:, :9], r), "foreground mask is 9×8 but the composite is 10×8"),
    (lambda c, f, r: (c, f * 0, r), "foreground mask is empty"),
    (lambda c, f, r: (c, f * 0 + 1, r), "covers the whole image"),
    (lambda c, f, r: (c, f, r * 0), "reference mask is empty"),
    (lambda c, f, r: (c[..., :1], f, r), "must be H×W×3 RGB"),
    (lambda c, f, r: (c * 3, f, r), "in [0, 1]"),
])
def test_invalid_samples_are_refused_with_a_clear_message(break_it, message):
    comp, fg, ref = break_it(*_arrays())
    with pytest.raises(InputError, match=re.escape(message)) as info:
        Sample("s1", comp, fg, ref)
    assert str(info.value).startswith("s1:")


def test_soft_mask_threshold_is_strictly_above_half():
    comp, fg, ref = _arrays()
    fg = fg * 0.5
    fg[0, 0] = 0.51
    assert Sample("a", comp, fg, ref).fg.sum() == 1


def test_user_errors_survive_pickling():
    import pickle

    from harness.errors import UnknownNameError

    e = pickle.loads(pickle.dumps(InputError("a/b.png", "broken")))
    assert isinstance(e, InputError) and str(e) == "a/b.png: broken"
    u = pickle.loads(pickle.dumps(UnknownNameError("suite", "sampel", ["sample"])))
    assert "Did you mean: sample" in str(u)
