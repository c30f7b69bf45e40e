"""What each method costs, beside what it scores: Table 1's cost block (per benchmark run: latency median and
P90, peak memory, parameters, GFLOP and the way up to native resolution, from each method's child run), the
quality-against-latency scatter with its Pareto front, and run-efficiency's table (latency per input size).
Every number keeps its MLflow origin (reports/cells.py), as in the other tables."""

from __future__ import annotations

import math

from reports import columns
from reports.cells import Cell, Num, Ref, Table
from reports.source import Source

COST = (("latency_ms_median", "ms median", 3), ("latency_ms_p90", "ms P90", 3), ("peak_mb", "peak MB", 3),
        ("params", "params", 0), ("gflop", "GFLOP", 3))


def _num(child, key: str, digits: int) -> Num:
    return Num(child.metrics.get(key), Ref(child.run_id, metric=key), digits)


def cost_table(benchmarks: list[Source], labels: dict[str, str] | None = None) -> Table | None:
    """Methods × (per run: ms median, ms P90, peak MB, params, GFLOP, way up); None when no run logged costs
    (runs made before the harness measured them)."""
    runs = [s for s in benchmarks if any("latency_ms_median" in c.metrics for c in s.children)]
    if not runs:
        return None
    labels = labels or columns.labels(runs)
    methods = list(dict.fromkeys(c.name for s in runs for c in s.children))
    cells, records, notes = {}, [], []
    for src in runs:
        for child in src.children:
            row = [Cell([_num(child, key, digits)]) for key, _, digits in COST]
            row.append(Cell([child.tags.get("upsample", "—")]))
            cells[src.run_id, child.name] = row
            records.append({"column": labels[src.run_id], "run_id": src.run_id, "method": child.name,
                            **{key: child.metrics.get(key) for key, _, _ in COST},
                            "upsample": child.tags.get("upsample"), "device": child.tags.get("device")})
        devices = sorted({c.tags["device"] for c in src.children if c.tags.get("device")})
        if devices:
            notes.append([f"{labels[src.run_id]}: run on {'; '.join(devices)}"])
    width = len(COST) + 1
    rows = [(m, [c for s in runs for c in cells.get((s.run_id, m), [Cell(["—"])] * width)]) for m in methods]
    return Table("table1_cost", "Table 1 — cost", "What each method's harmonize call cost in the same run: "
                 "latency (ms, warm; median and P90 over the run's images), peak memory (MB; GPU: max allocated, "
                 "CPU: resident growth of the first call), parameters, GFLOP of one forward, and the way up from "
                 "the working resolution to the sample's (none: scored at it).",
                 [label for _ in runs for label in [*(c[1] for c in COST), "way up"]], rows, records=records,
                 notes=notes, stack=True, groups=[(labels[s.run_id], width) for s in runs])


def pareto_front(points: dict[str, tuple[float, float]]) -> list[str]:
    """The names no other point beats on both axes (lower latency and lower error), by latency."""
    ok = {n: p for n, p in points.items() if all(math.isfinite(v) for v in p)}
    front = [n for n, (x, y) in ok.items()
             if not any((x2 <= x and y2 <= y) and (x2 < x or y2 < y) for m, (x2, y2) in ok.items() if m != n)]
    return sorted(front, key=lambda n: ok[n])


def scatter_points(src: Source, metric: str = "fmse") -> dict[str, tuple[float, float]]:
    """{method: (latency ms median, metric mean)} of a benchmark run's children that logged both."""
    return {c.name: (c.metrics["latency_ms_median"], c.metrics[metric]) for c in src.children
            if "latency_ms_median" in c.metrics and metric in c.metrics}


def efficiency_table(runs: list[Source], labels: dict[str, str] | None = None) -> Table | None:
    """run-efficiency: methods × (per run: params, GFLOP at the first size, ms median at each size)."""
    if not runs:
        return None
    labels = labels or columns.labels(runs)
    sizes = {s.run_id: sorted({int(k.split("/")[1]) for c in s.children for k in c.metrics
                               if k.startswith("latency_ms_median/")}) for s in runs}
    methods = list(dict.fromkeys(c.name for s in runs for c in s.children))
    cells, records, groups, headers = {}, [], [], []
    for src in runs:
        zs = sizes[src.run_id]
        heads = ["params", f"GFLOP @{zs[0]}" if zs else "GFLOP", *(f"ms @{z}" for z in zs)]
        headers += heads
        groups.append((labels[src.run_id], len(heads)))
        for child in src.children:
            row = [Cell([_num(child, "params", 0)])]
            row.append(Cell([_num(child, f"gflop/{zs[0]}", 3)]) if zs else Cell(["—"]))
            for z in zs:
                med, p90 = _num(child, f"latency_ms_median/{z}", 3), _num(child, f"latency_ms_p90/{z}", 3)
                row.append(Cell([med, " (", p90, ")"]))
                records.append({"column": labels[src.run_id], "run_id": src.run_id, "method": child.name, "size": z,
                                "latency_ms_median": med.value, "latency_ms_p90": p90.value,
                                "peak_mb": child.metrics.get(f"peak_mb/{z}"), "params": child.metrics.get("params"),
                                "gflop": child.metrics.get(f"gflop/{z}"), "device": child.tags.get("device")})
            cells[src.run_id, child.name] = row
    rows = [(m, [c for s in runs for c in cells.get((s.run_id, m), [Cell(["—"])] * dict(groups)[labels[s.run_id]])])
            for m in methods]
    return Table("efficiency", "Efficiency — latency by input size", "run-efficiency: latency of harmonize alone "
                 "in ms, median (P90) over the timed calls after a warm-up, batch 1, on square inputs of each size; "
                 "parameters; GFLOP of one call at the first size.", headers, rows, groups=groups, records=records)
