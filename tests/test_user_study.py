"""The study builder's Python API (harness.user_study), without the CLI: a run-benchmark --out folder written
by hand here (PIL PNGs and a per_image.csv, not the harness's writer) becomes a study that shows exactly those
files, on the images the documented seed rule picks; a hole in the predictions is one InputError naming it."""

from __future__ import annotations

import csv
import json
import random
import sqlite3
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image
from PIL.PngImagePlugin import PngInfo

from harness.config import CollectConfig
from harness.errors import InputError
from harness.user_study import build_study, study_of
from tests.helpers import write_folder_suite

METHODS = ("alpha", "beta", "gamma")
RUN_IDS = [f"img{i:02d}" for i in range(5)]  # the benchmark ran on the suite's first 5 of 6 samples


@pytest.fixture
def bench(tmp_path):
    """(suite root, hand-written --out folder, {(id, method): prediction path}, composites by id)."""
    root = tmp_path / "suite"
    arrays = write_folder_suite(root, n=6)
    out = tmp_path / "bench"
    rng = np.random.default_rng(1)
    tag = PngInfo()  # a text chunk and a compression level of our own: any re-encoding would change the bytes
    tag.add_text("written-by", "test_user_study")
    preds = {}
    for m in METHODS:
        (out / m).mkdir(parents=True)
        for sid in RUN_IDS:
            path = out / m / f"{sid}.png"
            Image.fromarray(rng.integers(0, 256, (48, 64, 3), dtype=np.uint8)).save(path, pnginfo=tag,
                                                                                     compress_level=1)
            preds[sid, m] = path
    with (out / "per_image.csv").open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["method", "id", "psnr"])
        for m in METHODS:
            w.writerows([m, sid, "30.0"] for sid in RUN_IDS)
    return root, out, preds, {sid: a["composite"] for sid, a in arrays.items()}


def _cfg(root, bench_dir, study, seed, images=3):
    return CollectConfig(out=str(study), run=str(bench_dir), suite="folder", data_root=str(root), images=images,
                         subjects=2, seed=seed)


@pytest.mark.parametrize("seed", [3, 5])
def test_build_study_shows_the_hand_written_files_on_the_seeded_sample(tmp_path, bench, seed):
    root, bench_dir, preds, composites = bench
    notes = []
    study = build_study(_cfg(root, bench_dir, tmp_path / "study", seed), notes.append)
    assert study == tmp_path / "study" and notes == []
    # the documented rule: positions random.Random(seed).sample(range(n), images) of the run's samples, in order
    expected = [RUN_IDS[k] for k in sorted(random.Random(seed).sample(range(len(RUN_IDS)), 3))]
    assert expected != RUN_IDS[:3]  # the seeds are chosen so that a "first N" sample would fail
    info = json.loads((study / "study.json").read_text())
    assert info["images"] == expected and info["methods"] == list(METHODS)
    assert info["source"]["kind"] == "benchmark-out" and info["source"]["out"] == str(bench_dir.resolve())
    with sqlite3.connect(study / "votes.db") as db:
        shown = db.execute("SELECT name, image, method FROM files").fetchall()
    assert sorted((i, m or "") for _, i, m in shown) == sorted((i, m) for i in expected for m in ("", *METHODS))
    for name, sid, method in shown:
        data = (study / "images" / name).read_bytes()
        if method is None:  # the composite, from the suite: the same pixels
            assert np.array_equal(np.asarray(Image.open(study / "images" / name)), composites[sid])
        else:  # a prediction: the very bytes written above, not a re-encoding
            assert data == preds[sid, method].read_bytes()
    # the same request again is a resume: the directory is returned untouched
    before = (study / "votes.db").read_bytes()
    assert build_study(_cfg(root, bench_dir, study, seed), notes.append) == study
    assert (study / "votes.db").read_bytes() == before
    # analyze-votes finds the study beside its votes.csv, and nothing beside any other CSV
    assert study_of(study / "votes.csv")["dir"] == str(study.resolve())
    assert study_of(bench_dir / "per_image.csv") is None


@pytest.mark.parametrize("missing", ["img00", "img03"])  # a sample not drawn for the study, and one drawn
def test_a_missing_prediction_is_one_input_error_naming_the_file(tmp_path, bench, missing):
    root, bench_dir, preds, _ = bench
    preds[missing, "beta"].unlink()
    with pytest.raises(InputError) as err:
        build_study(_cfg(root, bench_dir, tmp_path / "study", seed=3), print)
    assert err.value.where == str(bench_dir / "beta" / f"{missing}.png")
    assert "'beta'" in err.value.problem and f"'{missing}'" in err.value.problem
    assert "\n" not in str(err.value) and not (tmp_path / "study").exists()  # nothing half-built


def test_help_does_not_import_the_study_builder():
    """`harness --help` imports every command module; the builder (numpy, the data layer) waits for `run`."""
    probe = ("import contextlib, io, sys\nfrom harness.cli import main\n"
             "with contextlib.redirect_stdout(io.StringIO()):\n    main(['--help'])\n"
             "print('harness.user_study' in sys.modules, 'harness.commands.collect_votes' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "True"]
