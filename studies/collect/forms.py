"""What a participant's browser sends, read strictly before anything reaches the database.

Every number (the trial, the response time, each rank) goes through one rule, `whole_number`: 1 to 9 ASCII
digits and nothing else. Python's own readings are all too lenient for text typed or forged by strangers:
`str.isdigit` accepts "²" (which `int` then refuses: a 500), `int` accepts Arabic-Indic digits, "+1", " 1 "
and "1_0", and a 5,000-digit string makes `int` raise. Anything the rule refuses, or a number outside its
range, is a 400 with a sentence saying what was wrong; a field sent twice is refused too (which of the two
would count?).
"""

from __future__ import annotations

from typing import Protocol

from studies.collect.store import Rejected

MAX_DIGITS = 9  # enough for any count or duration here (a day is 86,400,000 ms); int() never sees more
MAX_RT_MS = 24 * 3600 * 1000
RANK_PREFIX = "rank_"


class Form(Protocol):
    """The part of Werkzeug's MultiDict that is used: first value of a key, every value of a key."""

    def get(self, key: str, default=None): ...

    def getlist(self, key: str) -> list[str]: ...

    def keys(self): ...


def whole_number(text: str | None, lo: int, hi: int) -> int | None:
    """`text` as an int in [lo, hi] when it is 1 to MAX_DIGITS ASCII digits ("0"–"9") and nothing else; None
    otherwise (signs, spaces, underscores, other scripts' digits, superscripts, empty, too long)."""
    if text is None or not 0 < len(text) <= MAX_DIGITS or not text.isascii() or not text.isdigit():
        return None
    value = int(text)  # ASCII digits only, at most 9 of them: int() cannot fail here
    return value if lo <= value <= hi else None


def _single(form: Form) -> None:
    for key in form.keys():
        if len(form.getlist(key)) > 1:
            raise Rejected(400, "The answer sends one of its fields twice; nothing was recorded.")


def read_answer(form: Form, design: str, n_trials: int) -> tuple[int, str | dict[str, int], int | None]:
    """(position from 0, choice, client response time in ms or None) of an answer form; Rejected (400) when
    a field is malformed. A/B: the choice is the side as sent (the store checks it is a, b or tie); ranking:
    {letter: rank}, blank ranks left out (the store checks the ranks form a ranking)."""
    _single(form)
    trial = whole_number(form.get("trial"), 1, n_trials)
    if trial is None:
        raise Rejected(400, "The answer does not say which trial it is for; nothing was recorded.")
    rt_text = form.get("rt_ms", "")
    rt = None
    if rt_text != "":
        rt = whole_number(rt_text, 0, MAX_RT_MS)
        if rt is None:
            raise Rejected(400, "The response time sent with the answer is malformed; nothing was recorded.")
    if design == "ab":
        return trial - 1, form.get("choice", ""), rt
    ranks: dict[str, int] = {}
    for key in form.keys():
        value = form.get(key)
        if key.startswith(RANK_PREFIX) and value != "":
            rank = whole_number(value, 0, 10 ** MAX_DIGITS)
            if rank is None:
                raise Rejected(400, "A rank is not a whole number; nothing was recorded.")
            ranks[key[len(RANK_PREFIX):]] = rank
    return trial - 1, ranks, rt
