import numpy as np
import pytest
from PIL import Image

from harness.cli import main
from harness.data.suites import load_spec, open_suite, spec_content_hash
from harness.errors import HarnessError, UnknownNameError
from tests.helpers import write_folder_suite


def test_folder_suite_reads_exactly_what_was_written(tmp_path):
    arrays = write_folder_suite(tmp_path)
    suite = open_suite("folder", str(tmp_path))
    assert suite.ids == sorted(arrays)
    for spec in suite.specs:
        s, a = load_spec(spec), arrays[spec.id]
        np.testing.assert_array_equal(np.rint(s.composite * 255).astype(np.uint8), a["composite"])
        np.testing.assert_array_equal(np.rint(s.real * 255).astype(np.uint8), a["real"])
        np.testing.assert_array_equal(s.fg, a["fg"] > 127)
        np.testing.assert_array_equal(s.ref, a["ref"] > 127)


def test_folder_suite_accepts_red_blue_masks_and_missing_ground_truth(tmp_path):
    arrays = write_folder_suite(tmp_path, rgb_masks=True, with_real=False)
    s = load_spec(open_suite("folder", str(tmp_path)).specs[0])
    np.testing.assert_array_equal(s.fg, arrays["img00"]["fg"] > 127)
    np.testing.assert_array_equal(s.ref, arrays["img00"]["ref"] > 127)
    assert s.real is None


def test_jpeg_composites_are_accepted(tmp_path):
    write_folder_suite(tmp_path, n=1)
    p = tmp_path / "composite" / "img00.png"
    Image.open(p).save(tmp_path / "composite" / "img00.jpg", quality=95)
    p.unlink()
    s = load_spec(open_suite("folder", str(tmp_path)).specs[0])
    assert s.meta["path"].endswith("img00.jpg")


def test_content_hash_follows_the_bytes(tmp_path):
    write_folder_suite(tmp_path, n=1)
    spec = open_suite("folder", str(tmp_path)).specs[0]
    before = spec_content_hash(spec)
    assert spec_content_hash(spec) == before
    arr = np.asarray(Image.open(tmp_path / "real" / "img00.png")).copy()
    arr[0, 0, 0] ^= 1
    Image.fromarray(arr).save(tmp_path / "real" / "img00.png")
    assert spec_content_hash(spec) != before


def test_iharmony4_layout(tmp_path):
    rng = np.random.default_rng(1)
    for subset, names in {"HCOCO": ["c1_2_1", "c1_2_2"], "Hday2night": ["d7_3_1"]}.items():
        for d in ("composite_images", "masks", "real_images"):
            (tmp_path / subset / d).mkdir(parents=True)
        for name in names:
            real_id, mask_id = name.split("_")[0], "_".join(name.split("_")[:2])
            img = rng.integers(0, 256, (32, 40, 3), dtype=np.uint8)
            Image.fromarray(img).save(tmp_path / subset / "real_images" / f"{real_id}.jpg")
            Image.fromarray(img).save(tmp_path / subset / "composite_images" / f"{name}.jpg")
            m = np.zeros((32, 40, 3), np.uint8)
            m[5:15, 5:20] = 255
            Image.fromarray(m).save(tmp_path / subset / "masks" / f"{mask_id}.png")
        (tmp_path / subset / f"{subset}_test.txt").write_text(
            "\n".join(f"{subset}/composite_images/{n}.jpg" for n in names) + "\n")
    suite = open_suite("iharmony4", str(tmp_path))
    assert suite.ids == ["HCOCO/c1_2_1", "HCOCO/c1_2_2", "Hday2night/d7_3_1"]
    s = load_spec(suite.specs[2])
    assert s.meta["subset"] == "Hday2night"
    assert s.fg.sum() == 150
    np.testing.assert_array_equal(s.ref, ~s.fg)  # reference = the whole background


def test_portraittest_falls_back_to_the_bundled_suite_and_says_so(monkeypatch):
    monkeypatch.delenv("HARNESS_DATA", raising=False)
    suite = open_suite("portraittest")
    assert "NOT PortraitTest" in suite.notice
    assert suite.source.startswith("bundled-sample")
    assert load_spec(suite.specs[0]).source == "bundled-sample"


def test_portraittest_found_through_harness_data(tmp_path, monkeypatch):
    write_folder_suite(tmp_path / "PortraitTest", n=2)
    monkeypatch.setenv("HARNESS_DATA", str(tmp_path))
    suite = open_suite("portraittest")
    assert suite.source == "portraittest" and suite.notice is None and len(suite) == 2
    assert load_spec(suite.specs[0]).source == "portraittest"


def test_portraittest_explicit_wrong_root_is_an_error(tmp_path):
    with pytest.raises(HarnessError, match="no PortraitTest here"):
        open_suite("portraittest", str(tmp_path))


def test_unknown_suite_suggests(monkeypatch):
    with pytest.raises(UnknownNameError, match="Did you mean: portraittest"):
        open_suite("portrait-test")


def test_limit_takes_a_count_or_a_fraction():
    assert len(open_suite("sample", limit=3)) == 3
    assert len(open_suite("sample", limit=0.5)) == 13


def test_export_refuses_a_suite_folder_with_samples_and_overwrite_replaces_them(tmp_path, capsys):
    """Exporting 2 samples over a 3-sample export would leave the third behind (and the folder suite reads
    every file): refused, one line; --overwrite removes the old samples, nothing else."""
    from tests.processes import one_line_error

    out = tmp_path / "s"
    argv = ["export-suite", "--suite", "sample", "--out", str(out)]
    assert main([*argv, "--limit", "3"]) == 0
    one_line_error(capsys, [*argv, "--limit", "2"], str(out), "not empty", "--overwrite")
    assert open_suite("folder", str(out)).ids == open_suite("sample", limit=3).ids  # untouched
    (out / "notes.txt").write_text("mine")
    assert main([*argv, "--limit", "2", "--overwrite"]) == 0
    assert capsys.readouterr().out.startswith("wrote 2 samples")
    assert open_suite("folder", str(out)).ids == open_suite("sample", limit=2).ids
    assert len(list((out / "composite").iterdir())) == 2 and (out / "notes.txt").read_text() == "mine"


def test_export_then_reload_is_lossless(tmp_path):
    assert main(["export-suite", "--suite", "sample", "--limit", "3", "--out", str(tmp_path)]) == 0
    exported = open_suite("folder", str(tmp_path))
    original = open_suite("sample", limit=3)
    assert exported.ids == original.ids
    for a, b in zip(map(load_spec, exported.specs), map(load_spec, original.specs)):
        np.testing.assert_array_equal(a.composite, b.composite)
        np.testing.assert_array_equal(a.real, b.real)
        np.testing.assert_array_equal(a.fg, b.fg)
        np.testing.assert_array_equal(a.ref, b.ref)
