"""`harness score --protocol bcmi|idih` on an iHarmony4-layout tree written by hand equals independent ports of
the peers' scripts (tests/peer_oracles.py, cited there by repository and file) per image; predictions are
found under the harness's and the official scripts' names, at full size or 256²; per-subset rows and the
"All" row; the peers' arithmetic checked by hand on images built for it."""

import json

import numpy as np
import pytest
from PIL import Image

from harness.cli import main
from tests.helpers import write_iharmony4_tree
from tests.peer_oracles import bcmi_evaluation, idih_evaluation
from tests.processes import one_line_error

# Where each sample's prediction is written: (file name relative to PRED_DIR, at 256²?). All four naming
# ways of harness/data/predictions.py and both sizes appear; the JPEG is what Dove-Net's test.py writes.
LAYOUT = {
    "HCOCO/c1_1_1": ("HCOCO__c1_1_1.png", False),   # harness name, full size
    "HCOCO/c2_4_2": ("c2_4_2.jpg", True),           # official flat name, the model's 256² output, JPEG
    "HFlickr/f9_2_1": ("HFlickr/f9_2_1.png", False),  # one folder per subset, full size
    "Hday2night/d3_1_1": ("d3_1_1.png", True),      # official flat name, 256², dark scene
}


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    root = tmp_path_factory.mktemp("iharmony4")
    files = write_iharmony4_tree(root / "data")
    rng = np.random.default_rng(3)
    for sid, f in files.items():
        comp = np.asarray(Image.open(f["composite"])).astype(float)
        real = np.asarray(Image.open(f["real"])).astype(float)
        soft = np.asarray(Image.open(f["mask"]))[..., :1] / 255.0
        # a plausible harmonization: halfway back to the truth inside the mask, plus noise
        pred = comp + soft * (0.5 * (real - comp) + rng.normal(0, 6, comp.shape))
        pred = np.clip(np.rint(pred), 0, 255).astype(np.uint8)
        name, small = LAYOUT[sid]
        img = Image.fromarray(pred)
        if small:
            img = img.resize((256, 256), Image.Resampling.BILINEAR)  # the model's own working size
        path = root / "preds" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        img.save(path, quality=95) if path.suffix == ".jpg" else img.save(path)
        f["pred"] = path
    return root, files


def _score(capsys, root, *extra):
    assert main(["score", "--suite", "iharmony4", "--data-root", str(root / "data"), "--pred-dir",
                 str(root / "preds"), "--json", "--bootstrap", "300", *extra]) == 0
    return json.loads(capsys.readouterr().out)


@pytest.mark.parametrize("protocol, oracle, rel", [("bcmi", bcmi_evaluation, 1e-9),
                                                   ("idih", idih_evaluation, 2e-6)])
def test_peer_protocol_equals_the_script_per_image(tree, capsys, protocol, oracle, rel):
    """The issue asks for 1e-3 relative; bcmi's numbers are exact (integer squared differences), iDIH's
    oracle sums in float32 as its torch code does."""
    root, files = tree
    out = _score(capsys, root, "--protocol", protocol)
    assert out["protocol"] == f"{protocol}:256" and out["n"] == 4
    assert [r["id"] for r in out["per_image"]] == list(files)
    for row in out["per_image"]:
        f = files[row["id"]]
        expected = oracle(f["pred"], f["real"], f["mask"])
        for k in ("mse", "fmse", "psnr"):
            assert row[k] == pytest.approx(expected[k], rel=rel), (row["id"], k)
        assert row["fpsnr"] == pytest.approx(10 * np.log10(255**2 / expected["fmse"]), rel=rel)
        assert row["subset"] == f["subset"]


def test_the_protocols_differ_where_the_issue_says(tree, capsys):
    """Same files, three protocols: bcmi's dark-image PSNR is far below the others (its peak is the
    prediction's range, ≈ 50 here, not 255); iDIH's soft-mask fMSE differs from bcmi's dithered one."""
    root, _ = tree
    rows = {p: {r["id"]: r for r in _score(capsys, root, "--protocol", p, "--resolution", "256")["per_image"]}
            for p in ("harness", "bcmi", "idih")}
    dark = "Hday2night/d3_1_1"
    assert rows["bcmi"][dark]["psnr"] < rows["harness"][dark]["psnr"] - 10
    assert rows["idih"][dark]["psnr"] < rows["harness"][dark]["psnr"] - 10  # peak = truth's max ≈ 51
    for sid in rows["bcmi"]:
        assert rows["bcmi"][sid]["fmse"] != pytest.approx(rows["idih"][sid]["fmse"], rel=1e-4)


def test_per_subset_rows_and_the_all_row(tree, capsys):
    root, files = tree
    out = _score(capsys, root, "--protocol", "bcmi")
    subsets = out["subsets"]
    assert list(subsets) == ["HCOCO", "HFlickr", "Hday2night", "All"]
    oracle = {sid: bcmi_evaluation(f["pred"], f["real"], f["mask"]) for sid, f in files.items()}
    for name, entry in subsets.items():
        ids = [sid for sid, f in files.items() if name == "All" or f["subset"] == name]
        assert entry["n"] == len(ids)
        for k in ("mse", "fmse", "psnr"):
            values = [oracle[sid][k] for sid in ids]
            assert entry["mean"][k] == pytest.approx(np.mean(values), rel=1e-9), (name, k)
            lo, hi = entry["ci95"][k]
            assert min(values) - 1e-9 <= lo <= entry["mean"][k] <= hi <= max(values) + 1e-9
            if len(ids) == 1:
                assert lo == hi == pytest.approx(values[0])
    assert subsets["All"]["mean"] == pytest.approx(out["mean"])
    # the terminal table: one column per subset and All, with the image counts
    assert main(["score", "--suite", "iharmony4", "--data-root", str(root / "data"), "--pred-dir",
                 str(root / "preds"), "--protocol", "bcmi", "--bootstrap", "100"]) == 0
    text = capsys.readouterr().out
    assert "protocol bcmi:256" in text.splitlines()[0]
    header = next(line for line in text.split("per subset", 1)[1].splitlines() if line.startswith("metric"))
    assert header.split() == ["metric", "HCOCO", "(n=2)", "HFlickr", "(n=1)", "Hday2night", "(n=1)", "All", "(n=4)"]


def test_harness_256_scores_a_256_prediction_without_resampling_it(tree, capsys):
    """The 256² file is compared as it is with the truth resized the harness's way (float bicubic, area mask
    thresholded at 0.5); resampling it up to full size and down again would change the numbers."""
    root, files = tree
    rows = {r["id"]: r for r in _score(capsys, root, "--resolution", "256")["per_image"]}
    f = files["HCOCO/c2_4_2"]
    pred = np.asarray(Image.open(f["pred"]), dtype=np.float64) / 255
    real8 = np.asarray(Image.open(f["real"]))
    real = np.stack([np.asarray(Image.fromarray(real8[..., c].astype(np.float32) / 255, mode="F")
                                .resize((256, 256), Image.Resampling.BICUBIC)) for c in range(3)], -1)
    real = np.clip(real, 0, 1).astype(np.float64)
    mask8 = np.asarray(Image.open(f["mask"]))[..., 0]
    area = np.asarray(Image.fromarray((mask8 > 127).astype(np.float32), mode="F")
                      .resize((256, 256), Image.Resampling.BOX))
    sq = ((pred - real) * 255) ** 2
    fg = area > 0.5
    assert rows["HCOCO/c2_4_2"]["mse"] == pytest.approx(sq.mean(), rel=1e-5)
    assert rows["HCOCO/c2_4_2"]["fmse"] == pytest.approx(sq[fg].sum() / (3 * fg.sum()), rel=1e-5)


def test_full_resolution_refuses_a_256_prediction_and_says_what_to_do(tree, capsys):
    root, _ = tree
    code = main(["score", "--suite", "iharmony4", "--data-root", str(root / "data"), "--pred-dir",
                 str(root / "preds")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and "Traceback" not in err
    assert "c2_4_2.jpg" in err and "256×256" in err and "280×300" in err and "--resolution 256" in err


# ------------------------------------------------------------------------ the peers' arithmetic, by hand
def _sample(real8, mask8):
    from harness.data.sample import Sample

    comp = real8.astype(np.float32) / 255
    fg = (mask8 > 127).astype(np.float32)
    return Sample("x", comp, fg, 1 - fg, comp, {"source": "test"}, fg_mask_file=mask8)


def test_psnr_peaks_and_fmse_weights_by_hand():
    """A dark 256² image (all 20) and a prediction 20 levels too bright on a 16×16 block inside a 64×64
    foreground: Σ diff² = 16·16·3·400 = 307200 over 256·256·3 values → mse = 1.5625; fmse = 307200 /
    (3·4096) = 25. Peaks: bcmi = the prediction's range (40 − 20 = 20), iDIH = the truth's max (20) with +1e-6,
    harness = 255."""
    from harness.scoring.score import score_prediction

    real8 = np.full((256, 256, 3), 20, np.uint8)
    pred8 = real8.copy()
    pred8[100:116, 100:116] = 40
    mask8 = np.zeros((256, 256), np.uint8)
    mask8[80:144, 80:144] = 255
    s = _sample(real8, mask8)
    bcmi = score_prediction(pred8, s, protocol="bcmi")
    idih = score_prediction(pred8, s, protocol="idih")
    ours = score_prediction(pred8, s, "native")
    assert bcmi["mse"] == idih["mse"] == 1.5625 and bcmi["fmse"] == 25.0
    # the harness scores float32 images in [0, 1]: k/255 is rounded to float32, hence ~1e-7
    assert ours["mse"] == pytest.approx(1.5625, rel=1e-6) and ours["fmse"] == pytest.approx(25.0, rel=1e-6)
    assert idih["fmse"] == pytest.approx(307200 / (3 * 4096 + 1e-6), rel=1e-12)
    assert bcmi["psnr"] == pytest.approx(10 * np.log10(20**2 / 1.5625), rel=1e-12)  # 24.08 dB
    assert idih["psnr"] == pytest.approx(10 * np.log10(20**2 / (1.5625 + 1e-6)), rel=1e-12)
    assert ours["psnr"] == pytest.approx(10 * np.log10(255**2 / 1.5625), rel=1e-7)  # 46.19 dB
    # a perfect prediction: bcmi divides by zero (inf, as numpy does in the script; 0/0 = NaN when the
    # prediction is also flat, range 0); iDIH's +1e-6 keeps it finite
    perfect = _sample(pred8, mask8)
    assert score_prediction(pred8, perfect, protocol="bcmi")["psnr"] == np.inf
    assert np.isnan(score_prediction(real8, s, protocol="bcmi")["psnr"])
    assert score_prediction(pred8, perfect, protocol="idih")["psnr"] == pytest.approx(10 * np.log10(40**2 / 1e-6))


def test_idih_weights_by_the_soft_mask_and_bcmi_dithers_it():
    """Mask 255 on block A (diff 20), 102 (= 0.4) on block B (diff 10): iDIH's fMSE = (Σ_A 3·400 + 0.4·Σ_B
    3·100) / (3·(|A| + 0.4·|B|) + 1e-6). bcmi's mode '1' turns B into a Floyd–Steinberg dot pattern with
    ≈ 40 % of the pixels on — neither all of B (a threshold at 127 would drop B) nor none."""
    from harness.scoring.peers import bcmi_inputs
    from harness.scoring.score import score_prediction

    real8 = np.full((256, 256, 3), 100, np.uint8)
    pred8 = real8.copy()
    mask8 = np.zeros((256, 256), np.uint8)
    mask8[0:40, 0:50], pred8[0:40, 0:50] = 255, 120          # A: 2000 pixels
    mask8[100:150, 100:200], pred8[100:150, 100:200] = 102, 110  # B: 5000 pixels
    idih = score_prediction(pred8, _sample(real8, mask8), protocol="idih")
    w = np.float32(102) / np.float32(255)
    expected = (2000 * 3 * 400 + float(w) * 5000 * 3 * 100) / (3 * (2000 + float(w) * 5000) + 1e-6)
    assert idih["fmse"] == pytest.approx(expected, rel=1e-9)
    _, _, m = bcmi_inputs(pred8, real8, mask8)
    assert m[0:40, 0:50].all() and m[:100, 50:].sum() == 0
    assert 0.35 < m[100:150, 100:200].mean() < 0.45


# ------------------------------------------------------------------------------------------ bad input
def test_contradictory_protocol_and_resolution(tree, capsys):
    root, _ = tree
    one_line_error(capsys, ["score", "--suite", "iharmony4", "--data-root", str(root / "data"), "--pred-dir",
                            str(root / "preds"), "--protocol", "bcmi", "--resolution", "native"],
                   "--protocol bcmi", "256×256", "--resolution native")


def test_ambiguous_misnamed_and_misfit_predictions(tmp_path, capsys):
    files = write_iharmony4_tree(tmp_path / "data")
    preds = tmp_path / "preds"
    for sid, f in files.items():
        (preds / f["subset"]).mkdir(parents=True, exist_ok=True)
        Image.open(f["composite"]).save(preds / f"{sid.replace('/', '__')}.png")
    argv = ["score", "--suite", "iharmony4", "--data-root", str(tmp_path / "data"), "--pred-dir", str(preds),
            "--protocol", "idih"]
    Image.open(files["HFlickr/f9_2_1"]["composite"]).save(preds / "HFlickr" / "f9_2_1.jpg")
    one_line_error(capsys, argv, "HFlickr/f9_2_1", "more than one prediction", "f9_2_1.jpg", "HFlickr__f9_2_1.png")
    (preds / "HFlickr" / "f9_2_1.jpg").unlink()
    Image.fromarray(np.zeros((100, 100, 3), np.uint8)).save(preds / "HCOCO__c1_1_1.png")
    one_line_error(capsys, argv, "HCOCO__c1_1_1.png", "100×100", "90×120", "256×256")
    (preds / "HCOCO__c1_1_1.png").unlink()
    one_line_error(capsys, argv, "HCOCO__c1_1_1.png", "no prediction for sample 'HCOCO/c1_1_1'")


def test_a_mask_file_with_differing_channels_is_read_as_each_script_reads_it(tmp_path):
    """iDIH takes channel 0 of cv2.imread's BGR array — the blue channel; bcmi's convert('1') dithers the
    luma (0.299 R + 0.587 G + 0.114 B). Checked against cv2.imread and PIL on the written file itself."""
    import cv2

    from harness.data.io import read_mask_channels
    from harness.scoring.peers import bcmi_inputs, idih_inputs

    mask = np.zeros((64, 64, 3), np.uint8)
    mask[8:40, 8:40, 0] = 255   # red only: luma 76 → dithered to ~30 % on
    mask[20:60, 30:60, 2] = 200  # blue only
    Image.fromarray(mask).save(tmp_path / "m.png")
    raw = read_mask_channels(tmp_path / "m.png")
    img8 = np.full((64, 64, 3), 50, np.uint8)
    _, _, soft = idih_inputs(img8, img8, raw)
    expected = cv2.resize(cv2.imread(str(tmp_path / "m.png"))[:, :, 0].astype(np.float32) / 255., (256, 256),
                          interpolation=cv2.INTER_LINEAR)
    np.testing.assert_array_equal(soft, expected)
    _, _, binary = bcmi_inputs(img8, img8, raw)
    one_bit = Image.open(tmp_path / "m.png").convert("1").resize((256, 256), Image.Resampling.NEAREST)
    np.testing.assert_array_equal(binary, np.asarray(one_bit, dtype=np.uint8))
