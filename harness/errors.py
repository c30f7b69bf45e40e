"""User-facing errors: the CLI prints them as one line and exits 2 (no traceback).

The bottom of the harness: every package may import this module, and it imports nothing of ours. iph/ and
baselines/ never import it — they are plain PyTorch and raise ValueError; the harness turns those into
these errors where it calls them.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def did_you_mean(name: str, known: Iterable[str]) -> str:
    """' Did you mean: a, b?' for the close matches of `name` among `known` ('' when none is close)."""
    close = difflib.get_close_matches(name, list(known), n=3, cutoff=0.5)
    return f" Did you mean: {', '.join(close)}?" if close else ""


class HarnessError(Exception):
    """Bad input or configuration the user can fix. str(err) is the one line shown to them."""

    exit_code = 2


class InputError(HarnessError):
    """A file, row or sample is unusable. `where` names the file/row/sample id."""

    def __init__(self, where: str, problem: str) -> None:
        self.where = str(where)
        self.problem = problem
        super().__init__(f"{self.where}: {problem}")

    def __reduce__(self):  # picklable with its two arguments, so it crosses Ray process boundaries intact
        return (type(self), (self.where, self.problem))


class UnknownNameError(HarnessError):
    """An unknown suite/method/metric/option name, with did-you-mean suggestions."""

    def __init__(self, kind: str, name: str, known: Iterable[str]) -> None:
        known = list(known)
        self._args = (kind, name, known)
        super().__init__(f"unknown {kind} '{name}'.{did_you_mean(name, known)} Known: {', '.join(sorted(known))}")

    def __reduce__(self):
        return (type(self), self._args)
