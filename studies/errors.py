"""The one exception the study analysis raises for unusable input.

`studies` stands alone (it does not import `harness`); the `harness analyze-votes` command converts this into
`harness.errors.InputError`, which the CLI prints as one line with exit code 2.
"""

from __future__ import annotations


class StudyInputError(ValueError):
    """Unusable input. `where` is e.g. "ab.csv:17" (file and CSV line number), `problem` one sentence."""

    def __init__(self, where: str, problem: str) -> None:
        self.where = str(where)
        self.problem = problem
        super().__init__(f"{self.where}: {problem}")
