"""The bundled reference-driven suite `relit`: the evaluation photos under spatially varying light, a foreground
pasted in under a third light, and several reference regions — each with the truth it implies.

For each photo (harness/data/photos.py) and each of LIGHTINGS seeded draws (harness/data/relight.py):
- the foreground is the photo's main region (person, person, cup, cat, rocket);
- the candidate references are the photo's other hand-drawn regions, four boxes on a 2×2 grid and the whole
  background — each minus the foreground, the boxes only where at least 0.5 % of the image is left;
- the scene is lit by two lights A and B with a soft ramp between the two candidates farthest apart (their
  centroids), so the candidates see different light;
- the truth under a candidate R is the scene with the foreground lit by R's light (the mean over R); the
  composite is the scene with the foreground lit by a third light C. `ref_mask`/`real` default to the first
  candidate; `references` holds them all (run-robustness uses every one).

Everything is drawn from `numpy.random.default_rng([SEED, photo index, lighting])`. These are evaluation
photos: training refuses the suite (`held_out`), and the relit training generator uses the training photos.
"""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache

import numpy as np

from harness.data.photos import eval_photo
from harness.data.sample import Reference, Sample
from harness.data.specs import SampleSpec, Suite

SEED = 2027
LIGHTINGS = 2
SOURCE = "bundled-relit"
SCENES = [  # (photo, foreground region, other hand-drawn regions)
    ("astronaut", "person", ("flag", "shuttle")),
    ("grace_hopper", "person", ("flag", "backdrop")),
    ("coffee", "cup", ("table",)),
    ("chelsea", "cat", ("backdrop",)),
    ("rocket", "rocket", ("sky",)),
]


def _region(photo: str, name: str) -> np.ndarray:
    from harness.data.loaders.bundled import region

    return region(photo, name)


@lru_cache(maxsize=32)
def _scene(photo: str, fg_name: str, regions: tuple[str, ...], index: int, lighting: int) -> dict:
    """Masks, lights and ramp of one relit sample (everything but the pixels)."""
    from harness.data import relight
    from harness.data.references import boxes

    fg = _region(photo, fg_name)
    named = [(r, _region(photo, r) & ~fg) for r in regions]
    named += [(n, m > 0.5) for n, m in boxes(fg, 4)]
    named = [(n, m) for n, m in named if m.mean() >= 0.005]
    named.append(("background", ~fg))
    rng = np.random.default_rng([SEED, index, lighting])
    light_a, light_b, light_c = relight.draw_lights(rng, 3)
    cents = {n: np.argwhere(m).mean(axis=0) for n, m in named if n != "background"}
    far = max(((a, b) for a in cents for b in cents if a < b), key=lambda p: np.linalg.norm(cents[p[0]] - cents[p[1]]))
    if rng.random() < 0.5:
        far = far[::-1]
    centre, direction = relight.separating_ramp(dict(named)[far[0]], dict(named)[far[1]])
    return {"fg": fg, "named": named, "lights": (light_a, light_b, light_c), "centre": centre,
            "direction": direction}


def build_sample(recipe: dict) -> Sample:
    from harness.data import relight

    photo8 = eval_photo(recipe["photo"])
    s = _scene(recipe["photo"], recipe["fg"], tuple(recipe["regions"]), recipe["index"], recipe["lighting"])
    photo = photo8.astype(np.float64) / 255.0
    field = relight.gain_field(relight.ramp(s["fg"].shape, s["centre"], s["direction"]), *s["lights"][:2])
    composite = relight.relight(photo, field, s["fg"], s["lights"][2])
    refs = [Reference(n, m.astype(np.float32),
                      relight.relight(photo, field, s["fg"], relight.region_light(field, m)).astype(np.float32))
            for n, m in s["named"]]
    meta = {"source": SOURCE, "photo": recipe["photo"], "fg_region": recipe["fg"], "lighting": recipe["lighting"],
            "relight": {"light_a": s["lights"][0].tolist(), "light_b": s["lights"][1].tolist(),
                        "light_c": s["lights"][2].tolist(), "centre": s["centre"], "direction": s["direction"]}}
    return Sample(recipe["id"], composite.astype(np.float32), s["fg"], refs[0].mask, refs[0].real, meta,
                  references=tuple(refs))


def _recipes() -> list[dict]:
    return [{"index": i, "lighting": k, "photo": photo, "fg": fg, "regions": list(regions),
             "id": f"{photo}-{fg}-light{k}"}
            for i, (photo, fg, regions) in enumerate(SCENES) for k in range(LIGHTINGS)]


def open_relit(data_root: str | None = None) -> Suite:
    """The `relit` suite (no data root: everything ships with the installed packages)."""
    return Suite("relit", SOURCE, [SampleSpec(r["id"], "relit", r) for r in _recipes()], held_out=True)


def load(spec: SampleSpec) -> Sample:
    return build_sample(spec.args)


def content_hash(spec: SampleSpec) -> str:
    h = hashlib.sha256(json.dumps(spec.args, sort_keys=True).encode())
    h.update(eval_photo(spec.args["photo"]).tobytes())
    return h.hexdigest()
