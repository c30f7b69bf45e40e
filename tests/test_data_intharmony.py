"""`harness build-intharmony` and `--suite intharmony`: masks equal pycocotools', composites equal the photo
outside the foreground, the same inputs give the same bytes, interrupted builds finish, bad inputs are one line,
MHP and person-only builds, and the held-out rule for training."""

from __future__ import annotations

import contextlib
import io
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from harness.cli import main
from harness.config import IntHarmonyConfig
from harness.data.intharmony import build
from harness.errors import HarnessError

ASSETS = Path(__file__).resolve().parents[1] / "harness" / "data" / "assets"


def _coco(path: Path):
    from pycocotools.coco import COCO

    with contextlib.redirect_stdout(io.StringIO()):  # pycocotools prints progress
        return COCO(str(path))


def _read(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path))


@pytest.fixture(scope="module")
def bundled_test(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("ih") / "test"
    build(IntHarmonyConfig(out=str(out), split="test", per_image=3), use_ray=False)
    return out


def test_written_masks_are_pycocotools_masks_and_composites_equal_the_photo_outside(bundled_test):
    coco = _coco(ASSETS / "coco_test.json")
    entries = [json.loads(line) for line in (bundled_test / "manifest.jsonl").read_text().splitlines()]
    assert len(entries) == 15 and [e["id"] for e in entries] == sorted(e["id"] for e in entries)
    crowd = {a["id"] for a in coco.dataset["annotations"] if a["iscrowd"]}
    for e in entries:
        fg = coco.annToMask(coco.anns[e["fg_ann"]]).astype(bool)
        ref = coco.annToMask(coco.anns[e["ref_ann"]]).astype(bool) & ~fg
        np.testing.assert_array_equal(_read(bundled_test / "mask" / f"{e['id']}.png") > 127, fg)
        np.testing.assert_array_equal(_read(bundled_test / "reference" / f"{e['id']}.png") > 127, ref)
        assert e["fg_ann"] not in crowd and e["ref_ann"] not in crowd and e["fg_ann"] != e["ref_ann"]
        comp, real = (_read(bundled_test / d / f"{e['id']}.png") for d in ("composite", "real"))
        photo = np.asarray(Image.open(bundled_test / ".photos" / e["file_name"]).convert("RGB"))
        np.testing.assert_array_equal(real, photo)  # the truth is the photo at native resolution
        np.testing.assert_array_equal(comp[~fg], real[~fg])
        assert np.abs(comp[fg].astype(int) - real[fg]).mean() > 0.5, e["augmentation"]


def test_every_segmentation_format_decodes_like_pycocotools(tmp_path):
    """Polygons (several parts), uncompressed RLE and compressed RLE, in a file written here."""
    from pycocotools import mask as cocomask

    from harness.data.instances import mask, read_coco

    h, w = 30, 40
    Image.fromarray(np.zeros((h, w, 3), np.uint8)).save(tmp_path / "a.png")
    m = np.zeros((h, w), np.uint8)
    m[5:20, 10:30] = 1
    compressed = cocomask.encode(np.asfortranarray(m))
    flat = m.flatten(order="F")
    runs = np.diff(np.concatenate([[0], np.flatnonzero(np.diff(flat)) + 1, [flat.size]])).tolist()
    data = {"images": [{"id": 7, "file_name": "a.png", "height": h, "width": w}],
            "categories": [{"id": 1, "name": "thing"}],
            "annotations": [
                {"id": 1, "image_id": 7, "category_id": 1, "iscrowd": 0,
                 "segmentation": [[2, 2, 12, 2, 12, 9, 2, 9], [20.5, 15, 35, 15, 28, 28]]},
                {"id": 2, "image_id": 7, "category_id": 1, "iscrowd": 0,
                 "segmentation": {"size": [h, w], "counts": runs}},
                {"id": 3, "image_id": 7, "category_id": 1, "iscrowd": 1,
                 "segmentation": {"size": [h, w], "counts": compressed["counts"].decode()}}]}
    (tmp_path / "ann.json").write_text(json.dumps(data))
    coco = _coco(tmp_path / "ann.json")
    (rec,) = read_coco(tmp_path / "ann.json", tmp_path)
    for inst in rec.instances:
        np.testing.assert_array_equal(mask(rec, inst), coco.annToMask(coco.anns[inst.ann_id]).astype(bool))
    assert mask(rec, rec.instances[1]).sum() == m.sum()


def test_the_same_inputs_and_seed_give_the_same_bytes_and_another_seed_does_not(bundled_test, tmp_path):
    build(IntHarmonyConfig(out=str(tmp_path / "again"), split="test", per_image=3), use_ray=False)
    files = sorted(p.relative_to(bundled_test) for p in bundled_test.rglob("*.png") if ".photos" not in p.parts)
    assert len(files) == 60
    for f in files:
        assert (tmp_path / "again" / f).read_bytes() == (bundled_test / f).read_bytes(), f
    assert (tmp_path / "again" / "manifest.jsonl").read_bytes() == (bundled_test / "manifest.jsonl").read_bytes()
    build(IntHarmonyConfig(out=str(tmp_path / "other"), split="test", per_image=3, seed=1), use_ray=False)
    assert (tmp_path / "other" / "manifest.jsonl").read_bytes() != (bundled_test / "manifest.jsonl").read_bytes()


def test_an_interrupted_build_finishes_and_other_settings_are_refused(bundled_test, tmp_path):
    out = tmp_path / "resumed"
    shutil.copytree(bundled_test, out)
    # as a kill would leave it: one image never finished (no .parts marker, no manifest, a torn file)
    (out / ".parts" / "2.json").unlink()
    for p in out.glob("*/grace_hopper_*.png"):
        p.unlink()
    (out / "composite" / "grace_hopper_0.png").write_bytes(b"torn")
    (out / "manifest.jsonl").unlink()
    summary = build(IntHarmonyConfig(out=str(out), split="test", per_image=3), use_ray=False)
    assert summary["samples"] == 15
    for p in bundled_test.rglob("*"):
        if p.is_file():
            assert (out / p.relative_to(bundled_test)).read_bytes() == p.read_bytes(), p
    with pytest.raises(HarnessError, match="other settings.*per_image"):
        build(IntHarmonyConfig(out=str(out), split="test", per_image=2), use_ray=False)


def _tiny_coco(root: Path, categories=("person", "person", "cat"), file_ok=True) -> Path:
    h, w = 32, 48
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)).save(root / "img.png")
    if not file_ok:
        (root / "img.png").unlink()
    names = sorted(set(categories))
    boxes = [(2, 2, 20, 14), (24, 2, 46, 14), (2, 18, 46, 30)]
    anns = [{"id": i + 1, "image_id": 1, "category_id": names.index(c) + 1, "iscrowd": 0,
             "segmentation": [[x0, y0, x1, y0, x1, y1, x0, y1]]} for i, (c, (x0, y0, x1, y1))
            in enumerate(zip(categories, boxes))]
    data = {"images": [{"id": 1, "file_name": "img.png", "height": h, "width": w}],
            "categories": [{"id": i + 1, "name": n} for i, n in enumerate(names)], "annotations": anns}
    (root / "ann.json").write_text(json.dumps(data))
    return root / "ann.json"


def test_person_only_builds_pair_people_with_people(tmp_path):
    ann = _tiny_coco(tmp_path)
    summary = build(IntHarmonyConfig(out=str(tmp_path / "p"), annotations=str(ann), images=str(tmp_path),
                                     categories=["person"], per_image=4, min_area=0.0), use_ray=False)
    entries = [json.loads(x) for x in (tmp_path / "p" / "manifest.jsonl").read_text().splitlines()]
    assert summary["samples"] == 4 and {(e["fg_category"], e["ref_category"]) for e in entries} == {("person",
                                                                                                     "person")}


@pytest.mark.parametrize("edit, words", [
    (lambda d: d["annotations"][0].update(segmentation=[[1, 2, 3]]), ["annotation 1", "polygons"]),
    (lambda d: d["annotations"][1].update(image_id=99), ["annotation 2", "image_id 99"]),
    (lambda d: d["annotations"][1].update(segmentation={"size": [32, 48], "counts": [5, 5]}),
     ["annotation 2", "sum to 32×48"]),
    (lambda d: d["images"][0].update(file_name="gone.png"), ["gone.png", "image file not found"]),
    (lambda d: None, ["unknown category", "Did you mean: person"]),
])
def test_bad_input_is_one_line_and_writes_nothing(tmp_path, capsys, edit, words):
    ann = _tiny_coco(tmp_path)
    data = json.loads(ann.read_text())
    edit(data)
    ann.write_text(json.dumps(data))
    extra = ["--categories", "persn"] if "unknown category" in words else []
    code = main(["build-intharmony", "--annotations", str(ann), "--images", str(tmp_path), "--out",
                 str(tmp_path / "out"), "--no-progress", *extra])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err, err
    for w in words:
        assert w in err
    assert not (tmp_path / "out").exists()


def test_mhp_people_become_instances(tmp_path):
    """An MHP v2 layout written here: one image, three people (channel 0 > 0 of each parsing PNG)."""
    root = tmp_path / "mhp"
    (root / "train" / "images").mkdir(parents=True)
    (root / "train" / "parsing_annos").mkdir()
    (root / "list").mkdir()
    (root / "list" / "train.txt").write_text("96\n")
    h, w = 40, 60
    Image.fromarray(np.random.default_rng(1).integers(0, 256, (h, w, 3), dtype=np.uint8)).save(
        root / "train" / "images" / "96.jpg", quality=95)
    for k, cols in enumerate([(2, 18), (22, 38), (42, 58)], start=1):
        parsing = np.zeros((h, w, 3), np.uint8)
        parsing[5:35, cols[0]:cols[1], 0] = 4  # a part label; any non-zero is the person
        Image.fromarray(parsing).save(root / "train" / "parsing_annos" / f"96_03_0{k}.png")
    summary = build(IntHarmonyConfig(out=str(tmp_path / "out"), mhp=str(root), split="train", per_image=2,
                                     min_area=0.0), use_ray=False)
    assert summary["samples"] == 2
    e = json.loads((tmp_path / "out" / "manifest.jsonl").read_text().splitlines()[0])
    assert e["fg_ann"].startswith("96_03_0") and e["fg_category"] == "person"
    fg = _read(tmp_path / "out" / "mask" / f"{e['id']}.png") > 127
    assert fg.sum() == 30 * 16


@pytest.mark.slow
def test_cli_build_on_ray_then_benchmark_by_augmentation(tmp_path, capsys, bundled_test):
    out = tmp_path / "test-split"
    assert main(["build-intharmony", "--out", str(out), "--per-image", "3", "--num-cpus", "2", "--json",
                 "--no-progress"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["samples"] == 15 and summary["images_skipped"] == {}
    # Ray's workers wrote the same bytes as the in-process build
    assert (out / "manifest.jsonl").read_bytes() == (bundled_test / "manifest.jsonl").read_bytes()
    assert main(["run-benchmark", "--suite", "intharmony", "--data-root", str(out), "--methods", "composite",
                 "--no-mlflow", "--json", "--num-cpus", "2", "--cache-dir", str(tmp_path / "c")]) == 0
    res = json.loads(capsys.readouterr().out)
    manifest = {json.loads(x)["id"]: json.loads(x) for x in (out / "manifest.jsonl").read_text().splitlines()}
    assert {r["id"]: r["augmentation"] for r in res["per_image"]} == {
        k: v["augmentation"]["name"] for k, v in manifest.items()}
    families = {v["augmentation"]["name"] for v in manifest.values()}
    assert set(res["augmentations"]) == families | {"All"}
    for family in families:  # per-augmentation rows = the mean over that family's images
        rows = [r for r in res["per_image"] if r["augmentation"] == family]
        cell = res["augmentations"][family]["composite"]
        assert cell["n"] == len(rows)
        assert cell["mean"]["fmse"] == pytest.approx(np.mean([r["fmse"] for r in rows]), rel=1e-12)


def test_training_takes_builds_of_held_out_photos_never(tmp_path, bundled_test):
    from harness.train.suite import SuiteDataset

    with pytest.raises(HarnessError, match="held out of training"):
        SuiteDataset("intharmony", str(bundled_test), 64, 2)  # the bundled test split: evaluation photos
    ann = _tiny_coco(tmp_path)
    build(IntHarmonyConfig(out=str(tmp_path / "own"), annotations=str(ann), images=str(tmp_path), per_image=2,
                           min_area=0.0), use_ray=False)
    ds = SuiteDataset("intharmony", str(tmp_path / "own"), 32, 2)
    assert len(ds) == 2 and ds[0]["composite"].shape == (3, 32, 32)


def test_the_readme_s_offline_build_is_the_implicit_suite_and_says_it_is_no_intharmony(tmp_path, monkeypatch):
    """The README's offline command, run as written (relative --out), makes exactly the samples `--suite
    intharmony` without --data-root uses — same ids, same bytes — and both say these are not IntHarmony
    numbers; a build from COCO-format instances of the user's own says nothing of the kind."""
    import re
    import shlex

    from harness.cli import build_parser
    from harness.data.suites import open_suite
    from harness.options import from_args

    readme = (ASSETS.parents[2] / "README.md").read_text()
    line = re.search(r"`(harness build-intharmony[^`]*--out ih-test)`", " ".join(readme.split())).group(1)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HARNESS_CACHE", str(tmp_path / "cache"))
    build(from_args(IntHarmonyConfig, build_parser().parse_args(shlex.split(line)[1:])), use_ray=False)
    mine, implicit = open_suite("intharmony", "ih-test"), open_suite("intharmony")
    assert mine.ids == implicit.ids and len(mine.ids) == 10
    for sid in mine.ids:
        for d in ("composite", "mask", "reference", "real"):
            assert (Path(mine.data_root) / d / f"{sid}.png").read_bytes() == \
                (Path(implicit.data_root) / d / f"{sid}.png").read_bytes(), (sid, d)
    assert mine.notice == implicit.notice and "NOT IntHarmony numbers" in mine.notice
    ann = _tiny_coco(tmp_path)
    build(IntHarmonyConfig(out="own", annotations=str(ann), images=".", min_area=0.0), use_ray=False)
    assert open_suite("intharmony", "own").notice is None
