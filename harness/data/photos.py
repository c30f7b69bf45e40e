"""The photos that ship inside installed packages — nothing is downloaded — and which side of the held-out
line each is on.

- Evaluation photos (`EVAL_PHOTOS`, the bundled `sample` suite and the bundled IntHarmony test split):
  scikit-image's `astronaut` (NASA, public domain), `coffee` (CC0), `chelsea` (CC0; `cat` is the same
  picture), `rocket` (SpaceX, public domain) and matplotlib's `grace_hopper.jpg` (US Navy, public domain).
- Training photos (`TRAIN_PHOTOS`, the self-supervised generator and the bundled IntHarmony train split):
  scikit-image's `stereo_motorcycle` left and right views, `hubble_deep_field`, `retina` and
  `immunohistochemistry`, and scikit-learn's `china` and `flower` sample images when scikit-learn is
  importable. `train_photo` refuses an evaluation photo.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from harness.errors import HarnessError

EVAL_PHOTOS = ("astronaut", "coffee", "chelsea", "cat", "rocket", "grace_hopper")
TRAIN_PHOTOS = ("motorcycle_left", "motorcycle_right", "hubble_deep_field", "retina", "immunohistochemistry",
                "china", "flower")


@lru_cache(maxsize=None)
def eval_photo(name: str) -> np.ndarray:
    """An evaluation photo as read-only uint8 H×W×3, read from the installed package."""
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
def train_photo(name: str) -> np.ndarray:
    """A training photo as read-only uint8 H×W×3 (from the installed packages)."""
    if name in EVAL_PHOTOS:
        raise HarnessError(f"photo '{name}' belongs to the evaluation suite and is held out of training")
    if name in ("motorcycle_left", "motorcycle_right"):
        import skimage.data

        left, right, _ = skimage.data.stereo_motorcycle()
        arr = left if name == "motorcycle_left" else right
    elif name in ("china", "flower"):
        from pathlib import Path

        import sklearn.datasets  # ImportError when scikit-learn is absent: available_train_photos() skips these
        from PIL import Image

        with Image.open(Path(sklearn.datasets.__file__).parent / "images" / f"{name}.jpg") as im:
            arr = np.asarray(im.convert("RGB"))
    elif name in TRAIN_PHOTOS:
        import skimage.data

        arr = getattr(skimage.data, name)()
    else:
        raise HarnessError(f"unknown training photo '{name}' (known: {', '.join(TRAIN_PHOTOS)})")
    arr = np.ascontiguousarray(arr[..., :3], dtype=np.uint8)
    arr.setflags(write=False)
    return arr


@lru_cache(maxsize=1)
def available_train_photos() -> tuple[str, ...]:
    """The training photos that can be read here (china/flower need scikit-learn)."""
    out = []
    for name in TRAIN_PHOTOS:
        try:
            train_photo(name)
        except ImportError:
            continue
        out.append(name)
    return tuple(out)


def photo(name: str) -> np.ndarray:
    """Any bundled photo by name, evaluation or training."""
    return eval_photo(name) if name in EVAL_PHOTOS else train_photo(name)


def write_photos(names: list[str], folder) -> None:
    """Write photos as `<folder>/<name>.png` (skipped when already there): the images the bundled COCO-format
    instances files (harness/data/assets/coco_*.json) point at."""
    from pathlib import Path

    from harness.data.io import write_png

    for name in names:
        path = Path(folder) / f"{name}.png"
        if not path.is_file():
            write_png(path, photo(name))
