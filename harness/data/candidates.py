"""Which reference regions a run uses, by name — light (no numpy), because the command line checks them:

- run-benchmark `--reference`: `given` (the suite's reference regions) or `auto` (picked by
  harness/data/references.py `auto_reference`);
- run-robustness `--references`: a comma-separated list of candidate kinds, each giving zero or more regions
  per sample (harness/data/references.py `candidates`):
      suite       the suite's own named regions (a folder suite's references/<id>/<name>.png)
      background  everything outside the foreground
      auto        the most salient background object
      boxes:K     K boxes on a grid, minus the foreground (the paper's Fig. 5)
"""

from __future__ import annotations

from harness.errors import HarnessError, UnknownNameError

REFERENCE_MODES = ("given", "auto")
CANDIDATE_KINDS = ("suite", "background", "auto", "boxes")


def parse_candidates(text: str) -> list[str]:
    """`suite,background,auto,boxes:K` → the list, checked (unknown kinds: did-you-mean)."""
    out = []
    for item in filter(None, (t.strip() for t in text.split(","))):
        kind, _, arg = item.partition(":")
        if kind not in CANDIDATE_KINDS:
            raise UnknownNameError("reference candidate", kind, list(CANDIDATE_KINDS))
        if kind == "boxes" and not (arg.isdigit() and 1 <= int(arg) <= 64):
            raise HarnessError(f"--references {item}: boxes takes a count, e.g. boxes:4")
        if kind != "boxes" and arg:
            raise HarnessError(f"--references {item}: '{kind}' takes no argument")
        out.append(item)
    if not out:
        raise HarnessError("--references: no candidate given")
    return out


def check_candidates(flag: str, text: str) -> str:
    """The option check of `--references`: the text, once it parses."""
    parse_candidates(text)
    return text
