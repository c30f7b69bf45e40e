"""iDIH's other resize strategies: `--protocol idih --resolution 512` (evaluate_model.py --resize-strategy
Fixed512) and `--resolution longest1024` (LimitLongest1024) equal the independent port of the script
(tests/peer_oracles.py) per image — predictions saved at the sample's size or at the working size; the sizes
(half-to-even rounding, the longest side exactly 1024, below it) against the port; run-benchmark gives every
method the ≤ 1024 image and scores its raw output; protocol keys of their own; the flags' one-line errors."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from harness.cli import main
from tests.helpers import write_iharmony4_tree
from tests.peer_oracles import idih_evaluation, resize_strategy
from tests.processes import one_line_error

STRATEGIES = {"512": "Fixed512", "longest1024": "LimitLongest1024"}
# sizes across the strategies' edges: longest side above 1024 (→ 751×1024 under LimitLongest1024), exactly
# 1024 (unchanged), below it (unchanged; enlarged to 512² by Fixed512)
SAMPLES = {
    "HAdobe5k": [("a1_1_1", (1100, 1500), False)],
    "HFlickr": [("f2_1_1", (640, 1024), False)],
    "HCOCO": [("c3_2_1", (300, 280), False)],
}


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    """Predictions at the sample's size (full/) and at each strategy's working size, made by the port's own
    resize (<strategy>/)."""
    root = tmp_path_factory.mktemp("iharmony4_full")
    files = write_iharmony4_tree(root / "data", seed=5, samples=SAMPLES)
    rng = np.random.default_rng(8)
    for sid, f in files.items():
        comp = np.asarray(Image.open(f["composite"])).astype(float)
        real = np.asarray(Image.open(f["real"])).astype(float)
        soft = np.asarray(Image.open(f["mask"]))[..., :1] / 255.0
        pred = comp + soft * (0.6 * (real - comp) + rng.normal(0, 5, comp.shape))
        pred = np.clip(np.rint(pred), 0, 255).astype(np.uint8)
        name = f"{sid.replace('/', '__')}.png"
        for folder, arr in [("full", pred)] + [(s, resize_strategy(pred, s)) for s in STRATEGIES.values()]:
            (root / folder).mkdir(exist_ok=True)
            Image.fromarray(arr).save(root / folder / name)
    return root, files


def _score(capsys, root, preds, resolution):
    assert main(["score", "--suite", "iharmony4", "--data-root", str(root / "data"), "--pred-dir",
                 str(root / preds), "--protocol", "idih", "--resolution", resolution, "--json",
                 "--bootstrap", "50"]) == 0
    return json.loads(capsys.readouterr().out)


@pytest.mark.parametrize("resolution", list(STRATEGIES))
@pytest.mark.parametrize("saved_at", ["full", "working"])
def test_idih_full_resolution_strategies_equal_the_script_per_image(tree, capsys, resolution, saved_at):
    root, files = tree
    strategy = STRATEGIES[resolution]
    out = _score(capsys, root, "full" if saved_at == "full" else strategy, resolution)
    assert out["protocol"] == f"idih:{resolution}" and out["n"] == len(files)
    for row in out["per_image"]:
        f = files[row["id"]]
        pred = root / ("full" if saved_at == "full" else strategy) / f"{row['id'].replace('/', '__')}.png"
        expected = idih_evaluation(pred, f["real"], f["mask"], strategy)
        for k in ("mse", "fmse", "psnr"):
            assert row[k] == pytest.approx(expected[k], rel=2e-6), (row["id"], k)


def test_working_sizes_against_the_port():
    """Each strategy's output size, the port's against the harness's, on arrays only: a 1025×2048 image is
    1024·1025/2048 = 512.5 high → 512 (half to even; rounding half up would give 513); 1024 wide exactly and
    1023 stay; 300×280 goes to 512² under Fixed512 and stays under LimitLongest1024."""
    from harness.scoring.peers import idih_inputs
    from harness.scoring.protocols import working_size

    for hw in [(1025, 2048), (3000, 1999), (1024, 700), (700, 1023), (300, 280), (1100, 1500)]:
        img = np.zeros((*hw, 3), np.uint8)
        mask = np.zeros(hw, np.uint8)
        for resolution, strategy in STRATEGIES.items():
            want = resize_strategy(img, strategy).shape[:2]
            assert working_size(resolution, hw) == want, (hw, strategy)
            pred, real, m = idih_inputs(img, img, mask, resolution)
            assert pred.shape[:2] == real.shape[:2] == m.shape == want
    assert working_size("longest1024", (1025, 2048)) == (512, 1024)
    assert working_size("longest1024", (1100, 1500)) == (751, 1024)


def test_soft_mask_and_bilinear_values_at_longest1024(tree):
    """The harness's arrays equal the port's dataset arrays (cv2 8-bit bilinear; the soft float mask resized
    bilinearly too, not nearest) on the 1100×1500 sample."""
    from harness.data.io import read_mask_channels, read_rgb
    from harness.scoring.peers import idih_inputs
    from tests.peer_oracles import idih_arrays

    _, files = tree
    f = files["HAdobe5k/a1_1_1"]
    real8 = np.asarray(Image.open(f["real"]).convert("RGB"))
    _, real, soft = idih_inputs(real8, real8, read_mask_channels(f["mask"]), "longest1024")
    target, mask = idih_arrays(f["real"], f["mask"], "LimitLongest1024")
    assert real.shape == (751, 1024, 3)
    np.testing.assert_array_equal(real, target.astype(np.float32))
    np.testing.assert_array_equal(soft, mask)
    assert 0 < ((soft > 0) & (soft < 1)).mean() and read_rgb(f["real"]).shape == (1100, 1500, 3)


class NativeSpy:
    """A method at the sample's own resolution that returns what it was given and remembers it."""

    uses_reference = True
    resolution = None
    seen: list = []

    def harmonize(self, sample):
        NativeSpy.seen.append(sample)
        return sample.composite


def test_longest1024_gives_every_method_the_limited_image_and_scores_its_raw_output(tree, tmp_path):
    """As evaluate_model.py feeds every model the LimitLongest1024 image: a native method sees 751×1024 (the
    composite as cv2 resizes it), its output is scored at that size, equal to the port on the saved PNG."""
    import cv2

    from harness.data.suites import open_suite
    from harness.engine.worker import run_unit
    from harness.methods.spec import MethodSpec

    root, files = tree
    suite = open_suite("iharmony4", str(root / "data"))
    spy = MethodSpec.parse("tests.test_protocols_full_resolution:NativeSpy")
    spec = next(s for s in suite.specs if s.id == "HAdobe5k/a1_1_1")
    f = files[spec.id]
    [res] = run_unit(spec, [(spy, "k", True)], {"protocol": "idih:longest1024", "reference": "given"},
                     lambda s: NativeSpy())
    given = NativeSpy.seen[-1]
    comp8 = cv2.cvtColor(cv2.imread(str(f["composite"])), cv2.COLOR_BGR2RGB)
    want = cv2.resize(comp8, (1024, 751), interpolation=cv2.INTER_LINEAR)
    np.testing.assert_array_equal(np.rint(given.composite * 255).astype(np.uint8), want)
    pred = tmp_path / "out.png"
    pred.write_bytes(res["png"])
    assert Image.open(pred).size == (1024, 751)
    expected = idih_evaluation(pred, f["real"], f["mask"], "LimitLongest1024")
    for k in ("mse", "fmse", "psnr"):
        assert res["row"][k] == pytest.approx(expected[k], rel=2e-6), k


def test_the_protocol_keys_and_the_flags_errors(tree, capsys):
    from harness.config.evaluation import ScoreConfig
    from harness.engine.cache import row_key

    keys = {r: ScoreConfig(suite="sample", pred_dir=".", protocol="idih", resolution=r).protocol_key
            for r in ("256", "512", "longest1024")}
    assert keys == {"256": "idih:256", "512": "idih:512", "longest1024": "idih:longest1024"}
    assert len({row_key("id", "s", "m", "f", k, "given") for k in keys.values()}) == 3
    root, _ = tree
    argv = ["score", "--suite", "iharmony4", "--data-root", str(root / "data"), "--pred-dir", str(root / "full")]
    one_line_error(capsys, argv + ["--protocol", "idih", "--resolution", "1024"],
                   "LimitLongest1024", "--resolution longest1024", "not 1024²")
    one_line_error(capsys, argv + ["--protocol", "bcmi", "--resolution", "512"],
                   "--protocol bcmi", "256×256", "applies to --protocol idih only")
    one_line_error(capsys, argv + ["--protocol", "harness", "--resolution", "longest1024"],
                   "--protocol harness", "applies to --protocol idih only")
    # a prediction at neither the sample's size nor the working size: the 300×280 sample takes its own size
    one_line_error(capsys, ["score", "--suite", "iharmony4", "--data-root", str(root / "data"), "--pred-dir",
                            str(root / "Fixed512"), "--protocol", "idih", "--resolution", "longest1024"],
                   "HCOCO__c3_2_1.png", "512×512", "idih:longest1024 takes 280×300)")
