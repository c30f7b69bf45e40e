"""How numbers and tables are written, everywhere: terminal tables, significant digits, "mean [lo, hi]" cells and
strict JSON. Each result formats itself with these (harness/engine/results.py, harness/experiments/summary.py);
the report pages (reports/) use the same digits.

JSON has no infinity: a non-finite float (e.g. PSNR of identical images) is written as the string "inf" or
"-inf", and NaN as null, so every output is strict JSON that any parser (jq, JavaScript) accepts.
"""

from __future__ import annotations

import math
from typing import Any, Mapping

import numpy as np


def jsonable(obj: Any) -> Any:
    """Recursively convert numpy scalars/arrays, tuples and non-finite floats into strict-JSON values."""
    if isinstance(obj, Mapping):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return [jsonable(v) for v in obj.tolist()]
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        f = float(obj)
        if math.isnan(f):
            return None
        if math.isinf(f):
            return "inf" if f > 0 else "-inf"
        return f
    if isinstance(obj, np.bool_):
        return bool(obj)
    return obj


def fmt(v: Any, digits: int = 4) -> str:
    if v is None:
        return "-"
    if isinstance(v, (float, np.floating)):
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return f"{v:.{digits}g}" if abs(v) >= 1e4 or (v != 0 and abs(v) < 1e-3) else f"{v:.{digits}f}".rstrip("0").rstrip(".")
    return str(v)


def sig(v: Any, digits: int = 4) -> str:
    """`digits` significant digits, no exponent below 1e6: 651.2, 20.97, 0.8525."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    v = float(v)
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    if v == 0 or abs(v) >= 10 ** digits:
        return f"{v:.0f}"
    decimals = max(0, digits - 1 - int(math.floor(math.log10(abs(v)))))
    return f"{v:.{decimals}f}"


def table(header: list[str], rows: list[list[Any]]) -> str:
    """A plain aligned text table (first column left-aligned, the rest right-aligned)."""
    cells = [header] + [[fmt(c) for c in r] for r in rows]
    widths = [max(len(str(r[i])) for r in cells) for i in range(len(header))]
    lines = []
    for j, r in enumerate(cells):
        parts = [str(c).ljust(widths[i]) if i == 0 else str(c).rjust(widths[i]) for i, c in enumerate(r)]
        lines.append("  ".join(parts))
        if j == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def format_means(means: Mapping[str, Mapping[str, float]]) -> str:
    """Rows = names (methods), columns = metrics."""
    metrics = list(next(iter(means.values())).keys())
    return table(["", *metrics], [[name, *[m[k] for k in metrics]] for name, m in means.items()])


def ci_cell(mean: Any, lo: Any, hi: Any, digits: int = 4, n: int | None = None) -> str:
    """"651.2 [598.3, 707.9]": a mean and its 95% interval; "703.7 (n = 1, no CI)" when `n` says one value
    went into it (a bootstrap of one value is that value: [703.7, 703.7] would claim a certainty there is not)."""
    if n is not None and n < 2:
        return f"{sig(mean, digits)} (n = {n}, no CI)" if n == 1 else "-"
    return f"{sig(mean, digits)} [{sig(lo, digits)}, {sig(hi, digits)}]"


def count(v: Any) -> str:
    """A parameter count: "1.62M" from 100k up, the number below, "-" when unknown."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    return f"{v / 1e6:.2f}M" if v >= 1e5 else f"{int(v)}"


def plural(n: int, noun: str, nouns: str | None = None) -> str:
    """"1 method", "2 methods" (`nouns`: an irregular plural)."""
    return f"{n} {noun if n == 1 else (nouns or noun + 's')}"
