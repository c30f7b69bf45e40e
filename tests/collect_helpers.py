"""Helpers for the collect-votes tests: a small study of flat-coloured images (so that a scripted participant
can tell the methods apart by colour, independently of the app), served by the production server in a process
of its own."""

from __future__ import annotations

import io
import json
import re
import selectors
import sqlite3
import subprocess
import sys
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


SERVE = """
import json, sys
from studies.collect.server import StudyServer
srv = StudyServer(sys.argv[1], **json.loads(sys.argv[2]))
print(json.dumps({"url": srv.url, "bound": srv.socket.getsockname()[:2]}), flush=True)
try:
    srv.serve_forever()
finally:
    srv.close()
"""


class Served:
    """A StudyServer (gunicorn) on 127.0.0.1, port chosen by the OS, in a process of its own — gunicorn's
    master handles signals, so it cannot run in a test's thread. Its stderr (the server's log) is kept in
    `log`. `options`: StudyServer's keyword arguments."""

    def __init__(self, study_dir: Path, **options) -> None:
        from tests.processes import harness_env

        self.log = Path(study_dir).parent / f"{Path(study_dir).name}-server.log"
        with open(self.log, "w") as err:
            self.proc = subprocess.Popen([sys.executable, "-c", SERVE, str(study_dir), json.dumps(options)],
                                         stdout=subprocess.PIPE, stderr=err, text=True, env=harness_env(),
                                         start_new_session=True)
        sel = selectors.DefaultSelector()
        sel.register(self.proc.stdout, selectors.EVENT_READ)
        if not sel.select(timeout=60):
            self.stop()
            raise AssertionError(f"the study server printed nothing: {self.log.read_text()}")
        line = self.proc.stdout.readline()
        if not line:
            self.proc.wait(10)
            raise AssertionError(f"the study server did not start: {self.log.read_text()}")
        info = json.loads(line)
        self.url, self.bound = info["url"], tuple(info["bound"])

    def stop(self) -> int:
        from tests.processes import stop_process

        code = stop_process(self.proc)
        self.proc.stdout.close()
        return code

    def stderr(self) -> str:
        return self.log.read_text()


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf" value="([0-9a-f]+)"', html).group(1)


def trial_of(html: str) -> int:
    return int(re.search(r'name="trial" value="(\d+)"', html).group(1))


def error_of(html: str) -> str:
    m = re.search(r'data-error="1">([^<]*)<', html)
    return m.group(1) if m else ""


def query_votes(study: Path, sql: str) -> list[tuple]:
    """Rows of `sql` on the study's votes.db, read as the server left it."""
    con = sqlite3.connect(study / "votes.db")
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def join(url: str, subject_id: str = ""):
    """A participant's browser after the start form: (session, csrf, the form's response)."""
    import requests

    s = requests.Session()
    csrf = csrf_of(s.get(url).text)
    return s, csrf, s.post(url + "start", data={"csrf": csrf, "subject_id": subject_id})
