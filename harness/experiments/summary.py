"""An experiment's numbers: per arm, means with 95 % CIs over seeds and images; consecutive arms' paired
differences with Holm's correction; run-robustness per arm; the terminal table and the JSON document.

Rows come in as the engine makes them (one per trained model × image), tagged with their arm and seed. Which
arms or seeds are missing (a failed trial) is part of the result, never silently dropped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from harness.engine.results import closing_lines
from harness.formatting import ci_cell, sig, table

TABLE_METRICS = ("psnr", "ssim", "de2000", "fmse")  # the paper's Table 3 columns
SHOWN_DIFFS = ("psnr", "de2000", "fmse")


@dataclass
class ExperimentResult:
    command: str
    suite: str
    source: str
    budget: dict[str, Any]
    arms: list[dict[str, Any]]           # name, label, grid, seeds planned
    trials: pd.DataFrame                 # key, arm, seed, status, checkpoint, mlflow_run_id, error
    rows: pd.DataFrame                   # per image × trained model: arm, seed, id, metrics
    summary: pd.DataFrame                # arm, metric, n_seeds, n, mean, ci_lo, ci_hi
    comparisons: pd.DataFrame            # consecutive arms (stats.consecutive_comparisons)
    robustness: pd.DataFrame = field(default_factory=pd.DataFrame)  # arm: responsiveness, reference accuracy
    mlflow_run_id: str | None = None
    mlflow_url: str | None = None  # the parent run in the MLflow UI (runs view)
    report: str | None = None  # the report page (reports/): a local file, else its MLflow UI link
    out: str | None = None
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def missing(self) -> list[str]:
        return [r["key"] for r in self.trials.to_dict(orient="records") if r["status"] != "FINISHED"]

    def to_json(self) -> dict[str, Any]:
        variants = []
        for arm in self.arms:
            s = self.summary[self.summary["arm"] == arm["name"]]
            t = self.trials[self.trials["arm"] == arm["name"]]
            entry = {"name": arm["name"], "label": arm["label"], **({"grid": arm["grid"]} if arm["grid"] else {}),
                     "seeds": sorted(int(x) for x in t.loc[t["status"] == "FINISHED", "seed"]),
                     "missing_seeds": sorted(int(x) for x in t.loc[t["status"] != "FINISHED", "seed"]),
                     "metrics": {r.metric: {"mean": r.mean, "ci95": [r.ci_lo, r.ci_hi], "n": int(r.n),
                                            "n_seeds": int(r.n_seeds)} for r in s.itertuples()}}
            rb = self.robustness[self.robustness["arm"] == arm["name"]] if len(self.robustness) else []
            if len(rb):
                r = rb.iloc[0]
                entry["robustness"] = {
                    "responsiveness": {"mean": r["responsiveness"],
                                       "ci95": [r["responsiveness_lo"], r["responsiveness_hi"]]},
                    "reference_accuracy": ({"mean": r["reference_accuracy"], "ci95": [
                        r["reference_accuracy_lo"], r["reference_accuracy_hi"]], "pairs": int(r["pairs"])}
                        if r["reference_accuracy"] == r["reference_accuracy"] else None)}
            entry["trials"] = [{"seed": int(x["seed"]), "status": x["status"], "mlflow_run_id": x["mlflow_run_id"],
                                "checkpoint": x["checkpoint"], **({"error": x["error"]} if x["error"] else {})}
                               for x in t.to_dict(orient="records")]
            variants.append(entry)
        return {"command": self.command, "suite": self.suite, "source": self.source, "budget": self.budget,
                "variants": variants,
                "comparisons": [{**{k: r[k] for k in ("metric", "a", "b", "n_seeds", "n", "diff", "p", "p_holm")},
                                 "ci95": [r["ci_lo"], r["ci_hi"]]} for r in self.comparisons.to_dict(orient="records")],
                "missing": self.missing, "n_images": int(self.rows["id"].nunique()) if len(self.rows) else 0,
                "mlflow_run_id": self.mlflow_run_id, "mlflow_url": self.mlflow_url, "report": self.report,
                "out": self.out}

    def to_text(self) -> str:
        """The terminal table: Table 3's layout (mean [95% CI] over seeds and images), each row's paired
        difference to the row above, what is missing, then where the experiment is logged."""
        what = "Table 3 ablation" if self.command == "run-ablation" else "sweep"
        b = self.budget
        n = self.rows["id"].nunique() if len(self.rows) else 0
        lines = [f"{what} on suite {self.suite} ({self.source}) — {n} images; budget: {b['name']} ({b['size']} model, "
                 f"{b['resolution']}², batch {b['batch_size']}, steps {'+'.join(map(str, b['steps']))}, lr "
                 f"{'/'.join(f'{x:g}' for x in b['lr'])})"]
        cell = {(r.arm, r.metric): r for r in self.summary.itertuples()}
        rob = {r["arm"]: r for r in self.robustness.to_dict(orient="records")} if len(self.robustness) else {}
        body = []
        for arm in self.arms:
            t = self.trials[self.trials["arm"] == arm["name"]]
            ok = int((t["status"] == "FINISHED").sum())
            row = [arm["label"], f"{ok}/{len(t)}"]
            for m in TABLE_METRICS:
                r = cell.get((arm["name"], m))
                row.append(ci_cell(r.mean, r.ci_lo, r.ci_hi) if r is not None else "missing")
            if rob:
                r = rob.get(arm["name"])
                row.append(ci_cell(r["responsiveness"], r["responsiveness_lo"], r["responsiveness_hi"], 3)
                           if r is not None else "-")
            body.append(row)
        header = ["variant", "seeds", "PSNR ↑", "SSIM ↑", "ΔE2000 ↓", "fMSE ↓", *(["responsiveness"] if rob else [])]
        lines += ["", "mean [95% CI] over seeds and images (crossed bootstrap: seeds and images resampled)",
                  table(header, body)]
        c = self.comparisons
        if len(c):
            labels = {a["name"]: a["label"] for a in self.arms}
            lines += ["", "each row against the row above, on the same seeds and images: mean difference (row − "
                          "above) [95% CI], Wilcoxon signed-rank p over images, Holm-corrected over the consecutive "
                          "pairs (* p < 0.05)"]
            rows = []
            for (a, bb), g in c.groupby(["a", "b"], sort=False):
                row = [f"{labels.get(bb, bb)} vs {labels.get(a, a)}"]
                for m in SHOWN_DIFFS:
                    hit = g[g["metric"] == m]
                    if hit.empty or hit.iloc[0]["diff"] != hit.iloc[0]["diff"]:
                        row.append("-")
                        continue
                    r = hit.iloc[0]
                    row.append(f"{sig(r['diff'])} [{sig(r['ci_lo'])}, {sig(r['ci_hi'])}] p={sig(r['p_holm'], 2)}"
                               + (" *" if r["p_holm"] < 0.05 else ""))
                rows.append(row)
            lines.append(table(["comparison", *[f"Δ{m}" for m in SHOWN_DIFFS]], rows))
        if self.missing:
            lines += ["", f"MISSING (failed or not run; left out of every number above): "
                          f"{', '.join(self.missing)}"]
        return "\n".join(lines + closing_lines(self))


def tag_rows(rows: pd.DataFrame, label_to_trial: dict[str, tuple[str, int]]) -> pd.DataFrame:
    """The engine's rows (method = the trained model's label) with `arm` and `seed` columns."""
    if rows.empty:
        return rows.assign(arm=pd.Series(dtype=str), seed=pd.Series(dtype=int))
    arm_seed = rows["method"].map(label_to_trial)
    return rows.assign(arm=arm_seed.map(lambda x: x[0]), seed=arm_seed.map(lambda x: int(x[1])))


def summarise(rows: pd.DataFrame, arm_order: list[str], metrics, n_boot: int, seed: int) -> pd.DataFrame:
    """Per arm × metric: mean over seeds and images and its crossed-bootstrap 95 % CI."""
    from harness.scoring.stats import crossed_bootstrap_ci

    out = []
    for arm in arm_order:
        sub = rows[rows["arm"] == arm] if len(rows) else rows
        if sub.empty:
            continue
        for m in metrics:
            if m not in sub:
                continue
            wide = sub.pivot_table(index="seed", columns="id", values=m, aggfunc="first", dropna=False)
            x = wide.to_numpy(dtype=float)
            lo, hi = crossed_bootstrap_ci(x, n_boot=n_boot, seed=seed)
            vals = x[~np.isnan(x)]
            out.append({"arm": arm, "metric": m, "n_seeds": int(wide.shape[0]), "n": int(wide.shape[1]),
                        "mean": float(vals.mean()) if vals.size else float("nan"), "ci_lo": lo, "ci_hi": hi})
    return pd.DataFrame(out, columns=["arm", "metric", "n_seeds", "n", "mean", "ci_lo", "ci_hi"])


def robustness_by_arm(rows: pd.DataFrame, n_boot: int, seed: int) -> pd.DataFrame:
    """Responsiveness and reference accuracy per arm, pooling its seeds (each seed's samples kept apart)."""
    from harness.scoring.robustness import robustness_summary

    if rows.empty:
        return pd.DataFrame()
    pooled = rows.assign(method=rows["arm"], id=rows["seed"].astype(str) + "|" + rows["id"].astype(str))
    return robustness_summary(pooled, n_boot=n_boot, seed=seed).rename(columns={"method": "arm"})
