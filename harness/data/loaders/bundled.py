"""The bundled sample suite: real public-domain photos that ship inside installed packages, with committed
region masks, and composites made by seeded, documented perturbations of a foreground region.

Photos (read from the installed packages, never downloaded): scikit-image's `astronaut` (Eileen Collins,
NASA, public domain), `coffee` (CC0), `chelsea` (CC0), `rocket` (SpaceX, public domain), and matplotlib's
`grace_hopper.jpg` (US Navy, public domain). All are used at their native resolution (up to 600×640).

Each sample takes one region of a photo as the foreground and another region (or the whole background) as the
reference; the ground truth is the untouched photo, the composite is the photo with the foreground perturbed.
Perturbations: harness/data/perturb.py (one or several per sample, strength drawn from
`numpy.random.default_rng([SEED, sample index])`), in float64 on the 8-bit photo, then rounded back to 8 bits.

Everything is elementwise IEEE arithmetic (no BLAS, no colour-space library), so the bytes are identical on
every machine; `manifest.json` records the sha256 of every sample and a test checks it.
"""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from pathlib import Path

import numpy as np

from harness.data.perturb import PERTURBATIONS, perturb
from harness.data.photos import eval_photo as photo
from harness.data.sample import Reference, Sample
from harness.data.specs import SampleSpec, Suite

ASSETS = Path(__file__).resolve().parent.parent / "assets"  # committed region masks and manifest.json
SEED = 2026
SOURCE = "bundled-sample"  # every record of this suite says where its data came from

# (photo, foreground region, reference region); "background" = everything outside the foreground.
PAIRS = [
    ("astronaut", "person", "flag"),
    ("astronaut", "person", "shuttle"),
    ("astronaut", "person", "background"),
    ("astronaut", "shuttle", "person"),
    ("grace_hopper", "person", "flag"),
    ("grace_hopper", "person", "backdrop"),
    ("grace_hopper", "person", "background"),
    ("coffee", "cup", "table"),
    ("coffee", "cup", "background"),
    ("chelsea", "cat", "backdrop"),
    ("chelsea", "cat", "background"),
    ("rocket", "rocket", "sky"),
    ("rocket", "rocket", "background"),
]
PER_PAIR = 2  # perturbations per pair → 26 samples


@lru_cache(maxsize=None)
def region(photo_name: str, name: str) -> np.ndarray:
    """A committed region mask as bool H×W."""
    from PIL import Image

    with Image.open(ASSETS / f"{photo_name}_{name}.png") as im:
        return np.asarray(im.convert("L")) > 127


def _recipes() -> list[dict]:
    out = []
    for i, (ph, fg, ref) in enumerate(PAIRS):
        for j in range(PER_PAIR):
            kind = PERTURBATIONS[(PER_PAIR * i + j) % len(PERTURBATIONS)]
            out.append({"index": PER_PAIR * i + j, "photo": ph, "fg": fg, "ref": ref, "perturbation": kind,
                        "id": f"{ph}-{fg}-ref_{ref}-{kind}"})
    return out


def build_sample(recipe: dict) -> Sample:
    """Make one bundled sample from its recipe (deterministic)."""
    real = photo(recipe["photo"])
    fg = region(recipe["photo"], recipe["fg"])
    ref = ~fg if recipe["ref"] == "background" else region(recipe["photo"], recipe["ref"]) & ~fg
    rng = np.random.default_rng([SEED, recipe["index"]])
    pixels = real[fg].astype(np.float64) / 255.0
    new, params = perturb(pixels, recipe["perturbation"], rng)
    composite = real.copy()
    composite[fg] = np.clip(np.rint(np.clip(new, 0.0, 1.0) * 255.0), 0, 255).astype(np.uint8)
    meta = {"source": SOURCE, "photo": recipe["photo"], "fg_region": recipe["fg"],
            "ref_region": recipe["ref"], "perturbation": recipe["perturbation"], "params": params}
    # every hand-drawn region of the photo is a candidate reference for run-robustness; the truth (the
    # untouched photo) is the same whichever region is picked
    others = [(name, region(recipe["photo"], name) & ~fg) for name in regions_of(recipe["photo"])
              if name != recipe["fg"]]
    references = tuple(Reference(name, m) for name, m in others if m.any())
    return Sample(recipe["id"], composite, fg, ref, real, meta, references=references)


def regions_of(photo_name: str) -> list[str]:
    """The hand-drawn regions of a photo, in PAIRS order."""
    names = [n for ph, fg, ref in PAIRS if ph == photo_name for n in (fg, ref)]
    return [n for n in dict.fromkeys(names) if n != "background"]


def bundled_suite() -> Suite:
    specs = [SampleSpec(r["id"], "bundled", r) for r in _recipes()]
    return Suite("sample", SOURCE, specs, held_out=True)


def open_bundled(data_root: str | None = None) -> Suite:
    """The `sample` suite (it has no data root: everything ships with the installed packages)."""
    return bundled_suite()


def sample_digest(sample: Sample) -> str:
    """sha256 of a sample's 8-bit composite, real and masks (what the manifest records)."""
    from harness.data.io import to_uint8

    h = hashlib.sha256()
    for arr in (sample.composite, sample.real, sample.fg_mask, sample.ref_mask):
        h.update(to_uint8(arr).tobytes())
    return h.hexdigest()


@lru_cache(maxsize=1)
def manifest() -> dict[str, str]:
    return json.loads((ASSETS / "manifest.json").read_text())


def load(spec: SampleSpec) -> Sample:
    return build_sample(spec.args)


def content_hash(spec: SampleSpec) -> str:
    # The manifest digest is the content (the test suite proves the build reproduces it).
    digest = manifest().get(spec.id)
    return digest if digest is not None else sample_digest(build_sample(spec.args))


if __name__ == "__main__":  # regenerate manifest.json (only when the recipe changes on purpose)
    suite = bundled_suite()
    digests = {s.id: sample_digest(build_sample(s.args)) for s in suite.specs}
    (ASSETS / "manifest.json").write_text(json.dumps(digests, indent=1, sort_keys=True) + "\n")
    print(f"{len(digests)} samples")
