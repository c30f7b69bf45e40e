"""The columns of the tables that set runs side by side (Table 1, robustness): one per run, labelled so that two
runs of one suite are told apart, and the lines above such a table that say which run each column is and why
(issue 22: a report that picks runs silently shows a 2-image run where the 26-image one was meant)."""

from __future__ import annotations

import html
import time

from reports.cells import Num, Ref, parts_html
from reports.source import Selection, Source

# what a kind's runs are grouped by when only the latest is kept (source.py, Source.group_key)
GROUPED_BY = {"benchmark": "suite, protocol and reference region", "votes": "study kind"}


def _images(n: int | None) -> str:
    return "? images" if n is None else f"{n} image{'' if n == 1 else 's'}"


def labels(sources: list[Source]) -> dict[str, str]:
    """Run id → its column's label: the suite; with the protocol or the reference region where columns of that
    suite differ in it; and where runs still share a label (--all, --run), their number of images when that
    tells them apart, else the start of their run id."""
    out = {}
    for src in sources:
        same = [s for s in sources if s.suite == src.suite]
        label = src.suite
        if len({s.tags.get("protocol") for s in same}) > 1:
            label += f" · {src.tags.get('protocol')}"
        if len({s.tags.get("reference") for s in same}) > 1:
            label += f" · reference {src.tags.get('reference')}"
        out[src.run_id] = label
    shared: dict[str, list[Source]] = {}
    for src in sources:
        shared.setdefault(out[src.run_id], []).append(src)
    for label, same in shared.items():
        if len(same) > 1:
            counts = [s.n_samples for s in same]
            by_count = None not in counts and len(set(counts)) == len(counts)
            for s in same:
                out[s.run_id] = f"{label} · {_images(s.n_samples)}" if by_count else f"{label} · run {s.run_id[:8]}"
    return out


def file_stem(src: Source, sources: list[Source]) -> str:
    """A per-run table's file name part: the suite, and the run where several runs of the suite are shown."""
    return src.suite if sum(s.suite == src.suite for s in sources) == 1 else f"{src.suite}_{src.run_id[:8]}"


def _started(src: Source) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(src.start_time / 1000))


def _where(selection: Selection) -> str:
    names = selection.experiments
    if not names:
        return "every experiment of the store"
    return f"experiment{'s' if len(names) > 1 else ''} {', '.join(html.escape(n) for n in names)}"


def rule(selection: Selection, command: str, kind: str) -> str:
    """One sentence: how the runs of the columns below were chosen (HTML)."""
    grouped = GROUPED_BY.get(kind, "suite")
    return {
        "latest": f"Each column is the latest finished {command} run of its {grouped} in {_where(selection)}. "
                  f"Older runs of the same {grouped} are left out (named beside the run that stands for them): "
                  "name runs with <code>--run ID</code>, or pass <code>--all</code> for every finished run, one "
                  "column each.",
        "all": f"<code>--all</code>: every finished {command} run in {_where(selection)}, one column each, oldest "
               "first; columns of one suite are told apart by their number of images, else by their run id.",
        "named": "The runs named with <code>--run</code>, one column each, in the order named.",
        "own": "This run's own report, logged with it: one column, this run. <code>harness report</code> sets runs "
               "side by side (the latest per suite, or <code>--run</code>, or <code>--all</code>).",
    }[selection.rule]


def _why(src: Source) -> str:
    text = html.escape(src.why)
    if src.left_out:
        older = []
        for o in src.left_out:
            more = (" — <strong>more images than this column's run</strong>"
                    if (o.n_samples or 0) > (src.n_samples or 0) else "")
            older.append(f"<code>{o.run_id}</code> ({_images(o.n_samples)}, {_started(o)}{more})")
        text += "; left out: " + ", ".join(older)
    return text


def provenance(selection: Selection, sources: list[Source], names: dict[str, str], command: str) -> str:
    """The lines above a table of `sources`: the rule, then per column its run, what it ran on, and why."""
    rows = []
    for src in sources:
        data = [src.tags.get("suite_source"), src.tags.get("protocol") and f"protocol {src.tags['protocol']}",
                src.tags.get("reference") and f"reference {src.tags['reference']}"]
        n = Num(src.n_samples, Ref(src.run_id, tag="n_samples"), 0)
        rows.append(f"<tr><th scope=\"row\">{html.escape(names[src.run_id])}</th><td>{html.escape(src.name)}<br>"
                    f"<code>{src.run_id}</code></td><td>{parts_html([n])}</td><td>"
                    f"{html.escape(', '.join(d for d in data if d))}</td><td>{_started(src)}</td>"
                    f"<td>{_why(src)}</td></tr>")
    head = "".join(f'<th scope="col">{h}</th>' for h in ("column", "run", "images", "data", "started", "why"))
    return (f'<div class="sources"><p>{rule(selection, command, sources[0].kind)}</p>'
            f'<table class="runs sources"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'
            "</div>")
