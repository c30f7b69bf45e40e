"""Helpers for the collect-votes tests: a small study of flat-coloured images (so that a scripted participant
can tell the methods apart by colour, independently of the app), served in a thread."""

from __future__ import annotations

import io
import re
import threading
from pathlib import Path

import numpy as np
from PIL import Image

COLOURS = {"red": (200, 40, 40), "green": (40, 170, 60), "blue": (40, 70, 200), "yellow": (220, 200, 40),
           "grey": (128, 128, 128)}  # grey: the composite


def png(rgb, size=(48, 64)) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.full((*size, 3), rgb, np.uint8)).save(buf, format="PNG")
    return buf.getvalue()


def method_of_colour(rgb) -> str:
    """The method whose colour is nearest (the participant's own way of knowing what is shown)."""
    rgb = np.asarray(rgb[:3], float)
    return min(COLOURS, key=lambda m: np.abs(np.asarray(COLOURS[m], float) - rgb).sum())


def make_study(out: Path, design: str = "ab", methods=("red", "green", "blue"), n_images: int = 2,
               subjects: int = 3, repeats: int | None = 1, seed: int = 0) -> Path:
    from studies.collect import StudyImage, create_study

    images = [f"img{i}" for i in range(n_images)]
    files = [StudyImage(i, None, png(COLOURS["grey"]), ".png") for i in images]
    files += [StudyImage(i, m, png(COLOURS[m]), ".png") for i in images for m in methods]
    return create_study(out, design=design, methods=list(methods), images=images, files=files, subjects=subjects,
                        trials=None, repeats=repeats, seed=seed, source={"kind": "test"}, request={})


class Served:
    """A StudyServer on 127.0.0.1, port chosen by the OS, answering in a background thread."""

    def __init__(self, study_dir: Path) -> None:
        from studies.collect import StudyServer

        self.server = StudyServer(study_dir, "127.0.0.1", 0)
        self.url = self.server.url
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.close()
        self.thread.join(10)


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf" value="([0-9a-f]+)"', html).group(1)


def trial_of(html: str) -> int:
    return int(re.search(r'name="trial" value="(\d+)"', html).group(1))


def error_of(html: str) -> str:
    m = re.search(r'data-error="1">([^<]*)<', html)
    return m.group(1) if m else ""
