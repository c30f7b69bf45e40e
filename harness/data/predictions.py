"""Where `harness score` finds a sample's saved prediction in PRED_DIR — the names users' files have.

For a sample id such as `HCOCO/c101_3_1` (iHarmony4) or `img07` (folder, bundled), the candidates are:

1. `PRED_DIR/HCOCO__c101_3_1.png` — the harness's own name (`id_to_stem`: "/" → "__"), as
   `run-benchmark --out` writes it;
2. `PRED_DIR/c101_3_1.jpg` — the composite's own file name in one flat folder: what Dove-Net / BargainNet's
   `test.py` (bcmi) and iDIH's `scripts/predict_for_dir.py` save;
3. `PRED_DIR/HCOCO/c101_3_1.png` — the same, one folder per subset (the official scripts run per subset).

Each with .png, .jpg or .jpeg. Exactly one candidate may exist: two files for one sample, or one file
claimed by two samples, is an error naming both, never a silent choice.
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


def find_predictions(pred_dir: str | Path, sample_ids: list[str]) -> dict[str, Path]:
    """sample id → its prediction file, for every id (InputError for a missing or ambiguous one)."""
    pred_dir = Path(pred_dir)
    if not pred_dir.is_dir():
        raise HarnessError(f"{pred_dir}: prediction directory not found")
    out: dict[str, Path] = {}
    owner: dict[Path, str] = {}
    for sid in sample_ids:
        found = prediction_candidates(pred_dir, sid)
        if not found:
            raise InputError(pred_dir / f"{id_to_stem(sid)}.png",
                             f"no prediction for sample '{sid}' (see `harness score --help` for the names "
                             "accepted)")
        if len(found) > 1:
            raise InputError(found[0], f"sample '{sid}' has more than one prediction: "
                                       f"{', '.join(str(p) for p in found)}; keep one")
        path = found[0]
        if path in owner:
            raise InputError(path, f"is the prediction of both '{owner[path]}' and '{sid}'; name them "
                                   f"{id_to_stem(owner[path])} and {id_to_stem(sid)}")
        owner[path] = sid
        out[sid] = path
    return out
