"""The study's sqlite database: the plan, who is who, and every answer.

One connection per request, WAL journal, `synchronous=FULL`: an answer is acknowledged only after its
transaction is on disk, so a crash loses at most the answer in flight. Every write runs in `BEGIN IMMEDIATE`
and re-checks, inside the transaction, that the trial it answers is the subject's next one: a double click,
a resubmitted form or a second tab can never record a trial twice or out of order (the primary key
(slot, position) would refuse it anyway).

Tables: meta (key → JSON value), files (served image files), slots (one per planned subject; `subject` is
set when someone takes it), trials (the plan; A/B `methods` = [left, right], ranking = the layout), answers
(one per answered trial), browsers (a browser's cookie key → its slot).

Who may continue as a participant: the browser that joined (its cookie), or whoever enters that participant's
resume code — an HMAC of the slot, the id and the time of joining under the study's secret, so it is
unguessable, never stored, and void once the place is given back. Typing an id that is taken is refused: ids
are names (often s01, s02, … or a sign-up sheet's), not secrets. A place taken by someone who then answered
nothing is given back after a time-out (`join(..., stale_after=)`), so abandoned or scripted joins cannot use
up the planned participants.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import sqlite3
import time
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from studies.collect.design import Trial, rank_depth

SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE files (name TEXT PRIMARY KEY, image TEXT NOT NULL, method TEXT);
CREATE TABLE slots (slot INTEGER PRIMARY KEY, subject TEXT UNIQUE, joined_at REAL);
CREATE TABLE trials (slot INTEGER NOT NULL, position INTEGER NOT NULL, image TEXT NOT NULL,
                     methods TEXT NOT NULL, repeat_of INTEGER, first_shown_at REAL, shown_at REAL,
                     PRIMARY KEY (slot, position));
CREATE TABLE answers (slot INTEGER NOT NULL, position INTEGER NOT NULL, choice TEXT NOT NULL,
                      winner TEXT, ranks TEXT, answered_at REAL NOT NULL, rt_client_ms INTEGER,
                      rt_server_ms INTEGER, PRIMARY KEY (slot, position),
                      FOREIGN KEY (slot, position) REFERENCES trials (slot, position));
CREATE TABLE browsers (key TEXT PRIMARY KEY, slot INTEGER NOT NULL REFERENCES slots (slot), created_at REAL);
"""
MAX_ID_LENGTH = 40
CHOICES = ("a", "b", "tie")
CODE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford's base 32: no I, L, O or U to misread
CODE_LENGTH = 10  # 50 bits
CODE_LOOKALIKES = str.maketrans({"O": "0", "I": "1", "L": "1", "-": None, " ": None})


class Rejected(Exception):
    """A submission that is refused as a whole; `status` is the HTTP status, str(err) the message shown."""

    def __init__(self, status: int, message: str, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.status, self.retry_after = status, retry_after


@dataclass(frozen=True)
class Subject:
    slot: int
    id: str
    answered: int
    total: int
    resume_code: str  # what continues this session from another browser


def resume_code(secret: bytes, slot: int, subject: str, joined_at: float) -> str:
    """The participant's resume code, "XXXXX-XXXXX" (CODE_ALPHABET)."""
    digest = hmac.new(secret, f"resume:{slot}:{subject}:{joined_at!r}".encode(), hashlib.sha256).digest()
    n = int.from_bytes(digest[:8], "big") >> (64 - 5 * CODE_LENGTH)
    code = "".join(CODE_ALPHABET[(n >> (5 * k)) & 31] for k in reversed(range(CODE_LENGTH)))
    return f"{code[:5]}-{code[5:]}"


def normal_code(text: str) -> str | None:
    """A typed resume code as `resume_code` writes it (case, spaces, dashes and look-alike letters forgiven),
    or None when it cannot be one."""
    if len(text) > 4 * CODE_LENGTH:
        return None
    code = text.upper().translate(CODE_LOOKALIKES)
    if len(code) != CODE_LENGTH or any(c not in CODE_ALPHABET for c in code):
        return None
    return f"{code[:5]}-{code[5:]}"


def check_subject_id(text: str) -> str:
    """A participant id as typed: surrounding spaces dropped; refused (Rejected 400) when empty, too long,
    holding control characters, or starting like a spreadsheet formula (= + - @: the CSV is opened in
    spreadsheets). Any other character is allowed and escaped wherever it is shown."""
    sid = unicodedata.normalize("NFC", text).strip()
    if not sid:
        raise Rejected(400, "The participant id is empty.")
    if len(sid) > MAX_ID_LENGTH:
        raise Rejected(400, f"The participant id is longer than {MAX_ID_LENGTH} characters.")
    if any(unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp") for c in sid):
        raise Rejected(400, "The participant id contains control characters.")
    if sid[0] in "=+-@":
        raise Rejected(400, "The participant id cannot start with = + - or @.")
    if sid.lower() == "tie":
        raise Rejected(400, "'tie' cannot be a participant id.")
    return sid


class Store:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise FileNotFoundError(self.path)
        self._meta: dict | None = None

    @contextmanager
    def connect(self) -> Iterator[sqlite3.Connection]:
        con = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        try:
            con.execute("PRAGMA journal_mode=WAL")
            con.execute("PRAGMA synchronous=FULL")
            con.execute("PRAGMA foreign_keys=ON")
            yield con
        finally:
            con.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        with self.connect() as con:
            con.execute("BEGIN IMMEDIATE")
            try:
                yield con
            except BaseException:
                con.execute("ROLLBACK")
                raise
            con.execute("COMMIT")

    @classmethod
    def create(cls, path: str | Path, meta: dict, files: list[tuple[str, str, str | None]],
               plan: list[list[Trial]]) -> "Store":
        """A new database: `meta` (JSON-able values), `files` (name, image, method or None for the
        composite), `plan` (per slot, its trials)."""
        con = sqlite3.connect(path, isolation_level=None)
        try:
            con.executescript(SCHEMA)
            con.execute("BEGIN")
            con.executemany("INSERT INTO meta VALUES (?, ?)", [(k, json.dumps(v)) for k, v in meta.items()])
            con.executemany("INSERT INTO files VALUES (?, ?, ?)", files)
            con.executemany("INSERT INTO slots (slot) VALUES (?)", [(s,) for s in range(len(plan))])
            con.executemany("INSERT INTO trials (slot, position, image, methods, repeat_of) VALUES (?, ?, ?, ?, ?)",
                            [(s, t.position, t.image, json.dumps(list(t.methods)), t.repeat_of)
                             for s, trials in enumerate(plan) for t in trials])
            con.execute("COMMIT")
        finally:
            con.close()
        return cls(path)

    # ---- reading ---------------------------------------------------------------------------------------
    def meta(self) -> dict:
        if self._meta is None:
            with self.connect() as con:
                self._meta = {k: json.loads(v) for k, v in con.execute("SELECT key, value FROM meta")}
        return self._meta

    def file_names(self) -> set[str]:
        with self.connect() as con:
            return {r[0] for r in con.execute("SELECT name FROM files")}

    def image_files(self, image: str) -> dict[str | None, str]:
        """method (None = the composite) → file name, for one image."""
        with self.connect() as con:
            return {m: n for n, m in con.execute("SELECT name, method FROM files WHERE image = ?", (image,))}

    def _subject(self, con: sqlite3.Connection, slot: int) -> Subject:
        sid, joined_at = con.execute("SELECT subject, joined_at FROM slots WHERE slot = ?", (slot,)).fetchone()
        total = con.execute("SELECT COUNT(*) FROM trials WHERE slot = ?", (slot,)).fetchone()[0]
        done = con.execute("SELECT COUNT(*) FROM answers WHERE slot = ?", (slot,)).fetchone()[0]
        return Subject(slot, sid, done, total, self._code(slot, sid, joined_at))

    def _code(self, slot: int, subject: str, joined_at: float) -> str:
        return resume_code(self.meta()["secret"].encode(), slot, subject, joined_at)

    def subject_for_browser(self, key: str | None) -> Subject | None:
        if not key:
            return None
        with self.connect() as con:
            row = con.execute("SELECT slot FROM browsers WHERE key = ?", (key,)).fetchone()
            return self._subject(con, row[0]) if row else None

    def counts(self) -> dict[str, int]:
        """Slots, subjects who joined, subjects finished, answers."""
        with self.connect() as con:
            slots, joined = con.execute("SELECT COUNT(*), COUNT(subject) FROM slots").fetchone()
            answers = con.execute("SELECT COUNT(*) FROM answers").fetchone()[0]
            finished = con.execute(
                "SELECT COUNT(*) FROM slots s WHERE subject IS NOT NULL AND (SELECT COUNT(*) FROM trials t "
                "WHERE t.slot = s.slot) = (SELECT COUNT(*) FROM answers a WHERE a.slot = s.slot)").fetchone()[0]
        return {"slots": slots, "joined": joined, "finished": finished, "answers": answers}

    # ---- joining ---------------------------------------------------------------------------------------
    def join(self, browser_key: str, typed_id: str | None, *, stale_after: float | None = None,
             now: float | None = None) -> tuple[Subject, bool]:
        """Bind this browser to a new participant: the next free slot under `typed_id`, or under an assigned
        id "s01", "s02", … when none is typed. A typed id that is taken is refused (409) unless it is this
        browser's own participant (then it continues). First, places taken more than `stale_after` seconds
        ago with no answer are given back. Returns (subject, is_new)."""
        sid = check_subject_id(typed_id) if typed_id is not None and typed_id.strip() else None
        now = time.time() if now is None else now
        with self.transaction() as con:
            if stale_after is not None:
                self._release(con, now - stale_after)
            if sid is not None:
                row = con.execute("SELECT slot FROM slots WHERE subject = ?", (sid,)).fetchone()
                if row is not None:
                    mine = con.execute("SELECT 1 FROM browsers WHERE key = ? AND slot = ?",
                                       (browser_key, row[0])).fetchone()
                    if mine:
                        return self._subject(con, row[0]), False
                    raise Rejected(409, f"The participant id {sid} is already taken. To continue as {sid}, enter "
                                        "the resume code you were given under “Continue”; otherwise choose "
                                        "another id. Nothing was changed.")
            row = con.execute("SELECT slot FROM slots WHERE subject IS NULL ORDER BY slot LIMIT 1").fetchone()
            if row is None:
                raise Rejected(409, "This study has all the participants it planned for: thank you for "
                                    "your interest.")
            slot = row[0]
            if sid is None:
                n_slots = con.execute("SELECT COUNT(*) FROM slots").fetchone()[0]
                width = max(2, len(str(n_slots)))
                k = slot + 1
                while con.execute("SELECT 1 FROM slots WHERE subject = ?", (f"s{k:0{width}d}",)).fetchone():
                    k += 1  # someone typed this id already
                sid = f"s{k:0{width}d}"
            con.execute("UPDATE slots SET subject = ?, joined_at = ? WHERE slot = ?", (sid, now, slot))
            con.execute("INSERT OR REPLACE INTO browsers VALUES (?, ?, ?)", (browser_key, slot, now))
            return self._subject(con, slot), True

    def resume(self, browser_key: str, typed_code: str) -> Subject:
        """Bind this browser to the participant whose resume code this is; Rejected (400) when none is."""
        code = normal_code(typed_code)
        if code is None:
            raise Rejected(400, "This is not a resume code (they look like 7K3QX-M9TPA); nothing was changed.")
        with self.transaction() as con:
            joined = con.execute("SELECT slot, subject, joined_at FROM slots WHERE subject IS NOT NULL").fetchall()
            for slot, sid, joined_at in joined:  # every code compared, in constant time each
                if hmac.compare_digest(self._code(slot, sid, joined_at), code):
                    con.execute("INSERT OR REPLACE INTO browsers VALUES (?, ?, ?)", (browser_key, slot, time.time()))
                    return self._subject(con, slot)
        raise Rejected(400, "No participant has this resume code: please check it, or start as a new participant. "
                            "Nothing was changed.")

    @staticmethod
    def _release(con: sqlite3.Connection, joined_before: float) -> int:
        """Give back the places taken before `joined_before` that have no answer; how many."""
        stale = [(r[0],) for r in con.execute(
            "SELECT slot FROM slots s WHERE subject IS NOT NULL AND joined_at < ? AND NOT EXISTS "
            "(SELECT 1 FROM answers a WHERE a.slot = s.slot)", (joined_before,))]
        con.executemany("DELETE FROM browsers WHERE slot = ?", stale)
        con.executemany("UPDATE trials SET shown_at = NULL, first_shown_at = NULL WHERE slot = ?", stale)
        con.executemany("UPDATE slots SET subject = NULL, joined_at = NULL WHERE slot = ?", stale)
        return len(stale)

    # ---- trials and answers ----------------------------------------------------------------------------
    def next_trial(self, slot: int, mark_shown: bool = True) -> Trial | None:
        """The subject's first unanswered trial (its display time recorded), or None when all are done."""
        with self.transaction() as con:
            row = con.execute("SELECT position, image, methods, repeat_of FROM trials t WHERE slot = ? AND NOT "
                              "EXISTS (SELECT 1 FROM answers a WHERE a.slot = t.slot AND a.position = t.position) "
                              "ORDER BY position LIMIT 1", (slot,)).fetchone()
            if row is None:
                return None
            if mark_shown:
                now = time.time()
                con.execute("UPDATE trials SET shown_at = ?, first_shown_at = COALESCE(first_shown_at, ?) "
                            "WHERE slot = ? AND position = ?", (now, now, slot, row[0]))
            return Trial(row[0], row[1], tuple(json.loads(row[2])), row[3])

    def record(self, slot: int, position: int, choice: str | dict[str, int], rt_client_ms: int | None) -> None:
        """Store one answer. A/B: `choice` is the side chosen ("a" = left, "b" = right, "tie"). Ranking: a dict
        display letter → rank (1 = best) covering ranks 1..depth exactly once. Rejected (409) unless
        `position` is the subject's next trial; Rejected (400) for a malformed answer. Nothing is written
        unless everything is valid."""
        design = self.meta()["design"]
        with self.transaction() as con:
            nxt = con.execute("SELECT MIN(position) FROM trials t WHERE slot = ? AND NOT EXISTS (SELECT 1 FROM "
                              "answers a WHERE a.slot = t.slot AND a.position = t.position)", (slot,)).fetchone()[0]
            if nxt is None:
                raise Rejected(409, "Every trial of this session is already answered; nothing was changed.")
            if position < nxt:
                raise Rejected(409, f"Trial {position + 1} was already answered (a repeated submission?); "
                                    "the first answer is kept and nothing was changed.")
            if position > nxt:
                raise Rejected(409, f"Trial {position + 1} is not the current trial ({nxt + 1}); nothing was "
                                    "changed.")
            methods, shown_at = con.execute("SELECT methods, shown_at FROM trials WHERE slot = ? AND "
                                            "position = ?", (slot, position)).fetchone()
            methods = json.loads(methods)
            if design == "ab":
                if choice not in CHOICES:
                    raise Rejected(400, "The answer must be A, B or no preference.")
                winner = "tie" if choice == "tie" else methods[0 if choice == "a" else 1]
                stored_choice, ranks = choice, None
            else:
                by_method = rank_answer(choice, methods)
                winner = next(m for m, r in by_method.items() if r == 1)
                stored_choice, ranks = json.dumps(choice, sort_keys=True), json.dumps(by_method)
            now = time.time()
            rt_server = round((now - shown_at) * 1000) if shown_at else None
            con.execute("INSERT INTO answers VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                        (slot, position, stored_choice, winner, ranks, now, rt_client_ms, rt_server))

    def answered(self) -> list[dict]:
        """Every answered trial with its subject, plan and answer, in (slot, position) order."""
        with self.connect() as con:
            rows = con.execute(
                "SELECT s.subject, t.slot, t.position, t.image, t.methods, t.repeat_of, t.first_shown_at, "
                "t.shown_at, a.choice, a.winner, a.ranks, a.answered_at, a.rt_client_ms, a.rt_server_ms "
                "FROM answers a JOIN trials t USING (slot, position) JOIN slots s USING (slot) "
                "ORDER BY t.slot, t.position").fetchall()
        keys = ("subject", "slot", "position", "image", "methods", "repeat_of", "first_shown_at", "shown_at",
                "choice", "winner", "ranks", "answered_at", "rt_client_ms", "rt_server_ms")
        out = []
        for r in rows:
            d = dict(zip(keys, r))
            d["methods"] = json.loads(d["methods"])
            d["ranks"] = json.loads(d["ranks"]) if d["ranks"] else None
            out.append(d)
        return out


def letters(n: int) -> list[str]:
    """Display letters of n outputs: A, B, C, …"""
    return [chr(ord("A") + k) for k in range(n)]


def rank_answer(choice: object, methods: list[str]) -> dict[str, int]:
    """method → rank (0 = unranked) from {letter: rank}; Rejected (400) unless ranks 1..depth are each given
    to exactly one shown output and nothing else is given."""
    depth = rank_depth(len(methods))
    shown = letters(len(methods))
    if not isinstance(choice, dict):
        raise Rejected(400, "The ranking is missing.")
    unknown = sorted(set(choice) - set(shown))
    if unknown:
        raise Rejected(400, f"Unknown output(s) {', '.join(map(str, unknown))} in the ranking.")
    ranks = list(choice.values())
    if any(not isinstance(r, int) or isinstance(r, bool) or not 1 <= r <= depth for r in ranks):
        raise Rejected(400, f"Ranks must be whole numbers from 1 to {depth}.")
    if sorted(ranks) != list(range(1, depth + 1)):
        missing = sorted(set(range(1, depth + 1)) - set(ranks))
        dup = sorted({r for r in ranks if ranks.count(r) > 1})
        what = (f"rank {dup[0]} is given twice" if dup else f"rank {missing[0]} is not given")
        raise Rejected(400, f"Please give each of the ranks 1 to {depth} to exactly one image ({what}).")
    return {m: int(choice.get(letter, 0)) for letter, m in zip(shown, methods)}
