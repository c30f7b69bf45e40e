"""What the terminal says, in the small: no interval from one image, "1 method", the unit of each progress bar, no
bar before an input error, a notice once on one terminal, and after Ctrl-C how to continue."""

from __future__ import annotations

import importlib
import os
import pty
import re
import subprocess
import sys

import pytest

from harness.cli import COMMANDS, main
from tests.processes import harness_env, one_line_error

DEGENERATE = re.compile(r"\[(-?[\d.]+), \1\]")  # "[703.7, 703.7]": a bootstrap "interval" of one value


def _run(capsys, *argv):
    code = main(list(argv))
    printed = capsys.readouterr()
    assert code == 0, printed.err
    return printed.out, printed.err


def test_one_image_has_no_interval_and_one_method_is_singular(ray_local, tmp_path, capsys):
    out, _ = _run(capsys, "run-benchmark", "--suite", "sample", "--limit", "1", "--methods", "composite,reinhard",
                  "--no-mlflow", "--no-progress", "--cache-dir", str(tmp_path))
    assert "— 1 image × 2 methods," in out
    assert "(n = 1, no CI)" in out and not DEGENERATE.search(out), out  # means, and the paired differences
    out, _ = _run(capsys, "run-benchmark", "--suite", "sample", "--limit", "2", "--methods", "composite",
                  "--no-mlflow", "--no-progress", "--cache-dir", str(tmp_path))
    assert "— 2 images × 1 method," in out and "no CI" not in out


def test_robustness_counts_sweeps_and_says_so(ray_local, tmp_path, capsys):
    """One item of run-robustness is a method swept over every region of a sample: its bar counts sweeps."""
    out, err = _run(capsys, "run-robustness", "--suite", "sample", "--limit", "1", "--methods", "composite",
                    "--references", "suite,background", "--no-mlflow", "--cache-dir", str(tmp_path))
    assert "1/1" in err and "sweep/s" in err or "s/sweep" in err, err
    assert "img/s" not in err and "s/img" not in err, err
    assert "1 sample × 1 method" in out and "(n = 1, no CI)" in out


def test_build_intharmony_draws_no_bar_before_an_input_error_and_counts_to_its_total(ray_local, tmp_path,
                                                                                       capsys):
    one_line_error(capsys, ["build-intharmony", "--annotations", str(tmp_path / "nope.json"), "--images",
                            str(tmp_path), "--out", str(tmp_path / "o")], "annotations file not found")
    out, err = _run(capsys, "build-intharmony", "--out", str(tmp_path / "ih"))  # the bundled test split: 5 photos
    assert "/5 [" in err and "5/5" in err, err
    assert out.startswith("5 samples from 5 of 5 images")


def test_the_portraittest_notice_is_in_the_table_when_stdout_is_not_the_terminal(ray_local, tmp_path, capsys,
                                                                                   monkeypatch):
    monkeypatch.setenv("HARNESS_DATA", str(tmp_path / "none"))
    out, err = _run(capsys, "run-benchmark", "--suite", "portraittest", "--limit", "1", "--methods", "composite",
                    "--no-mlflow", "--no-progress", "--cache-dir", str(tmp_path))
    assert "NOTE: PortraitTest not found" in out and "note: PortraitTest not found" in err  # a file: both


@pytest.mark.slow
def test_the_portraittest_notice_is_shown_once_on_a_terminal(tmp_path):
    """stdout and stderr on one terminal (a pty): the fallback notice appears once, not twice."""
    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "harness.cli", "run-benchmark", "--suite", "portraittest",
                             "--limit", "1", "--methods", "composite", "--no-mlflow", "--no-progress", "--num-cpus",
                             "1", "--cache-dir", str(tmp_path)], stdin=subprocess.DEVNULL, stdout=slave, stderr=slave,
                            env=harness_env({"HARNESS_DATA": str(tmp_path / "none")}), cwd=tmp_path)
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:  # EIO: the other end closed
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    assert proc.wait(timeout=120) == 0
    text = b"".join(chunks).decode()
    assert text.count("These are NOT PortraitTest numbers") == 1, text
    assert "1 image × 1 method" in text


# command → flags it needs to get as far as `run`
INTERRUPTIBLE = {"run-benchmark": [], "run-robustness": [], "train": ["--method", "iph"], "run-ablation": [],
                 "sweep": [], "build-intharmony": ["--out", "x"]}


@pytest.mark.parametrize("command", sorted(INTERRUPTIBLE))
def test_ctrl_c_says_how_to_continue(command, monkeypatch, capsys):
    def interrupted(args):
        raise KeyboardInterrupt

    monkeypatch.setattr(importlib.import_module(COMMANDS[command][0]), "run", interrupted)
    assert main([command, *INTERRUPTIBLE[command]]) == 130
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"harness {command}: interrupted; ") and len(err.splitlines()) == 1
    assert "run the same command" in err
    assert ("--resume" in err) == (command != "build-intharmony"), err
