"""`harness score` on a folder suite written by hand equals skimage / colour-science computed straight on the
files."""

import json
import shutil

import numpy as np
import pytest
from PIL import Image

from harness.cli import main
from harness.scoring.oracle import oracle_scores
from tests.helpers import write_folder_suite


def _oracle(pred8, real8, fg):
    scores = oracle_scores(pred8.astype(np.float64) / 255, real8.astype(np.float64) / 255, fg)
    return {**scores, "fg_ratio": fg.mean()}


@pytest.fixture()
def suite_and_preds(tmp_path):
    arrays = write_folder_suite(tmp_path / "suite", n=3, size=(64, 80))
    rng = np.random.default_rng(5)
    preds = {}
    (tmp_path / "preds").mkdir()
    for sid, a in arrays.items():
        pred = a["composite"].astype(int)
        fg = a["fg"] > 127
        pred[fg] = np.clip(pred[fg] - rng.integers(0, 40, (fg.sum(), 3)), 0, 255)
        preds[sid] = pred.astype(np.uint8)
        Image.fromarray(preds[sid]).save(tmp_path / "preds" / f"{sid}.png")
    return tmp_path, arrays, preds


def test_score_matches_the_libraries_on_hand_written_files(suite_and_preds, capsys):
    root, arrays, preds = suite_and_preds
    assert main(["score", "--suite", "folder", "--data-root", str(root / "suite"), "--pred-dir",
                 str(root / "preds"), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["n"] == 3 and out["suite"] == "folder"
    for row in out["per_image"]:
        a = arrays[row["id"]]
        expected = _oracle(preds[row["id"]], a["real"], a["fg"] > 127)
        for k, v in expected.items():
            assert row[k] == pytest.approx(v, rel=1e-5), k
    for k in ("fmse", "fde2000"):
        assert out["mean"][k] == pytest.approx(np.mean([r[k] for r in out["per_image"]]), rel=1e-12)


def test_identical_prediction_reports_inf_psnr_as_a_string(tmp_path, capsys):
    arrays = write_folder_suite(tmp_path / "suite", n=1)
    (tmp_path / "preds").mkdir()
    Image.fromarray(arrays["img00"]["real"]).save(tmp_path / "preds" / "img00.png")
    assert main(["score", "--suite", "folder", "--data-root", str(tmp_path / "suite"), "--pred-dir",
                 str(tmp_path / "preds"), "--json"]) == 0
    row = json.loads(capsys.readouterr().out)["per_image"][0]
    assert row["psnr"] == "inf" and row["fpsnr"] == "inf" and row["mse"] == 0 and row["fde2000"] == 0


def test_256_protocol_resizes_before_scoring(suite_and_preds, capsys):
    root, arrays, preds = suite_and_preds
    assert main(["score", "--suite", "folder", "--data-root", str(root / "suite"), "--pred-dir",
                 str(root / "preds"), "--json", "--resolution", "256"]) == 0
    row = json.loads(capsys.readouterr().out)["per_image"][0]

    def bicubic(img8):  # PIL bicubic per channel on float planes, as documented in harness/resize.py
        planes = [np.asarray(Image.fromarray(img8[..., c].astype(np.float32) / 255, mode="F")
                             .resize((256, 256), Image.Resampling.BICUBIC)) for c in range(3)]
        return np.clip(np.stack(planes, -1), 0, 1)

    a = arrays[row["id"]]
    p, q = bicubic(preds[row["id"]]), bicubic(a["real"])
    m = np.asarray(Image.fromarray((a["fg"] > 127).astype(np.float32), mode="F").resize((256, 256),
                                                                                        Image.Resampling.BILINEAR))
    fg = m > 0.5
    sq = ((p.astype(np.float64) - q) * 255) ** 2
    assert row["mse"] == pytest.approx(sq.mean(), rel=1e-5)
    assert row["fmse"] == pytest.approx(sq[fg].sum() / (3 * fg.sum()), rel=1e-5)


def test_missing_and_misfit_predictions(suite_and_preds, capsys):
    root, arrays, _ = suite_and_preds
    argv = ["score", "--suite", "folder", "--data-root", str(root / "suite"), "--pred-dir", str(root / "preds")]
    Image.fromarray(np.zeros((10, 10, 3), np.uint8)).save(root / "preds" / "img01.png")
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "img01.png" in err and "10×10" in err
    (root / "preds" / "img02.png").unlink()
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert "img02.png" in err and "no prediction" in err
    assert main(argv[:-2] + ["--pred-dir", str(root / "nowhere")]) == 2
    assert "not found" in capsys.readouterr().err


def _score(capsys, *argv):
    code = main(["score", *argv])
    printed = capsys.readouterr()
    return code, printed.out, printed.err.strip()


def test_a_limit_run_s_predictions_say_what_is_missing_and_score_with_limit_or_partial(suite_and_preds, capsys):
    """A folder holding only the suite's first N predictions (what `run-benchmark --limit N --out` writes): the
    error counts the missing ones and names --limit N and --partial; both then score exactly those N."""
    root, arrays, preds = suite_and_preds
    (root / "preds" / "img01.png").unlink()
    (root / "preds" / "img02.png").unlink()
    argv = ["--suite", "folder", "--data-root", str(root / "suite"), "--pred-dir", str(root / "preds")]
    code, out, err = _score(capsys, *argv)
    assert code == 2 and out == "" and len(err.splitlines()) == 1, err
    assert "img01.png: no prediction for sample 'img01'" in err and "2 of 3 samples have none" in err
    assert "pass --limit 1, or --partial" in err
    expected = _oracle(preds["img00"], arrays["img00"]["real"], arrays["img00"]["fg"] > 127)
    for extra in (["--limit", "1"], ["--partial"]):
        code, out, err = _score(capsys, *argv, *extra, "--json")
        doc = json.loads(out)
        assert code == 0 and doc["n"] == 1 and [r["id"] for r in doc["per_image"]] == ["img00"]
        assert doc["mean"]["fmse"] == pytest.approx(expected["fmse"], rel=1e-5)
        assert doc["missing"] == ([] if extra[0] == "--limit" else ["img01", "img02"])
        assert ("left out" in err) == (extra == ["--partial"]), err
    (root / "preds" / "img00.png").unlink()  # none at all: still one line, and --partial scores nothing
    code, out, err = _score(capsys, *argv, "--partial")
    assert code == 2 and "none of the 3 samples has one" in err and len(err.splitlines()) == 1


def test_a_run_benchmark_out_folder_scores_every_method_in_it(suite_and_preds, capsys):
    """`--pred-dir preds/` on run-benchmark's `--out` layout (preds/<method>/<id>.png, per_image.csv): every
    method folder scored, each as it is scored alone."""
    root, arrays, preds = suite_and_preds
    out_dir = root / "bench"
    shutil.copytree(root / "preds", out_dir / "mine")
    (out_dir / "truth").mkdir()
    for sid, a in arrays.items():
        Image.fromarray(a["real"]).save(out_dir / "truth" / f"{sid}.png")
    (out_dir / "per_image.csv").write_text("method,id\n")
    argv = ["--suite", "folder", "--data-root", str(root / "suite"), "--json"]
    code, out, _ = _score(capsys, *argv, "--pred-dir", str(out_dir))
    both = json.loads(out)
    assert code == 0 and list(both["methods"]) == ["mine", "truth"]
    code, out, _ = _score(capsys, *argv, "--pred-dir", str(root / "preds"))
    alone = json.loads(out)
    assert both["methods"]["mine"]["per_image"] == alone["per_image"]
    assert both["methods"]["truth"]["mean"]["mse"] == 0 and both["methods"]["truth"]["mean"]["fpsnr"] == "inf"
    code, text, _ = _score(capsys, *argv[:-1], "--pred-dir", str(out_dir))
    assert code == 0 and text.splitlines()[3].split() == ["metric", "mine", "truth"]


def test_the_terminal_table_has_the_json_s_cis(suite_and_preds, capsys):
    from harness.formatting import ci_cell

    root, _, _ = suite_and_preds
    argv = ["--suite", "folder", "--data-root", str(root / "suite"), "--pred-dir", str(root / "preds")]
    doc = json.loads(_score(capsys, *argv, "--json")[1])
    code, text, _ = _score(capsys, *argv)
    rows = {line.split()[0]: line for line in text.splitlines()[5:]}
    for metric in ("mse", "fmse", "fpsnr", "fde2000"):
        assert ci_cell(doc["mean"][metric], *doc["ci95"][metric]) in rows[metric], rows[metric]
        lo, hi = doc["ci95"][metric]
        assert lo < doc["mean"][metric] < hi
