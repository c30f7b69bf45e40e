"""`harness collect-votes` from the command line: every kind of bad input is one line and exit code 2, the
study directory appears whole or not at all, an existing study is resumed (never silently replaced)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from harness.cli import main
from tests.helpers import write_folder_suite
from tests.processes import one_line_error


@pytest.fixture
def suite(tmp_path):
    """A 3-image folder suite and prediction folders of three 'methods' (shifted composites)."""
    root = tmp_path / "suite"
    arrays = write_folder_suite(root, n=3)
    preds = {}
    for k, name in enumerate(("one", "two", "three")):
        d = tmp_path / "preds" / name
        d.mkdir(parents=True)
        for sid, a in arrays.items():
            Image.fromarray(np.clip(a["composite"].astype(int) - 10 * k, 0, 255).astype(np.uint8)).save(
                d / f"{sid}.png")
        preds[name] = d
    return root, preds


def _pred_dirs(preds, names=("one", "two", "three")):
    return ",".join(f"{n}={preds[n]}" for n in names)


def _base(root, out):
    return ["collect-votes", "--suite", "folder", "--data-root", str(root), "--images", "2", "--subjects", "2",
            "--out", str(out), "--no-serve"]


def test_builds_a_study(tmp_path, suite, capsys):
    root, preds = suite
    out = tmp_path / "study"
    assert main(_base(root, out) + ["--pred-dirs", _pred_dirs(preds), "--seed", "4"]) == 0
    info = json.loads((out / "study.json").read_text())
    assert info["methods"] == ["one", "two", "three"] and len(info["images"]) == 2
    assert info["trials_per_subject"] == 6 and info["repeats_per_subject"] == 1
    assert "token" not in (out / "study.json").read_text() and "secret" not in (out / "study.json").read_text()
    assert (out / "votes.db").stat().st_mode & 0o077 == 0  # the database holds the token: owner only
    assert (out / "votes.csv").read_text() == "subject,image,method_a,method_b,winner\n"
    names = sorted(p.name for p in (out / "images").iterdir())
    assert len(names) == 2 * 4 and all(len(n) == 36 and n.endswith(".png") for n in names)  # random names
    # the copied predictions are byte-identical to the method's files
    copied = {p.read_bytes() for p in (out / "images").iterdir()}
    assert all((preds["two"] / f"{i}.png").read_bytes() in copied for i in info["images"])
    printed = capsys.readouterr()
    assert printed.out == "" and "6 trials + 1 repeats per participant" in printed.err  # no URL: not served
    # the same command again: the existing study is kept (resume), a different one refused
    before = (out / "votes.db").read_bytes()
    assert main(_base(root, out) + ["--pred-dirs", _pred_dirs(preds), "--seed", "4"]) == 0
    assert (out / "votes.db").read_bytes() == before
    capsys.readouterr()
    one_line_error(capsys, _base(root, out) + ["--pred-dirs", _pred_dirs(preds), "--seed", "5"], str(out),
                   "different study")
    assert main(["collect-votes", "--out", str(out), "--export"]) == 0


@pytest.mark.parametrize("case, needles", [
    ("malformed", ["--pred-dirs", "'one' is not NAME=DIR"]),
    ("empty name", ["--pred-dirs", "'=x' is not NAME=DIR"]),
    ("tie", ["--pred-dirs", "'tie' cannot be a method name"]),
    ("twice", ["--pred-dirs", "'one' is given twice"]),
    ("no dir", ["nowhere", "prediction directory of method 'one' not found"]),
    ("missing file", ["img01.png", "no prediction of method 'two' for sample 'img01'"]),
    ("other size", ["img00.png", "is 32×24 but method 'one' gave 64×48"]),
    ("grayscale", ["img00.png", "grayscale"]),
    ("one method", ["--design ab needs at least 2 methods; got 1 (one)"]),
    ("rank with two", ["--design rank needs at least 3 methods; got 2"]),
    ("too many images", ["--images 9", "only 3 images"]),
    ("too many trials", ["--trials 99", "at most 6"]),
    ("unknown method", ["unknown method 'tow'", "Did you mean: two"]),
    ("no suite", ["--pred-dirs needs --suite"]),
    ("both sources", ["give either --run or --pred-dirs, not both"]),
    ("bad images", ["--images must be an integer ≥ 1"]),
])
def test_bad_input_is_one_line(tmp_path, suite, capsys, case, needles):
    root, preds = suite
    out = tmp_path / "study"
    argv = _base(root, out)
    pd = _pred_dirs(preds)
    if case == "malformed":
        pd = "one"
    elif case == "empty name":
        pd = "=x," + pd
    elif case == "tie":
        pd = f"tie={preds['one']}," + pd
    elif case == "twice":
        pd = pd + f",one={preds['two']}"
    elif case == "no dir":
        pd = f"one={tmp_path / 'nowhere'}"
    elif case == "missing file":
        (preds["two"] / "img01.png").unlink()
    elif case == "other size":
        Image.fromarray(np.zeros((24, 32, 3), np.uint8)).save(preds["two"] / "img00.png")
        argv[argv.index("--images") + 1] = "3"
    elif case == "grayscale":
        Image.fromarray(np.zeros((48, 64), np.uint8)).save(preds["one"] / "img00.png")
        argv[argv.index("--images") + 1] = "3"
    elif case == "one method":
        pd = _pred_dirs(preds, ("one",))
    elif case == "rank with two":
        pd = _pred_dirs(preds, ("one", "two"))
        argv += ["--design", "rank"]
    elif case == "too many images":
        argv[argv.index("--images") + 1] = "9"
    elif case == "too many trials":
        argv += ["--trials", "99"]
    elif case == "unknown method":
        argv += ["--methods", "one,tow"]
    elif case == "no suite":
        argv = argv[:1] + argv[3:]
    elif case == "both sources":
        argv += ["--run", "abc"]
    elif case == "bad images":
        argv[argv.index("--images") + 1] = "0"
    one_line_error(capsys, argv + ["--pred-dirs", pd], *needles)
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no half-built study


def test_out_must_be_a_study_or_new(tmp_path, suite, capsys):
    root, preds = suite
    taken = tmp_path / "taken"
    taken.mkdir()
    (taken / "notes.txt").write_text("mine")
    one_line_error(capsys, _base(root, taken) + ["--pred-dirs", _pred_dirs(preds)], "taken", "not a study directory")
    assert (taken / "notes.txt").read_text() == "mine"
    one_line_error(capsys, ["collect-votes", "--out", str(tmp_path / "new")], "is not a study yet", "--run RUN_ID")
    one_line_error(capsys, ["collect-votes", "--out", str(tmp_path / "new"), "--run", str(root)], "--suite")
    one_line_error(capsys, ["collect-votes", "--out", str(tmp_path / "new"), "--run", str(root), "--suite", "folder",
                            "--data-root", str(root)], "per_image.csv")
    empty = tmp_path / "empty"
    empty.mkdir()  # an empty directory is fine
    assert main(_base(root, empty) + ["--pred-dirs", _pred_dirs(preds)]) == 0 and (empty / "study.json").is_file()


def test_interrupted_build_leaves_nothing(tmp_path, suite, capsys, monkeypatch):
    """Ctrl-C while the database is being written: no study directory, no temporary one."""
    import studies.collect.build as build

    root, preds = suite

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(build.Store, "create", interrupted)
    out = tmp_path / "study"
    assert main(_base(root, out) + ["--pred-dirs", _pred_dirs(preds)]) == 130
    assert not out.exists() and not [p for p in tmp_path.iterdir() if p.name.startswith(".study")]
