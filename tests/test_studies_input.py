"""CSV reading and validation of user-study votes: every bad input is one line on stderr and exit 2."""

from __future__ import annotations

import numpy as np
import pytest

from harness.cli import main
from studies.votes import (_read_ab_fast, _read_ab_rows, count_tensor, detect_kind, rank_break, read_ab,
                           read_rankings)

AB_HEAD = "subject,image,method_a,method_b,winner\n"
RANK_HEAD = "subject,image,method,rank\n"


def _write(tmp_path, text, name="votes.csv"):
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


BAD = [
    # (file text, kind override, expected line, words in the message)
    (AB_HEAD + "s1,i1,A,B,A\ns1,i1,A,C,D\n", None, 3, ["winner 'D'"]),
    (AB_HEAD + "s1,i1,A,A,A\n", None, 2, ["compared with itself"]),
    (AB_HEAD + "s1,i1,A,B,\n", None, 2, ["empty 'winner'"]),
    (AB_HEAD + "s1,,A,B,A\n", None, 2, ["empty 'image'"]),
    (AB_HEAD + "s1,i1,A,B,A\ns2,i1,A,B,B\ns1,i1,B,A,tie\n", None, 4, ["duplicate trial", "line 2"]),
    (AB_HEAD + "s1,i1,A,B,A\ns1,i1,A,B\n", None, 3, ["expected 5 fields"]),
    (AB_HEAD + "s1,i1,A,tie,A\n", None, 2, ["reserved"]),
    (AB_HEAD, None, 2, ["no votes"]),
    ("", None, 1, ["empty file"]),
    ("subject,image,left,right,choice\ns1,i1,A,B,A\n", None, 1, ["cannot tell the study kind"]),
    (AB_HEAD + "s1,i1,A,B,A\n", "rank", 1, ["missing column(s) method,rank"]),
    (RANK_HEAD + "s1,i1,A,1\ns1,i1,B,5\ns1,i1,C,\n", None, 3, ["rank 5 is outside 1..3"]),
    (RANK_HEAD + "s1,i1,A,1\ns1,i1,B,0\ns1,i1,C,\n", None, 3, ["outside 1..3"]),
    (RANK_HEAD + "s1,i1,A,first\n", None, 2, ["not an integer"]),
    (RANK_HEAD + "s1,i1,A,1\ns1,i1,B,1\ns1,i1,C,2\n", None, 3, ["rank 1 given to both"]),
    (RANK_HEAD + "s1,i1,A,1\ns1,i1,B,3\ns1,i1,C,\n", None, 2, ["skip rank 2"]),
    (RANK_HEAD + "s1,i1,A,1\ns1,i1,B,2\ns1,i1,C,3\ns2,i1,A,1\ns2,i1,B,2\n", None, 5, ["no row for C"]),
    (RANK_HEAD + "s1,i1,A,1\ns1,i1,B,2\ns1,i1,A,\n", None, 4, ["duplicate trial", "line 2"]),
    (RANK_HEAD + "s1,i1,A,\ns1,i1,B,\n", None, 2, ["ranks no method"]),
]


@pytest.mark.parametrize("text,kind,line,words", BAD)
def test_bad_input_is_one_line_exit_2(tmp_path, capsys, text, kind, line, words):
    p = _write(tmp_path, text)
    argv = ["analyze-votes", str(p), "--no-mlflow", "--bootstrap", "0"] + (["--kind", kind] if kind else [])
    assert main(argv) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.count("\n") == 1 and "Traceback" not in err
    assert f"{p}:{line}:" in err
    for w in words:
        assert w in err


def test_missing_file_all_ties_and_negative_bootstrap(tmp_path, capsys):
    assert main(["analyze-votes", str(tmp_path / "nope.csv"), "--no-mlflow"]) == 2
    assert "no such file" in capsys.readouterr().err
    p = _write(tmp_path, AB_HEAD + "s1,i1,A,B,tie\ns2,i1,A,B,TIE\n")
    assert main(["analyze-votes", str(p), "--ties", "drop", "--no-mlflow"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "every vote is a tie" in err
    assert main(["analyze-votes", str(p), "--bootstrap", "-3", "--no-mlflow"]) == 2
    assert "--bootstrap" in capsys.readouterr().err


def test_reading_counts_and_ties_by_hand(tmp_path):
    p = _write(tmp_path, "subject,image,method_a,method_b,winner,rt_ms\n"
                         "s1,i1,A,B,A,300\n\ns1,i1,B,C,tie,10\ns2,i1,A,B,B,5\ns2,i2,C,A,C,1\n")
    assert detect_kind(p) == "ab"
    v = read_ab(p)
    assert v.methods == ("A", "B", "C") and v.subjects == ("s1", "s2") and v.images == ("i1", "i2")
    np.testing.assert_array_equal(v.outcome, [1.0, 0.5, 0.0, 1.0])
    split = count_tensor(v, "split").sum(axis=(0, 1))
    np.testing.assert_array_equal(split, [[0, 1, 0], [1, 0, 0.5], [1, 0.5, 0]])
    drop = count_tensor(v, "drop").sum(axis=(0, 1))
    np.testing.assert_array_equal(drop, [[0, 1, 0], [1, 0, 0], [1, 0, 0]])
    per_subject = count_tensor(v, "split").sum(axis=1)
    np.testing.assert_array_equal(per_subject[1], [[0, 0, 0], [1, 0, 0], [1, 0, 0]])


def test_both_readers_return_the_shipped_study_row_for_row():
    """The pandas fast path and the row-by-row validator, each against the file read with Python's csv
    module: every trial's subject, image, the two methods and the outcome (1 = a won, 0 = b, 0.5 = tie)."""
    import csv
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "studies" / "ab.csv"
    with open(path, newline="", encoding="utf-8") as f:
        expected = [(r["subject"], r["image"], r["method_a"], r["method_b"],
                     1.0 if r["winner"] == r["method_a"] else 0.0 if r["winner"] == r["method_b"] else 0.5)
                    for r in csv.DictReader(f)]
    assert len(expected) == 2700 and any(e[4] == 0.5 for e in expected)
    for v in (_read_ab_fast(path), _read_ab_rows(path)):
        assert v is not None
        got = [(v.subjects[s], v.images[i], v.methods[a], v.methods[b], float(o))
               for s, i, a, b, o in zip(v.subject, v.image, v.a, v.b, v.outcome)]
        assert got == expected


def test_rank_breaking_by_hand(tmp_path):
    # A=1, B=3, C unranked, D=2 → A>B, A>C, A>D, B>C, D>B, D>C; then a block with two unranked methods.
    p = _write(tmp_path, RANK_HEAD + "s1,i1,A,1\ns1,i1,B,3\ns1,i1,C,\ns1,i1,D,2\n"
                                     "s2,i1,A,\ns2,i1,B,1\ns2,i1,C,\ns2,i1,D,\n")
    rv = read_rankings(p)
    np.testing.assert_array_equal(rv.ranks, [[1, 3, 0, 2], [0, 1, 0, 0]])
    C = count_tensor(rank_break(rv)).sum(axis=(0, 1))
    expected = np.array([[0, 1, 1, 1], [1, 0, 2, 1], [0, 0, 0, 0], [0, 1, 1, 0]], dtype=float)
    np.testing.assert_array_equal(C, expected)
