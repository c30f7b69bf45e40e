"""Reading and validating user-study CSVs, and turning votes into count matrices.

A/B studies: `subject,image,method_a,method_b,winner` (winner = method_a, method_b or `tie`).
Ranking studies: `subject,image,method,rank` (1 = best, blank = unranked; every shown method has a row).
Extra columns are allowed and ignored. Every problem is reported as `StudyInputError("<file>:<line>", ...)`
naming the first bad CSV line.

Counts: C[i, j] = number of times method i beat method j. A tie counts as half a win each way (`ties="split"`)
or is left out (`ties="drop"`).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from studies.errors import StudyInputError

AB_COLUMNS = ("subject", "image", "method_a", "method_b", "winner")
RANK_COLUMNS = ("subject", "image", "method", "rank")
TIE = "tie"


@dataclass(frozen=True)
class PairwiseVotes:
    """One entry per trial; `outcome` is 1 when method `a` won, 0 when `b` won, 0.5 for a tie."""

    methods: tuple[str, ...]
    subjects: tuple[str, ...]
    images: tuple[str, ...]
    subject: np.ndarray
    image: np.ndarray
    a: np.ndarray
    b: np.ndarray
    outcome: np.ndarray

    @property
    def n_votes(self) -> int:
        return int(self.outcome.size)

    @property
    def n_ties(self) -> int:
        return int(np.count_nonzero(self.outcome == 0.5))


@dataclass(frozen=True)
class RankingVotes:
    """One row of `ranks` per (subject, image) block; ranks[k, m] = rank of method m, 0 = unranked."""

    methods: tuple[str, ...]
    subjects: tuple[str, ...]
    images: tuple[str, ...]
    subject: np.ndarray
    image: np.ndarray
    ranks: np.ndarray

    @property
    def n_votes(self) -> int:
        return int(self.ranks.shape[0])


def detect_kind(path: str | Path) -> str:
    """'ab' or 'rank' from the CSV header."""
    header = _header(Path(path))
    cols = set(header)
    if {"method_a", "method_b", "winner"} <= cols:
        return "ab"
    if {"method", "rank"} <= cols:
        return "rank"
    raise StudyInputError(f"{path}:1", "cannot tell the study kind from the header "
                          f"({','.join(header)}): expected {','.join(AB_COLUMNS)} or "
                          f"{','.join(RANK_COLUMNS)} (or pass --kind)")


def read_votes(path: str | Path, kind: str | None = None) -> PairwiseVotes | RankingVotes:
    """Read an A/B or ranking CSV; `kind` None detects it from the header."""
    kind = kind or detect_kind(path)
    if kind == "ab":
        return read_ab(path)
    if kind == "rank":
        return read_rankings(path)
    raise ValueError(f"unknown kind {kind!r}")


def _header(path: Path) -> list[str]:
    try:
        with path.open(newline="", encoding="utf-8-sig") as f:
            row = next(csv.reader(f), None)
    except FileNotFoundError:
        raise StudyInputError(str(path), "no such file") from None
    except IsADirectoryError:
        raise StudyInputError(str(path), "is a directory, not a CSV file") from None
    except UnicodeDecodeError as err:
        raise StudyInputError(str(path), f"not a UTF-8 text file ({err.reason})") from None
    if not row:
        raise StudyInputError(f"{path}:1", "empty file: expected a CSV header")
    return [c.strip() for c in row]


def _rows(path: Path, required: tuple[str, ...]) -> tuple[list[tuple[int, list[str]]], list[str]]:
    """(line number, stripped required fields) per data row, after checking the header and field counts."""
    header = _header(path)
    missing = [c for c in required if c not in header]
    if missing:
        raise StudyInputError(f"{path}:1", f"missing column(s) {','.join(missing)}; "
                              f"expected {','.join(required)}")
    idx = [header.index(c) for c in required]
    rows: list[tuple[int, list[str]]] = []
    try:
        with path.open(newline="", encoding="utf-8-sig") as f:
            reader = csv.reader(f)
            next(reader)
            for row in reader:
                line = reader.line_num
                if not row or all(not c.strip() for c in row):
                    continue  # blank lines carry no vote
                if len(row) != len(header):
                    raise StudyInputError(f"{path}:{line}", f"expected {len(header)} fields as in the "
                                          f"header, got {len(row)}")
                fields = [row[i].strip() for i in idx]
                for name, value in zip(required, fields):
                    if not value and name != "rank":
                        raise StudyInputError(f"{path}:{line}", f"empty '{name}'")
                rows.append((line, fields))
    except csv.Error as err:
        raise StudyInputError(f"{path}:{reader.line_num}", f"malformed CSV ({err})") from None
    except UnicodeDecodeError as err:
        raise StudyInputError(str(path), f"not a UTF-8 text file ({err.reason})") from None
    if not rows:
        raise StudyInputError(f"{path}:2", "no votes after the header")
    return rows, header


def _index(values: list[str]) -> tuple[tuple[str, ...], np.ndarray]:
    """Names in first-seen order and the integer code of each value."""
    codes: dict[str, int] = {}
    out = np.fromiter((codes.setdefault(v, len(codes)) for v in values), dtype=np.int64, count=len(values))
    return tuple(codes), out


def read_ab(path: str | Path) -> PairwiseVotes:
    """Read and validate an A/B CSV (see module docstring). A vectorised pandas pass handles valid files
    (1M votes in about a second); on any doubt the row-by-row pass below finds and reports the first bad
    line, so both give the same result and only the latter writes messages."""
    path = Path(path)
    votes = _read_ab_fast(path)
    return votes if votes is not None else _read_ab_rows(path)


def _read_ab_fast(path: Path) -> PairwiseVotes | None:
    """The fast path: None when the file is not plainly valid (the slow path then explains why)."""
    import pandas as pd

    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig", engine="c")
    except Exception:  # any parser complaint: let the row-by-row pass name the line
        return None
    df.columns = [str(c).strip() for c in df.columns]
    if not set(AB_COLUMNS) <= set(df.columns) or df.columns.duplicated().any() or len(df) == 0:
        return None
    if df.isna().to_numpy().any():  # short rows are padded with NaN
        return None
    cols = {c: df[c].str.strip() for c in AB_COLUMNS}
    if any((v == "").any() for v in cols.values()):  # incl. ",,,," rows, which the slow path skips
        return None
    subject, image, a, b, winner = (cols[c] for c in AB_COLUMNS)
    if (a == b).any() or (a.str.lower() == TIE).any() or (b.str.lower() == TIE).any():
        return None
    won_a, won_b, tie = winner == a, winner == b, winner.str.lower() == TIE
    if not (won_a | won_b | tie).all():
        return None
    key = pd.DataFrame({"s": subject, "i": image, "lo": a.where(a < b, b), "hi": b.where(a < b, a)})
    if key.duplicated().any():
        return None
    n = len(a)
    codes, methods = pd.factorize(pd.concat([a, b], ignore_index=True))
    s_codes, subjects = pd.factorize(subject)
    i_codes, images = pd.factorize(image)
    outcome = np.where(won_a, 1.0, np.where(won_b, 0.0, 0.5))
    return PairwiseVotes(tuple(methods), tuple(subjects), tuple(images), s_codes.astype(np.int64),
                         i_codes.astype(np.int64), codes[:n].astype(np.int64), codes[n:].astype(np.int64),
                         outcome)


def _read_ab_rows(path: Path) -> PairwiseVotes:
    """Row-by-row validation with CSV line numbers in every message."""
    rows, _ = _rows(path, AB_COLUMNS)
    seen: dict[tuple[str, str, str, str], int] = {}
    outcome = np.empty(len(rows))
    for k, (line, (subject, image, a, b, winner)) in enumerate(rows):
        where = f"{path}:{line}"
        if a == b:
            raise StudyInputError(where, f"method '{a}' is compared with itself")
        if TIE in (a.lower(), b.lower()):
            raise StudyInputError(where, f"'{TIE}' is reserved for the winner column, not a method name")
        if winner == a:
            outcome[k] = 1.0
        elif winner == b:
            outcome[k] = 0.0
        elif winner.lower() == TIE:
            outcome[k] = 0.5
        else:
            raise StudyInputError(where, f"winner '{winner}' is neither method_a '{a}', method_b '{b}' "
                                  f"nor '{TIE}'")
        key = (subject, image, *sorted((a, b)))
        first = seen.setdefault(key, line)
        if first != line:
            raise StudyInputError(where, f"duplicate trial: subject '{subject}', image '{image}', "
                                  f"{a} vs {b} already on line {first}")
    methods, ab = _index([r[1][2] for r in rows] + [r[1][3] for r in rows])
    n = len(rows)
    subjects, subject = _index([r[1][0] for r in rows])
    images, image = _index([r[1][1] for r in rows])
    return PairwiseVotes(methods, subjects, images, subject, image, ab[:n], ab[n:], outcome)


def read_rankings(path: str | Path) -> RankingVotes:
    """Read and validate a ranking CSV: per (subject, image) block every method once, ranks 1..r without
    gaps or repeats, the rest blank (unranked)."""
    path = Path(path)
    rows, _ = _rows(path, RANK_COLUMNS)
    methods, _ = _index([r[1][2] for r in rows])
    k = len(methods)
    blocks: dict[tuple[str, str], dict[str, tuple[int, int]]] = {}
    for line, (subject, image, method, rank) in rows:
        where = f"{path}:{line}"
        if rank:
            try:
                r = int(rank)
            except ValueError:
                raise StudyInputError(where, f"rank '{rank}' is not an integer") from None
            if not 1 <= r <= k:
                raise StudyInputError(where, f"rank {r} is outside 1..{k} ({k} methods)")
        else:
            r = 0
        block = blocks.setdefault((subject, image), {})
        if method in block:
            raise StudyInputError(where, f"duplicate trial: subject '{subject}', image '{image}', method "
                                  f"'{method}' already on line {block[method][0]}")
        block[method] = (line, r)
    if k < 2:
        raise StudyInputError(f"{path}:{rows[0][0]}", f"only one method ('{methods[0]}') in the study")
    ranks = np.zeros((len(blocks), k), dtype=np.int64)
    for n, ((subject, image), block) in enumerate(blocks.items()):
        lines = {m: ln for m, (ln, _) in block.items()}
        first = min(lines.values())
        absent = [m for m in methods if m not in block]
        if absent:
            raise StudyInputError(f"{path}:{first}", f"subject '{subject}', image '{image}' has no row for "
                                  f"{', '.join(absent)} (give unranked methods a blank rank)")
        by_rank: dict[int, str] = {}
        for m in methods:
            line, r = block[m]
            if r and r in by_rank:
                raise StudyInputError(f"{path}:{line}", f"rank {r} given to both '{by_rank[r]}' and '{m}' "
                                      f"(subject '{subject}', image '{image}')")
            if r:
                by_rank[r] = m
            ranks[n, methods.index(m)] = r
        given = sorted(by_rank)
        if not given:
            raise StudyInputError(f"{path}:{first}", f"subject '{subject}', image '{image}' ranks no method")
        if given != list(range(1, len(given) + 1)):
            missing = min(set(range(1, given[-1] + 1)) - set(given))
            raise StudyInputError(f"{path}:{first}", f"subject '{subject}', image '{image}': ranks "
                                  f"{given} skip rank {missing}")
    subjects, subject = _index([s for s, _ in blocks])
    images, image = _index([i for _, i in blocks])
    return RankingVotes(methods, subjects, images, subject, image, ranks)


def rank_break(rv: RankingVotes) -> PairwiseVotes:
    """Every block's implied pairwise wins: a ranked method beats every lower-ranked and every unranked
    one; two unranked methods give no comparison. The pairs of one block are not independent, so their
    uncertainty must come from the subject bootstrap."""
    k = len(rv.methods)
    ii, jj = np.triu_indices(k, 1)
    r = np.where(rv.ranks == 0, k + 1, rv.ranks)  # unranked below every rank
    ri, rj = r[:, ii], r[:, jj]
    keep = ri != rj  # only two unranked methods can share a rank
    blk, pair = np.nonzero(keep)
    return PairwiseVotes(rv.methods, rv.subjects, rv.images, rv.subject[blk], rv.image[blk], ii[pair],
                         jj[pair], (ri[blk, pair] < rj[blk, pair]).astype(float))


def count_tensor(votes: PairwiseVotes, ties: str = "split") -> np.ndarray:
    """C[s, i, a, b] = wins of method a over b by subject s on image i (half per tie with ties='split')."""
    if ties not in ("split", "drop"):
        raise ValueError(f"ties must be 'split' or 'drop', not {ties!r}")
    S, I, N = len(votes.subjects), len(votes.images), len(votes.methods)
    o = votes.outcome
    if ties == "drop":
        o = np.where(o == 0.5, 0.0, o)
        w_b = np.where(votes.outcome == 0.5, 0.0, 1.0 - o)
    else:
        w_b = 1.0 - o
    base = (votes.subject * I + votes.image) * N * N
    flat = np.bincount(base + votes.a * N + votes.b, weights=o, minlength=S * I * N * N)
    flat += np.bincount(base + votes.b * N + votes.a, weights=w_b, minlength=S * I * N * N)
    return flat.reshape(S, I, N, N)


def components(counts: np.ndarray) -> list[list[int]]:
    """Connected components of the comparison graph (methods linked when ever compared)."""
    from scipy.sparse.csgraph import connected_components

    linked = (counts + counts.T) > 0
    n, labels = connected_components(linked, directed=False)
    return [np.flatnonzero(labels == c).tolist() for c in range(n)]


def unanimous_pairs(counts: np.ndarray) -> list[tuple[int, int]]:
    """(winner, loser) for every compared pair where one side won every vote."""
    i, j = np.nonzero((counts > 0) & (counts.T == 0))
    return list(zip(i.tolist(), j.tolist()))


def strongly_connected(counts: np.ndarray) -> np.ndarray:
    """For (..., N, N) win counts: whether every method can reach every other along 'beat' edges. This is
    exactly when the Bradley–Terry / Thurstone maximum-likelihood estimate exists (Zermelo/Ford)."""
    n = counts.shape[-1]
    reach = ((counts > 0) | np.eye(n, dtype=bool)).astype(float)
    for _ in range(max(1, int(np.ceil(np.log2(max(n, 2)))))):
        reach = (reach @ reach > 0).astype(float)
    return reach.all(axis=(-2, -1))
