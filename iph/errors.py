"""User-facing errors, shared by every package: the CLI prints them as one line and exits 2 (no traceback).

They live in iph/, the bottom layer (baselines/ and harness/ import iph; iph imports neither), so the models'
own input checks can raise them without an import pointing back up. harness/errors.py re-exports them."""

from __future__ import annotations


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
    """An unknown suite/method/metric name, with did-you-mean suggestions."""

    def __init__(self, kind: str, name: str, known: list[str]) -> None:
        import difflib

        self._args = (kind, name, list(known))
        close = difflib.get_close_matches(name, known, n=3, cutoff=0.5)
        hint = f" Did you mean: {', '.join(close)}?" if close else ""
        super().__init__(f"unknown {kind} '{name}'.{hint} Known: {', '.join(sorted(known))}")

    def __reduce__(self):
        return (type(self), self._args)
