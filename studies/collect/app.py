"""The study web app (Flask): welcome → your id → trials → done, every page under /s/<token>/.

Security, point by point:
- the study token (random, 32 characters) is the first path segment of every URL, pages, images and static
  files alike; a wrong or missing token is a plain 404 (compared in constant time);
- with the default loopback binding, a request whose Host header is not 127.0.0.1 / localhost / [::1] at our
  port is refused (400), so a web page cannot reach the app through DNS rebinding;
- every POST carries a form key that is an HMAC of this browser's cookie (HttpOnly, SameSite=Lax, path-scoped
  to the study) under a secret that never leaves the server, and is refused (403) when the key does not match,
  when the Origin header names another site, or when Sec-Fetch-Site says cross-site;
- answers are validated completely before anything is written, in one transaction that also checks that the
  trial answered is the subject's current one (store.py): malformed → 400, duplicate or out of order → 409,
  with a sentence saying what happened, and nothing changed;
- images are served only by their random file name as listed in the study's database, from the study's own
  images/ folder (any other name, `..` included, is 404); static files from a fixed list;
- everything shown is escaped by Jinja's autoescaping (participant ids are typed by people); pages send a
  Content-Security-Policy without inline scripts, and no external resource is ever loaded.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from pathlib import Path
from typing import TYPE_CHECKING

from studies.collect.design import rank_depth
from studies.collect.export import export
from studies.collect.store import Rejected, Store, letters

if TYPE_CHECKING:
    from flask import Flask

HERE = Path(__file__).resolve().parent
STATIC_FILES = {"study.css": "text/css", "study.js": "text/javascript", "icon.svg": "image/svg+xml"}
COOKIE = "harness_study"
MAX_RT_MS = 24 * 3600 * 1000
CSP = ("default-src 'none'; img-src 'self'; style-src 'self'; script-src 'self'; form-action 'self'; "
       "base-uri 'none'; frame-ancestors 'none'")
ORDINALS = {1: "1st", 2: "2nd", 3: "3rd"}
SECONDS_PER_TRIAL = {"ab": 5, "rank": 15}  # rough, for the duration announced on the welcome page


def create_app(study_dir: str | Path, allowed_hosts: set[str] | None = None) -> Flask:
    """The Flask app of one study. `allowed_hosts`: accepted Host headers (None = any, with --host)."""
    from flask import Flask, abort, g, redirect, render_template, request, send_from_directory

    study_dir = Path(study_dir).resolve()
    store = Store(study_dir / "votes.db")
    meta = store.meta()
    token, secret = meta["token"], meta["secret"].encode()
    served = store.file_names()
    design, methods = meta["design"], meta["methods"]
    app = Flask(__name__, static_folder=None, template_folder=str(HERE / "templates"))
    app.config.update(MAX_CONTENT_LENGTH=64 * 1024)
    base = f"/s/{token}"

    def csrf_for(key: str) -> str:
        return hmac.new(secret, f"form:{key}".encode(), hashlib.sha256).hexdigest()

    def page(template: str, status: int = 200, **kw):
        return render_template(template, base=base, csrf=csrf_for(g.browser), design=design, **kw), status

    @app.before_request
    def guard():
        if allowed_hosts is not None and request.host.lower() not in allowed_hosts:
            return render_template("error.html", base=None, message="Unknown host name."), 400
        given = (request.view_args or {}).get("token")
        if request.url_rule is None or given is None or not hmac.compare_digest(given.encode(), token.encode()):
            return render_template("error.html", base=None, message="Not found."), 404
        g.browser = request.cookies.get(COOKIE) or ""
        g.new_cookie = False
        if not g.browser or len(g.browser) > 64:
            g.browser, g.new_cookie = secrets.token_urlsafe(24), True
        if request.method == "POST":
            origin = request.headers.get("Origin")
            site = request.headers.get("Sec-Fetch-Site")
            if (origin is not None and origin != f"{request.scheme}://{request.host}") or \
                    (site is not None and site not in ("same-origin", "none")):
                return page("error.html", 403, message="This form was sent from another site; nothing was "
                                                      "recorded.")
            if g.new_cookie:
                return page("error.html", 403, message="Your browser did not send this study's cookie (are "
                                                      "cookies blocked?); nothing was recorded.")
            if not hmac.compare_digest(request.form.get("csrf", "").encode(), csrf_for(g.browser).encode()):
                return page("error.html", 403, message="This form has expired or did not come from this "
                                                      "study's page; nothing was recorded. Please reload.")
        return None

    @app.after_request
    def headers(resp):
        if getattr(g, "new_cookie", False):
            resp.set_cookie(COOKIE, g.browser, path=f"{base}/", httponly=True, samesite="Lax",
                            max_age=180 * 24 * 3600)
        resp.headers["Content-Security-Policy"] = CSP
        resp.headers["X-Content-Type-Options"] = "nosniff"
        resp.headers["X-Frame-Options"] = "DENY"
        resp.headers["Referrer-Policy"] = "same-origin"  # the token is in the URL: never sent elsewhere
        if resp.mimetype == "text/html":
            resp.headers["Cache-Control"] = "no-store"
        return resp

    @app.errorhandler(Rejected)
    def rejected(err: Rejected):
        return page("error.html", err.status, message=str(err),
                    resume=err.status == 409 and store.subject_for_browser(g.browser) is not None)

    @app.errorhandler(413)
    def too_large(err):
        return render_template("error.html", base=None, message="The request is too large."), 413

    def subject_or_start():
        subject = store.subject_for_browser(g.browser)
        return subject, (None if subject else redirect(f"{base}/", 303))

    @app.get("/s/<token>/")
    def welcome(token: str):
        subject = store.subject_for_browser(g.browser)
        per_trial = SECONDS_PER_TRIAL[design]
        minutes = max(1, round((meta["trials_per_subject"] + meta["repeats_per_subject"]) * per_trial / 60))
        return page("welcome.html", subject=subject, meta=meta, minutes=minutes)

    @app.post("/s/<token>/start")
    def start(token: str):
        subject, new = store.join(g.browser, request.form.get("subject_id"))
        return redirect(f"{base}/ready" + ("?new=1" if new else ""), 303)

    @app.get("/s/<token>/ready")
    def ready(token: str):
        subject, go = subject_or_start()
        return go or page("ready.html", subject=subject, new=request.args.get("new") == "1", meta=meta,
                          depth=rank_depth(len(methods)), n_outputs=len(methods))

    @app.get("/s/<token>/trial")
    def trial(token: str):
        subject, go = subject_or_start()
        if go:
            return go
        t = store.next_trial(subject.slot)
        if t is None:
            return redirect(f"{base}/done", 303)
        files = store.image_files(t.image)
        shown = [{"letter": letter, "file": files[m]} for letter, m in zip(letters(len(t.methods)), t.methods)]
        return page("ab.html" if design == "ab" else "rank.html", subject=subject, trial=t, shown=shown,
                    composite=files[None], depth=rank_depth(len(t.methods)), ordinals=ORDINALS)

    @app.post("/s/<token>/answer")
    def answer(token: str):
        subject, go = subject_or_start()
        if go:
            raise Rejected(400, "Please start the study first; nothing was recorded.")
        form = request.form
        try:
            position = int(form["trial"]) - 1
        except (KeyError, ValueError):
            raise Rejected(400, "The answer does not say which trial it is for; nothing was recorded.") from None
        rt = form.get("rt_ms", "")
        if rt:
            if not rt.isdigit() or int(rt) > MAX_RT_MS:
                raise Rejected(400, "The response time sent with the answer is malformed; nothing was "
                                    "recorded.")
            rt = int(rt)
        else:
            rt = None
        if design == "ab":
            choice = form.get("choice", "")
        else:
            choice = {}
            for key, value in form.items():
                if key.startswith("rank_") and value != "":
                    if not value.isdigit():
                        raise Rejected(400, f"The rank '{value}' is not a whole number; nothing was recorded.")
                    choice[key[len("rank_"):]] = int(value)
        store.record(subject.slot, position, choice, rt)
        export(store, study_dir)
        return redirect(f"{base}/trial", 303)

    @app.get("/s/<token>/pause")
    def pause(token: str):
        subject, go = subject_or_start()
        return go or page("pause.html", subject=subject)

    @app.get("/s/<token>/done")
    def done(token: str):
        subject, go = subject_or_start()
        if go:
            return go
        if subject.answered < subject.total:
            return redirect(f"{base}/trial", 303)
        return page("done.html", subject=subject)

    @app.get("/s/<token>/img/<name>")
    def image(token: str, name: str):
        if name not in served:
            abort(404)
        resp = send_from_directory(study_dir / "images", name, max_age=3600)
        resp.headers["Cache-Control"] = "private, max-age=3600"
        return resp

    @app.get("/s/<token>/static/<name>")
    def static_file(token: str, name: str):
        if name not in STATIC_FILES:
            abort(404)
        return send_from_directory(HERE / "static", name, mimetype=STATIC_FILES[name], max_age=300)

    @app.errorhandler(404)
    def not_found(err):
        return render_template("error.html", base=None, message="Not found."), 404

    @app.errorhandler(405)
    def not_allowed(err):
        return render_template("error.html", base=None, message="Method not allowed."), 405

    return app
