"""The report's charts as PNG bytes: responsiveness and reference accuracy per method, fg-ratio buckets, and a
heatmap of paired differences. Drawn with matplotlib's object API (a Figure and its Agg canvas, never pyplot):
no global state, no display needed, safe beside whatever backend the caller chose."""

from __future__ import annotations

import io
import math

from harness.scoring.metrics import HIGHER_IS_BETTER

PALETTE = ("#4477aa", "#ee6677", "#228833", "#ccbb44", "#66ccee", "#aa3377", "#bbbbbb", "#000000")


def _figure(width: float, height: float):
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=100, layout="constrained")


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def _finite(v) -> bool:
    return v is not None and isinstance(v, (int, float)) and math.isfinite(v)


def interval_bars(title: str, panels: list[tuple[str, dict[str, tuple]]], chance: dict[str, float]) -> bytes:
    """One horizontal bar chart per panel: {method: (value, lo, hi)}, with its 95% CI as an error bar and, where
    given, a dashed line at the chance / do-nothing level."""
    methods = list(dict.fromkeys(m for _, values in panels for m in values))
    fig = _figure(4.2 * len(panels), 0.45 * len(methods) + 1.4)
    fig.suptitle(title)
    for i, (label, values) in enumerate(panels):
        ax = fig.add_subplot(1, len(panels), i + 1)
        ys = list(range(len(methods)))[::-1]
        for y, m in zip(ys, methods):
            v, lo, hi = values.get(m, (None, None, None))
            if not _finite(v):
                continue
            err = [[v - lo], [hi - v]] if _finite(lo) and _finite(hi) else None
            ax.barh(y, v, color=PALETTE[methods.index(m) % len(PALETTE)], xerr=err, capsize=3)
        if label in chance:
            ax.axvline(chance[label], color="black", linestyle="--", linewidth=1)
        ax.set_yticks(ys, methods if i == 0 else [""] * len(methods))
        ax.set_xlabel(label)
    return _png(fig)


def bucket_bars(title: str, names: list[str], per: dict[str, dict[str, dict[str, float]]]) -> bytes:
    """Grouped bars: per fg-ratio bucket, one bar per method, for fMSE and fΔE2000."""
    metrics = [m for m in ("fmse", "fde2000") if any(m in v for v in per.values())]
    methods = list(per)
    fig = _figure(4.6 * len(metrics), 3.4)
    fig.suptitle(title)
    width = 0.8 / max(1, len(methods))
    for i, metric in enumerate(metrics):
        ax = fig.add_subplot(1, len(metrics), i + 1)
        for j, m in enumerate(methods):
            xs = [k + (j - (len(methods) - 1) / 2) * width for k in range(len(names))]
            ys = [per[m].get(metric, {}).get(n, float("nan")) for n in names]
            ax.bar(xs, ys, width, label=m, color=PALETTE[j % len(PALETTE)])
        ax.set_xticks(range(len(names)), [f"fg {n}" for n in names])
        ax.set_ylabel({"fmse": "fMSE ↓", "fde2000": "fΔE2000 ↓"}[metric])
        if i == len(metrics) - 1:
            ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1))
    return _png(fig)


def paired_heatmap(title: str, pairs, methods: list[str], metrics: list[str], alpha: float = 0.05) -> bytes:
    """Per metric, the mean paired difference row − column on the same images, blue where the row method is
    better, red where it is worse (scaled per panel), * where significant after Holm."""
    import numpy as np

    fig = _figure(max(3.0, 0.62 * len(methods) + 1.6) * len(metrics), 0.55 * len(methods) + 1.6)
    fig.suptitle(title)
    for i, metric in enumerate(metrics):
        ax = fig.add_subplot(1, len(metrics), i + 1)
        n = len(methods)
        diff = np.full((n, n), np.nan)
        sig = np.zeros((n, n), dtype=bool)
        for r in pairs[pairs["metric"] == metric].to_dict(orient="records"):
            if r["a"] in methods and r["b"] in methods:
                a, b = methods.index(r["a"]), methods.index(r["b"])
                diff[a, b], diff[b, a] = r["diff"], -r["diff"]
                sig[a, b] = sig[b, a] = r["p_holm"] == r["p_holm"] and r["p_holm"] < alpha
        better = diff if HIGHER_IS_BETTER.get(metric, False) else -diff
        finite = np.abs(better[np.isfinite(better)])
        scale = float(finite.max()) if finite.size and finite.max() > 0 else 1.0
        ax.imshow(better, cmap="RdBu", vmin=-scale, vmax=scale)
        for a in range(n):
            for b in range(n):
                if np.isfinite(diff[a, b]):
                    ax.text(b, a, f"{diff[a, b]:.3g}" + ("*" if sig[a, b] else ""), ha="center", va="center",
                            fontsize=7, color="white" if abs(better[a, b]) > 0.6 * scale else "black")
        ax.set_xticks(range(n), methods, rotation=45, ha="right", fontsize=8)
        ax.set_yticks(range(n), methods if i == 0 else [""] * n, fontsize=8)
        ax.set_title(metric)
    return _png(fig)


def quality_latency(title: str, points: dict[str, tuple[float, float]], front: list[str],
                    metric_label: str = "fMSE ↓") -> bytes:
    """Each method at (latency, error); the Pareto front — no other method both faster and better — joined by
    a staircase and ringed. Latency on a log axis: methods differ by orders of magnitude."""
    fig = _figure(5.6, 4.0)
    fig.suptitle(title)
    ax = fig.add_subplot(1, 1, 1)
    for i, (name, (x, y)) in enumerate(points.items()):
        if not (_finite(x) and _finite(y)):
            continue
        on = name in front
        ax.scatter([max(x, 1e-3)], [y], s=60 if on else 36, color=PALETTE[i % len(PALETTE)], zorder=3,
                   edgecolors="black" if on else "none", linewidths=1.2)
        ax.annotate(name, (max(x, 1e-3), y), textcoords="offset points", xytext=(5, 4), fontsize=8)
    if front:
        xs = [max(points[n][0], 1e-3) for n in front]
        ys = [points[n][1] for n in front]
        ax.step(xs, ys, where="post", color="black", linewidth=1, linestyle="--", zorder=2, label="Pareto front")
        ax.legend(fontsize="small", loc="best")
    ax.set_xscale("log")
    ax.set_xlabel("latency per image, ms (median, log scale) ↓")
    ax.set_ylabel(metric_label)
    return _png(fig)
