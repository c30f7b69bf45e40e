"""Every kind of bad input: one line naming the file and the problem, exit code 2, no traceback."""

import numpy as np
import pytest
from PIL import Image

from tests.helpers import write_folder_suite
from tests.processes import one_line_error


def _export(tmp_path, root):
    return ["export-suite", "--suite", "folder", "--data-root", str(root), "--out", str(tmp_path / "out")]


@pytest.mark.parametrize("case, needles", [
    ("grayscale", ["img00.png", "grayscale"]),
    ("rgba", ["img00.png", "alpha channel"]),
    ("16bit", ["img00.png", "16-bit"]),
    ("corrupt", ["img00.png", "cannot be read"]),
    ("size", ["mask/img00.png", "64×48", "32×24"]),
    ("empty_fg", ["img00", "foreground mask is empty"]),
    ("full_fg", ["img00", "whole image"]),
    ("empty_ref", ["img00", "reference mask is empty"]),
    ("missing_mask", ["img00", "no foreground mask"]),
])
def test_bad_folder_input(tmp_path, capsys, case, needles):
    root = tmp_path / "suite"
    write_folder_suite(root, n=1)
    comp = root / "composite" / "img00.png"
    rgb = np.asarray(Image.open(comp))
    if case == "grayscale":
        Image.fromarray(rgb[..., 0]).save(comp)
    elif case == "rgba":
        Image.fromarray(np.dstack([rgb, np.full(rgb.shape[:2], 255, np.uint8)])).save(comp)
    elif case == "16bit":
        Image.fromarray(rgb[..., 0].astype(np.uint16) * 257).save(comp)
    elif case == "corrupt":
        comp.write_bytes(comp.read_bytes()[:60])
    elif case == "size":
        Image.fromarray(np.zeros((24, 32), np.uint8) + 255).save(root / "mask" / "img00.png")
    elif case == "empty_fg":
        Image.fromarray(np.zeros((48, 64), np.uint8)).save(root / "mask" / "img00.png")
    elif case == "full_fg":
        Image.fromarray(np.full((48, 64), 255, np.uint8)).save(root / "mask" / "img00.png")
    elif case == "empty_ref":
        Image.fromarray(np.zeros((48, 64), np.uint8)).save(root / "reference" / "img00.png")
    elif case == "missing_mask":
        (root / "mask" / "img00.png").unlink()
    one_line_error(capsys, _export(tmp_path, root), *needles)
    assert not (tmp_path / "out" / "composite" / "img00.png").exists()


def test_unknown_suite_and_missing_data_root(capsys, tmp_path):
    one_line_error(capsys, ["export-suite", "--suite", "iharmony", "--out", str(tmp_path)], "Did you mean: iharmony4")
    one_line_error(capsys, ["export-suite", "--suite", "folder", "--out", str(tmp_path)], "--data-root")
    one_line_error(capsys, ["export-suite", "--suite", "folder", "--data-root", str(tmp_path / "nope"),
                            "--out", str(tmp_path)], "nope", "composite/")
