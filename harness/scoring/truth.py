"""Runs on samples without ground truth (in-the-wild composites: a folder suite without `real/`), said once.

Such a sample's rows have every metric of harness/scoring/metrics.py NaN (harness/scoring/score.py) and are
recognised by `mse`: with a truth it is always defined (it needs no foreground, unlike the f-metrics), so a
NaN `mse` means "nothing to compare against". Every statistic treats those NaNs as missing
(harness/scoring/stats.py: `n` counts the values used), so a run without any truth has empty metric cells —
never 0 — and the measures that need none stand: the reference-consistency gaps, responsiveness, cost.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

NEEDS_TRUTH = "mse, psnr, ssim, ΔE and their foreground versions"
# what each command measures without ground truth, said in its notice
BENCHMARK_WITHOUT_TRUTH = "the reference-consistency gaps (gap_*) and cost"
ROBUSTNESS_WITHOUT_TRUTH = ("responsiveness, the reference-consistency gaps and cost (reference accuracy needs "
                            "per-reference truths)")


def samples_without_truth(rows: pd.DataFrame) -> tuple[int, int]:
    """(samples whose rows have no ground truth, samples) of a run's per-image rows."""
    if not len(rows) or "id" not in rows:
        return 0, 0
    total = int(rows["id"].nunique())
    if "mse" not in rows:
        return total, total
    return int(rows.loc[rows["mse"].isna(), "id"].nunique()), total


def truth_notice(rows: pd.DataFrame, measured: str) -> str | None:
    """The one line a run without (some) ground truth prints, None when every sample has it; `measured`
    names what was measured all the same (the command's own measures)."""
    missing, total = samples_without_truth(rows)
    if not missing:
        return None
    if missing == total:
        return (f"no ground truth (real/) for any of the {total} samples: the metrics that need it ({NEEDS_TRUTH}) "
                f"are left empty; measured without it: {measured}")
    return (f"no ground truth (real/) for {missing} of {total} samples: their metrics ({NEEDS_TRUTH}) are left "
            f"empty, and the means and CIs of those metrics are over the other {total - missing}")


def truth_json(rows: pd.DataFrame, measured: str) -> dict[str, Any]:
    """`{"no_ground_truth": {"samples", "of", "notice"}}` for a run's --json when samples lack a truth; {}
    otherwise (a run with every truth keeps its JSON as it was)."""
    missing, total = samples_without_truth(rows)
    if not missing:
        return {}
    return {"no_ground_truth": {"samples": missing, "of": total, "notice": truth_notice(rows, measured)}}


def has_truth(rows: pd.DataFrame) -> bool:
    """Whether any row of the run was scored against a ground truth."""
    missing, total = samples_without_truth(rows)
    return missing < total
