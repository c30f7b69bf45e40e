"""Tables as the report shows them, each number tied to where it came from — rendered as HTML, CSV and LaTeX.

A number's `Ref` names its MLflow origin: a run's metric or tag, a field of one of its artifacts (`path`, a
`/`-separated walk: a dict key, a list index, or `k=v&k2=v2` for the list element or CSV row whose fields
match), times `scale` (−1 for a difference shown the other way round); or an aggregate (`agg`) of one metric
over several runs. The HTML carries it as data attributes, so a test can check every number shown against
MLflow itself.
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass, field

from harness.formatting import sig


@dataclass(frozen=True)
class Ref:
    run: str = ""
    metric: str | None = None
    tag: str | None = None
    artifact: str | None = None
    path: str | None = None
    scale: float = 1.0
    runs: tuple[str, ...] = ()  # an aggregate of `metric` over these runs …
    agg: str | None = None  # … "mean", "count", or the 95% t-interval's "t95_lo" / "t95_hi"

    def attrs(self) -> str:
        pairs = {"data-run": self.run or None, "data-metric": self.metric, "data-tag": self.tag,
                 "data-artifact": self.artifact, "data-path": self.path,
                 "data-scale": None if self.scale == 1.0 else f"{self.scale:g}",
                 "data-runs": " ".join(self.runs) or None, "data-agg": self.agg}
        return "".join(f' {k}="{html.escape(v)}"' for k, v in pairs.items() if v is not None)


@dataclass
class Num:
    value: float | None
    ref: Ref
    digits: int = 4  # significant digits; 0: a count (an integer)
    p: bool = False  # a p-value: below 0.001 in scientific notation (6.8e-18, not 0.0000…068)

    @property
    def missing(self) -> bool:
        return self.value is None or (isinstance(self.value, float) and math.isnan(self.value))

    def text(self) -> str:
        if self.missing:
            return "—"
        if self.digits == 0:
            return f"{self.value:.0f}"
        if self.p and 0 < self.value < 1e-3:
            return f"{self.value:.1e}"
        return sig(self.value, self.digits)


Part = str | Num


@dataclass
class Cell:
    parts: list[Part]
    sub: list[Part] = field(default_factory=list)  # a second, smaller line (HTML only)
    mark: str | None = None  # "best" | "second"

    @property
    def value(self) -> float | None:
        first = next((p for p in self.parts if isinstance(p, Num)), None)
        return None if first is None or first.missing else float(first.value)


def ci_parts(mean: Num, lo: Num, hi: Num) -> list[Part]:
    """mean [lo, hi]; just the mean when the run logged no interval."""
    return [mean] if lo.missing and hi.missing else [mean, " [", lo, ", ", hi, "]"]


def mark_best(cells: list[Cell], higher: bool) -> None:
    """The best value's cells become "best" (red in the paper), the next distinct value's "second" (blue)."""
    values = sorted({c.value for c in cells if c.value is not None}, reverse=higher)
    for c in cells:
        if c.value is not None and c.value == values[0] and len(cells) > 1:
            c.mark = "best"
        elif c.value is not None and len(values) > 1 and c.value == values[1]:
            c.mark = "second"


@dataclass
class Table:
    key: str  # file stem: table1 → table1.csv, table1.tex
    title: str
    caption: str
    columns: list[str]
    rows: list[tuple[str, list[Cell]]]
    groups: list[tuple[str, int]] = field(default_factory=list)  # (label, columns spanned) above `columns`
    records: list[dict] = field(default_factory=list)  # the CSV: one flat row per value
    notes: list[list[Part]] = field(default_factory=list)  # lines under the table
    row_header: str = "method"
    # HTML only: groups with the same columns as blocks of rows under one header row, not side by side — the
    # page's width then does not grow with the number of groups (CSV and LaTeX keep them side by side)
    stack: bool = False


def parts_html(parts: list[Part]) -> str:
    """Parts as HTML: each shown number in a span carrying its origin (`Ref.attrs`)."""
    return "".join(f'<span class="num"{p.ref.attrs()}>{html.escape(p.text())}</span>' if isinstance(p, Num)
                   and not p.missing else html.escape(p.text() if isinstance(p, Num) else p) for p in parts)


def _row(label: str, cells: list[Cell]) -> str:
    tds = []
    for c in cells:
        cls = f' class="{c.mark}"' if c.mark else ""
        sub = f'<br><small>{parts_html(c.sub)}</small>' if c.sub else ""
        tds.append(f'<td{cls}><span class="main">{parts_html(c.parts)}</span>{sub}</td>')
    return f'<tr><th scope="row">{html.escape(label)}</th>{"".join(tds)}</tr>'


def _stackable(t: Table) -> bool:
    if not (t.stack and t.groups) or len({n for _, n in t.groups}) != 1:
        return False
    n = t.groups[0][1]
    return all(t.columns[i * n:(i + 1) * n] == t.columns[:n] for i in range(len(t.groups)))


def _blocks(t: Table) -> list[str]:
    """The stacked body: per group, a header row with its label, then the rows that have a value in it (a row
    the group has no run for — a method its run did not include — is left out of its block)."""
    n, out = t.groups[0][1], []
    for i, (label, _) in enumerate(t.groups):
        rows = [(name, cells[i * n:(i + 1) * n]) for name, cells in t.rows]
        rows = [(name, cells) for name, cells in rows if any(isinstance(p, Num) for c in cells for p in c.parts)]
        out.append(f'<tbody><tr class="group"><th scope="rowgroup" colspan="{n + 1}">{html.escape(label)}</th></tr>'
                   + "".join(_row(name, cells) for name, cells in rows) + "</tbody>")
    return out


def to_html(t: Table) -> str:
    out = [f'<table id="{t.key}"><caption><strong>{html.escape(t.title)}.</strong> {html.escape(t.caption)}'
           "</caption><thead>"]
    stacked = _stackable(t)
    columns = t.columns[:t.groups[0][1]] if stacked else t.columns
    if t.groups and not stacked:
        out.append('<tr><th scope="col"></th>' + "".join(
            f'<th scope="colgroup" colspan="{n}">{html.escape(label)}</th>' for label, n in t.groups) + "</tr>")
    out.append(f'<tr><th scope="col">{html.escape(t.row_header)}</th>'
               + "".join(f'<th scope="col">{html.escape(c)}</th>' for c in columns) + "</tr></thead>")
    out += _blocks(t) if stacked else ["<tbody>", *(_row(label, cells) for label, cells in t.rows), "</tbody>"]
    out.append("</table>")
    if t.notes:
        out.append('<ul class="notes">' + "".join(f"<li>{parts_html(n)}</li>" for n in t.notes) + "</ul>")
    return "".join(out)


def to_csv(t: Table) -> str:
    import pandas as pd

    return pd.DataFrame(t.records).to_csv(index=False)


_LATEX_SPECIAL = {"&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_", "{": r"\{", "}": r"\}",
                  "~": r"\textasciitilde{}", "^": r"\textasciicircum{}", "\\": r"\textbackslash{}",
                  "Δ": r"$\Delta$", "—": "--", "–": "--", "↑": r"$\uparrow$", "↓": r"$\downarrow$",
                  "²": r"$^2$", "×": r"$\times$", "→": r"$\to$", "·": r"$\cdot$"}


def latex_escape(text: str) -> str:
    return "".join(_LATEX_SPECIAL.get(ch, ch) for ch in text)


def _latex_cell(c: Cell) -> str:
    texts = [latex_escape(p.text() if isinstance(p, Num) else p) for p in c.parts]
    if not texts:
        return ""
    main, rest = texts[0], "".join(texts[1:])
    if c.mark:
        main = rf"\textcolor{{{'red' if c.mark == 'best' else 'blue'}}}{{{main}}}"
    return main + (rf"{{\scriptsize{rest}}}" if rest else "")


def to_latex(t: Table) -> str:
    n = len(t.columns)
    lines = [f"% {t.title}. {t.caption}".replace("\n", " "),
             r"% needs \usepackage{booktabs,xcolor}; best in red, second best in blue", r"\begin{tabular}{l" + "c" * n
             + "}", r"\toprule"]
    if t.groups:
        lines.append(" & " + " & ".join(rf"\multicolumn{{{k}}}{{c}}{{{latex_escape(g)}}}" for g, k in t.groups)
                     + r" \\")
        col, rules = 2, []
        for _, k in t.groups:
            rules.append(rf"\cmidrule(lr){{{col}-{col + k - 1}}}")
            col += k
        lines.append(" ".join(rules))
    lines.append(" & ".join([latex_escape(t.row_header.capitalize())] + [latex_escape(c) for c in t.columns])
                 + r" \\")
    lines.append(r"\midrule")
    for label, cells in t.rows:
        lines.append(" & ".join([latex_escape(label)] + [_latex_cell(c) for c in cells]) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}", ""]
    return "\n".join(lines)
