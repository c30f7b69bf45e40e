"""Methods from outside the project: a tiny package written into tmp_path and put on PYTHONPATH, used as
`--methods package.module:attr[:options]` and through the `harness.methods` entry-point group."""

import numpy as np
import pytest

from harness.data.suites import load_spec, open_suite
from harness.scoring.oracle import oracle_scores
from tests.processes import harness_json, run_harness

pytestmark = pytest.mark.slow

PLUGIN = '''
import numpy as np


class MeanShift:
    """Move the foreground's mean colour `strength` of the way to the reference region's."""

    uses_reference = True
    resolution = None

    def __init__(self, strength="1.0"):
        self.strength = float(strength)

    def harmonize(self, sample):
        fg, ref = sample.fg_mask > 0.5, sample.ref_mask > 0.5
        shift = self.strength * (sample.composite[ref].mean(axis=0) - sample.composite[fg].mean(axis=0))
        out = sample.composite.copy()
        out[fg] = np.clip(out[fg] + shift, 0.0, 1.0)
        return out


class WrongShape:
    uses_reference = False

    def harmonize(self, sample):
        return sample.composite[:-1]
'''


@pytest.fixture(scope="module")
def plugin_path(tmp_path_factory):
    root = tmp_path_factory.mktemp("plugins")
    (root / "myharm").mkdir()
    (root / "myharm" / "__init__.py").write_text("")
    (root / "myharm" / "methods.py").write_text(PLUGIN)
    dist = root / "myharm-0.1.dist-info"  # what `pip install` of a package declaring the entry point leaves
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: myharm\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[harness.methods]\nmean-shift = myharm.methods:MeanShift\n")
    return root


def _expected(sample, strength: float) -> np.ndarray:
    fg, ref = sample.fg, sample.ref
    out = sample.composite.astype(np.float64).copy()
    out[fg] = np.clip(out[fg] + strength * (out[ref].mean(axis=0) - out[fg].mean(axis=0)), 0, 1)
    return np.rint(out * 255) / 255  # the engine scores the 8-bit result


def test_outside_methods_by_module_path_and_by_entry_point(plugin_path, tmp_path):
    listed = harness_json("list", "methods", "--json", path=[plugin_path])["methods"]
    entry = next(m for m in listed if m["name"] == "mean-shift")
    assert entry["kind"] == "external" and "myharm.methods:MeanShift" in entry["description"]

    res = harness_json("run-benchmark", "--suite", "sample", "--limit", "2", "--methods",
                       "mean-shift,myharm.methods:MeanShift:strength=0.5", "--no-mlflow", "--json", "--num-cpus", "2",
                       "--bootstrap", "50", "--cache-dir", str(tmp_path / "cache"), path=[plugin_path])
    assert list(res["methods"]) == ["mean-shift", "myharm.methods:MeanShift:strength=0.5"]
    for row in res["per_image"]:
        s = load_spec(next(sp for sp in open_suite("sample", limit=2).specs if sp.id == row["id"]))
        strength = 1.0 if row["method"] == "mean-shift" else 0.5
        expected = oracle_scores(_expected(s, strength), s.real.astype(np.float64), s.fg_mask)
        assert row["fmse"] == pytest.approx(expected["fmse"], rel=1e-6)
        assert row["fde2000"] == pytest.approx(expected["fde2000"], rel=1e-5)


@pytest.mark.parametrize("spec, words", [
    ("myharm.methods:WrongShape", ["method myharm.methods:WrongShape", "returned shape"]),
    ("myharm.nothere:X", ["no module named 'myharm.nothere'"]),
    ("myharm.methods:MeanShfit", ["Did you mean: MeanShift"]),
    ("myharm.methods:MeanShift:power=2", ["method 'myharm.methods:MeanShift:power=2'", "unexpected keyword "
                                                                                     "argument 'power'"]),
])
def test_a_broken_outside_method_is_one_line(plugin_path, tmp_path, spec, words):
    proc = run_harness("run-benchmark", "--suite", "sample", "--limit", "1", "--methods", spec, "--no-mlflow",
                       "--num-cpus", "1", "--no-progress", "--cache-dir", str(tmp_path / "cache"), path=[plugin_path])
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr, proc.stderr
    for w in words:
        assert w in proc.stderr
