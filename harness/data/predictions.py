"""Where `harness score` finds a sample's saved prediction in PRED_DIR — the names users' files have.

For a sample id such as `HCOCO/c101_3_1` (iHarmony4) or `img07` (folder, bundled), the candidates are:

1. `PRED_DIR/HCOCO__c101_3_1.png` — the harness's own name (`id_to_stem`: "/" → "__"), as
   `run-benchmark --out` writes it;
2. `PRED_DIR/c101_3_1.jpg` — the composite's own file name in one flat folder: what Dove-Net / BargainNet's
   `test.py` (bcmi) and iDIH's `scripts/predict_for_dir.py` save;
3. `PRED_DIR/HCOCO/c101_3_1.png` — the same, one folder per subset (the official scripts run per subset).

Each with .png, .jpg or .jpeg. Exactly one candidate may exist: two files for one sample, or one file
claimed by two samples, is an error naming both, never a silent choice. A sample without a prediction is an
error that says how many are missing and what to do (a `--limit` run holds the suite's first N) — or, with
`partial`, left out. `run-benchmark --out DIR` writes one folder per method, DIR/<method>/<id>.png:
`method_folders` finds them when DIR itself holds no prediction.
"""

from __future__ import annotations

from pathlib import Path

from harness.data.io import find_image, id_to_stem
from harness.errors import HarnessError, InputError


def prediction_candidates(pred_dir: Path, sample_id: str) -> list[Path]:
    """Existing files that could be `sample_id`'s prediction (see the module docstring), in that order."""
    stems = [id_to_stem(sample_id)]
    if "/" in sample_id:
        stems += [sample_id.rsplit("/", 1)[1], sample_id]  # flat official name; <Subset>/<name>
    found = []
    for stem in dict.fromkeys(stems):
        path = find_image(pred_dir / Path(stem).parent, Path(stem).name)
        if path is not None:
            found.append(path)
    return found


def find_predictions(pred_dir: str | Path, sample_ids: list[str], partial: bool = False) -> dict[str, Path]:
    """sample id → its prediction file, for every id (InputError for a missing or ambiguous one); with
    `partial`, for the ids that have one (InputError when none has)."""
    pred_dir = Path(pred_dir)
    if not pred_dir.is_dir():
        raise HarnessError(f"{pred_dir}: prediction directory not found")
    out: dict[str, Path] = {}
    owner: dict[Path, str] = {}
    missing: list[str] = []
    for sid in sample_ids:
        found = prediction_candidates(pred_dir, sid)
        if not found:
            missing.append(sid)
            continue
        if len(found) > 1:
            raise InputError(found[0], f"sample '{sid}' has more than one prediction: "
                                       f"{', '.join(str(p) for p in found)}; keep one")
        path = found[0]
        if path in owner:
            raise InputError(path, f"is the prediction of both '{owner[path]}' and '{sid}'; name them "
                                   f"{id_to_stem(owner[path])} and {id_to_stem(sid)}")
        owner[path] = sid
        out[sid] = path
    if missing and (not partial or not out):
        raise InputError(pred_dir / f"{id_to_stem(missing[0])}.png",
                         f"no prediction for sample '{missing[0]}'{_missing_hint(sample_ids, out, len(missing))}")
    return out


def _missing_hint(sample_ids: list[str], found: dict[str, Path], n_missing: int) -> str:
    """What follows "no prediction for sample …": how many are missing, and what to do."""
    n = len(sample_ids)
    if not found:
        return (f" — none of the {n} samples has one here (the names accepted: `harness score --help`)"
                if n > 1 else " (see `harness score --help` for the names accepted)")
    m = len(found)
    head = f" — {n_missing} of {n} samples have none"
    if set(found) == set(sample_ids[:m]):  # exactly the suite's first m: what a `--limit m` run writes
        return (f"{head}; the folder holds the suite's first {m}, as a `--limit {m}` run writes them: pass "
                f"--limit {m}, or --partial to score what is there")
    return f"{head}; pass --partial to score the {m} that are there"


def method_folders(pred_dir: str | Path, sample_ids: list[str]) -> dict[str, Path]:
    """The `run-benchmark --out DIR` layout, DIR/<method>/<id>.png: method folder name → folder, for every
    subfolder holding a prediction of one of these samples — when DIR itself holds none (else {}: DIR is a
    prediction folder, its subfolders per subset at most)."""
    pred_dir = Path(pred_dir)
    if not pred_dir.is_dir() or any(prediction_candidates(pred_dir, sid) for sid in sample_ids):
        return {}
    return {d.name: d for d in sorted(pred_dir.iterdir())
            if d.is_dir() and any(prediction_candidates(d, sid) for sid in sample_ids)}
