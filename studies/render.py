"""Human-readable output of an analysis result: the text table and the PNG figure."""

from __future__ import annotations

from pathlib import Path

ALPHA = 0.05


def _f(x: float | None, fmt: str = "{:+.3f}") -> str:
    return "—" if x is None else fmt.format(x)


def _ci(ci: list) -> str:
    return "[—]" if ci[0] is None else f"[{ci[0]:+.2f}, {ci[1]:+.2f}]"


def format_text(res: dict, source: str = "") -> str:
    """The table (method, win rate, Thurstone z [95% CI], JOD, BT [95% CI], score), significant pairs,
    agreement statistics, flagged observers and warnings."""
    st = res["settings"]
    kind = "A/B" if res["kind"] == "ab" else "ranking"
    unit = "votes" if res["kind"] == "ab" else "rankings"
    out = [f"{kind} study {source}: {res['n_votes']} {unit}, {st['n_subjects']} subject(s), {st['n_images']} "
           f"image(s), {len(res['methods'])} methods; ties {st['ties']}; bootstrap {st['bootstrap']} "
           f"(seed {st['seed']}); Thurstone prior {st.get('thurstone_prior', 'none')}".replace("  ", " ")]
    w = max(len("method"), *(len(m["method"]) for m in res["methods"]))
    rank = res["kind"] == "rank"
    head = (f"{'method':<{w}}  win rate  {'Thurstone z [95% CI]':<24} {'JOD':>6}  {'BT [95% CI]':<24} "
            f"{'Mosteller':>9}" + ("  score     PL" if rank else ""))
    out += ["", head, "-" * len(head)]
    for m in res["methods"]:
        line = (f"{m['method']:<{w}}  {_f(m['win_rate'], '{:8.3f}')}  "
                f"{_f(m['thurstone']) + ' ' + _ci(m['thurstone_ci']):<24} {_f(m['jod'], '{:+6.2f}')}  "
                f"{_f(m['bt']) + ' ' + _ci(m['bt_ci']):<24} {_f(m['mosteller'], '{:+9.3f}')}")
        if rank:
            line += f"  {_f(m['score'], '{:5.2f}')} {_f(m.get('pl'), '{:+6.2f}')}"
        out.append(line)
    out.append("")
    out.append("Thurstone z: P(a beats b) = Φ(z_a − z_b); JOD = 1.4826 z (1 JOD = 75% preference); "
               "BT: P = 1/(1 + e^−(θa − θb)); CIs: subject bootstrap percentiles.")
    sig = [p for p in res["pairs"] if p["p_holm"] is not None and p["p_holm"] < ALPHA]
    rest = [p for p in res["pairs"] if p not in sig]
    out += ["", f"Pairwise differences (Thurstone, bootstrap z-test, Holm; significant at {ALPHA}):"]
    for p in sig + rest:
        mark = "*" if p in sig else " "
        out.append(f" {mark} {p['a']} > {p['b']}: Δz = {p['diff']:.3f}, p = {_f(p['p'], '{:.2g}')}, "
                   f"p_holm = {_f(p['p_holm'], '{:.2g}')}; wins {p['wins_a']}-{p['wins_b']}, binomial p = "
                   f"{_f(p['p_binomial'], '{:.2g}')}")
    ag = res.get("agreement") or {}
    if "kendall_u" in ag:
        out += ["", f"Agreement: Kendall's u = {_f(ag['kendall_u'], '{:.3f}')} (mean over images)"]
    if "kendall_w" in ag:
        out += ["", f"Agreement: Kendall's W = {_f(ag['kendall_w'], '{:.3f}')}, Friedman χ² = "
                    f"{_f(ag['friedman_chi2'], '{:.1f}')}, p = {_f(ag['friedman_p'], '{:.2g}')}"]
    zetas = [o["zeta"] for o in res["observers"] if o["zeta"] is not None]
    if zetas:
        out.append(f"Consistence ζ per subject: min {min(zetas):.2f}, mean {sum(zetas) / len(zetas):.2f}")
    flagged = [o for o in res["observers"] if o["outlier"]]
    out.append("Observers flagged (outlier score > 1.5): " +
               (", ".join(f"{o['subject']} ({o['outlier_score']:.2f})" for o in flagged) or "none"))
    if res["warnings"]:
        out += ["", "Warnings:"] + [f"  - {w}" for w in res["warnings"]]
    return "\n".join(out)


def figure(res: dict, path: str | Path | None = None):
    """Scale values with 95% CIs (Thurstone z and BT) and the pairwise-significance matrix; saved as PNG
    when `path` is given. Returns the matplotlib Figure (Agg backend, no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    ms = res["methods"]
    names = [m["method"] for m in ms]
    y = np.arange(len(ms))[::-1]
    fig, axes = plt.subplots(1, 3, figsize=(13, 0.6 * len(ms) + 2.2), layout="constrained")
    for ax, key, label in ((axes[0], "thurstone", "Thurstone z"), (axes[1], "bt", "Bradley–Terry θ")):
        v = np.array([m[key] for m in ms], dtype=float)
        ci = np.array([[np.nan if c is None else c for c in m[f"{key}_ci"]] for m in ms], dtype=float)
        err = np.vstack([v - ci[:, 0], ci[:, 1] - v])
        ax.errorbar(v, y, xerr=np.where(np.isfinite(err), err, 0), fmt="o", capsize=4)
        ax.set_yticks(y, names)
        ax.axvline(0, color="0.8", lw=0.8)
        ax.set_xlabel(f"{label} (95% CI)")
    idx = {n: k for k, n in enumerate(names)}
    D = np.full((len(ms), len(ms)), np.nan)
    ax = axes[2]
    for p in res["pairs"]:
        i, j = idx[p["a"]], idx[p["b"]]
        D[i, j], D[j, i] = p["diff"], -p["diff"]
        if p["p_holm"] is not None and p["p_holm"] < ALPHA:
            for r, c in ((i, j), (j, i)):
                ax.text(c, r, "*", ha="center", va="center", fontsize=14)
    lim = np.nanmax(np.abs(D)) if np.isfinite(D).any() else 1.0
    for t in ax.texts:  # white stars on dark cells
        c, r = (int(round(v)) for v in t.get_position())
        t.set_color("w" if abs(D[r, c]) > 0.6 * lim else "k")
    im = ax.imshow(D, cmap="RdBu", vmin=-lim, vmax=lim)
    ax.set_xticks(range(len(ms)), names, rotation=30, ha="right")
    ax.set_yticks(range(len(ms)), names)
    ax.set_title("row − column (z); * = significant (Holm 5%)", fontsize=9)
    fig.colorbar(im, ax=ax, shrink=0.8)
    fig.suptitle(f"{'A/B' if res['kind'] == 'ab' else 'Ranking'} study: {res['n_votes']} "
                 f"{'votes' if res['kind'] == 'ab' else 'rankings'}")
    if path is not None:
        fig.savefig(path, dpi=120)
    return fig
