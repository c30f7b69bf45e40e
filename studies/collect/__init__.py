"""Collecting a user study in the browser: an A/B or ranking web app whose export is exactly what
`harness analyze-votes` reads. Stands alone (no `harness` import); `harness collect-votes` finds the images,
then calls `create_study` and `serve`.

    design.py  who sees which trials, in which order and on which side
    build.py   the study directory, made atomically
    store.py   the sqlite database: plan, participants, resume codes, answers (one transaction per answer)
    app.py     the Flask app and its security checks
    forms.py   what a browser sends, read strictly (numbers: ASCII digits only)
    limits.py  request bodies whole and ≤ 64 KiB; how fast new participants are accepted
    redact.py  the study token kept out of every log
    export.py  votes.csv / trials.csv / consistency.csv
    server.py  gunicorn, one server per study (port 0 = a free port picked by the OS)
"""

from studies.collect.build import StudyImage, create_study, is_study, read_study
from studies.collect.server import StudyServer, serve

__all__ = ["StudyImage", "StudyServer", "create_study", "is_study", "read_study", "serve"]
