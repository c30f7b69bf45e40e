"""The bundled sample suite: real public-domain photos that ship inside installed packages, with committed
region masks, and composites made by seeded, documented perturbations of a foreground region.

Photos (read from the installed packages, never downloaded): scikit-image's `astronaut` (Eileen Collins,
NASA, public domain), `coffee` (CC0), `chelsea` (CC0), `rocket` (SpaceX, public domain), and matplotlib's
`grace_hopper.jpg` (US Navy, public domain). All are used at their native resolution (up to 600×640).

Each sample takes one region of a photo as the foreground and another region (or the whole background) as the
reference; the ground truth is the untouched photo, the composite is the photo with the foreground perturbed.
Perturbations (`perturb`, in float64 on the 8-bit photo, then rounded back to 8 bits), one or several per
sample, strength drawn from `numpy.random.default_rng([SEED, sample index])` within the ranges below:

- brightness:  x + b,                           |b| ∈ [0.06, 0.16]
- contrast:    μ + c·(x − μ), μ = fg mean,      c ∈ [0.65, 0.8] ∪ [1.25, 1.45]
- gamma:       x ** g,                          g ∈ [0.6, 0.8] ∪ [1.3, 1.7]
- hue-sat:     rotate about the grey axis by h, |h| ∈ [15°, 40°]; saturation × s, s ∈ [0.6, 0.85] ∪ [1.2, 1.5]
- cast:        per-channel gains,               each ∈ [0.85, 1.15], at least one 0.08 away from 1
- mixed:       brightness, then contrast, then hue-sat

Everything is elementwise IEEE arithmetic (no BLAS, no colour-space library), so the bytes are identical on
every machine; `manifest.json` records the sha256 of every sample and a test checks it.
"""

from __future__ import annotations

import hashlib
import json
import math
from functools import lru_cache
from pathlib import Path

import numpy as np

from harness.data.sample import Sample
from harness.data.suites import BUNDLED_SOURCE, SampleSpec, Suite, register_loader

HERE = Path(__file__).parent / "bundled"
SEED = 2026
PERTURBATIONS = ("brightness", "contrast", "gamma", "hue-sat", "cast", "mixed")

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
def photo(name: str) -> np.ndarray:
    """The photo as uint8 H×W×3, read from the installed package."""
    if name == "grace_hopper":
        import matplotlib.cbook
        from PIL import Image

        with Image.open(matplotlib.cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)) as im:
            arr = np.asarray(im.convert("RGB"))
    else:
        import skimage.data

        arr = getattr(skimage.data, name)()
    arr = np.ascontiguousarray(arr, dtype=np.uint8)
    arr.setflags(write=False)
    return arr


@lru_cache(maxsize=None)
def region(photo_name: str, name: str) -> np.ndarray:
    """A committed region mask as bool H×W."""
    from PIL import Image

    with Image.open(HERE / f"{photo_name}_{name}.png") as im:
        return np.asarray(im.convert("L")) > 127


def _sign(rng: np.random.Generator) -> float:
    return 1.0 if rng.random() < 0.5 else -1.0


def _two_sided(rng: np.random.Generator, low: tuple[float, float], high: tuple[float, float]) -> float:
    lo, hi = low if rng.random() < 0.5 else high
    return lo + (hi - lo) * rng.random()


def _hue_sat(x: np.ndarray, degrees: float, sat: float) -> np.ndarray:
    # Rodrigues rotation about the grey axis k = (1,1,1)/√3, written out elementwise (no BLAS).
    t = math.radians(degrees)
    c, s = math.cos(t), math.sin(t)
    a, b = c + (1 - c) / 3, (1 - c) / 3 - s / math.sqrt(3)
    d = (1 - c) / 3 + s / math.sqrt(3)
    r, g, bl = x[..., 0], x[..., 1], x[..., 2]
    rot = np.stack([a * r + b * g + d * bl, d * r + a * g + b * bl, b * r + d * g + a * bl], axis=-1)
    luma = 0.2126 * rot[..., 0] + 0.7152 * rot[..., 1] + 0.0722 * rot[..., 2]
    return luma[..., None] + sat * (rot - luma[..., None])


def perturb(pixels: np.ndarray, kind: str, rng: np.random.Generator) -> tuple[np.ndarray, dict]:
    """Perturb foreground pixels (float64 N×3 in [0, 1]); returns the new pixels and the parameters drawn."""
    if kind == "brightness":
        b = _sign(rng) * (0.06 + 0.10 * rng.random())
        return pixels + b, {"brightness": b}
    if kind == "contrast":
        c = _two_sided(rng, (0.65, 0.8), (1.25, 1.45))
        mu = pixels.mean(axis=0)
        return mu + c * (pixels - mu), {"contrast": c}
    if kind == "gamma":
        g = _two_sided(rng, (0.6, 0.8), (1.3, 1.7))
        return np.power(np.clip(pixels, 0.0, 1.0), g), {"gamma": g}
    if kind == "hue-sat":
        h = _sign(rng) * (15.0 + 25.0 * rng.random())
        s = _two_sided(rng, (0.6, 0.85), (1.2, 1.5))
        return _hue_sat(pixels, h, s), {"hue_degrees": h, "saturation": s}
    if kind == "cast":
        gains = 0.85 + 0.30 * rng.random(3)
        k = int(rng.integers(3))
        gains[k] = 1.0 + _sign(rng) * (0.08 + 0.07 * rng.random())
        return pixels * gains, {"gains": gains.tolist()}
    if kind == "mixed":
        params: dict = {}
        for step in ("brightness", "contrast", "hue-sat"):
            pixels, p = perturb(np.clip(pixels, 0.0, 1.0), step, rng)
            params.update(p)
        return pixels, params
    raise ValueError(f"unknown perturbation {kind!r}")


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
    meta = {"source": BUNDLED_SOURCE, "photo": recipe["photo"], "fg_region": recipe["fg"],
            "ref_region": recipe["ref"], "perturbation": recipe["perturbation"], "params": params}
    return Sample(recipe["id"], composite, fg, ref, real, meta)


def bundled_suite() -> Suite:
    specs = [SampleSpec(r["id"], "bundled", r) for r in _recipes()]
    return Suite("sample", BUNDLED_SOURCE, specs)


def sample_digest(sample: Sample) -> str:
    """sha256 of a sample's 8-bit composite, real and masks (what the manifest records)."""
    from harness.data.io import to_uint8

    h = hashlib.sha256()
    for arr in (sample.composite, sample.real, sample.fg_mask, sample.ref_mask):
        h.update(to_uint8(arr).tobytes())
    return h.hexdigest()


@lru_cache(maxsize=1)
def manifest() -> dict[str, str]:
    return json.loads((HERE / "manifest.json").read_text())


def _load(spec: SampleSpec) -> Sample:
    return build_sample(spec.args)


def _hash(spec: SampleSpec) -> str:
    # The manifest digest is the content (the test suite proves the build reproduces it).
    digest = manifest().get(spec.id)
    return digest if digest is not None else sample_digest(build_sample(spec.args))


register_loader("bundled", _load, _hash)


if __name__ == "__main__":  # regenerate manifest.json (only when the recipe changes on purpose)
    suite = bundled_suite()
    digests = {s.id: sample_digest(build_sample(s.args)) for s in suite.specs}
    (HERE / "manifest.json").write_text(json.dumps(digests, indent=1, sort_keys=True) + "\n")
    print(f"{len(digests)} samples")
