import numpy as np

from studies.multiple_testing import holm


def test_holm_hand_computed():
    # p sorted: 0.01, 0.02, 0.03, 0.04 with m=4 → 0.04, 0.06, 0.06 (monotone), 0.06
    p = [0.03, 0.01, 0.04, 0.02]
    np.testing.assert_allclose(holm(p), [0.06, 0.04, 0.06, 0.06])


def test_holm_caps_at_one_and_keeps_nan():
    out = holm([0.5, np.nan, 0.9])
    assert out[1] != out[1]
    np.testing.assert_allclose(out[[0, 2]], [1.0, 1.0])
