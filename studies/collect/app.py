"""The study web app (Flask): welcome → your id → trials → done, every page under /s/<token>/.

Security, point by point:
- the study token (random, 32 characters) is the first path segment of every URL, pages, images and static
  files alike; a wrong or missing token is a plain 404 (compared in constant time);
- with the default loopback binding, a request whose Host header is not 127.0.0.1 / localhost / [::1] at our
  port is refused (400), so a web page cannot reach the app through DNS rebinding;
- every POST carries a form key that is an HMAC of this browser's cookie (HttpOnly, SameSite=Lax, path-scoped
  to the study) under a secret that never leaves the server, and is refused (403) when the key does not match,
  when the Origin header names another site, or when Sec-Fetch-Site says cross-site;
- answers are validated completely before anything is written (forms.py: every number is 1–9 ASCII digits,
  nothing else), in one transaction that also checks that the trial answered is the subject's current one
  (store.py): malformed → 400, duplicate or out of order → 409, with a sentence saying what happened, and
  nothing changed; a body over 64 KiB is 413 and never parsed, chunked or not (limits.py);
- a participant is continued only by the browser that joined or with their resume code (store.py); new
  participants are accepted at a bounded rate (429 beyond it), and a place taken without any answer is given
  back after `slot_timeout` minutes;
- the token never reaches a log (redact.py);
- behind a reverse proxy (`public_url`), its Host and Origin are accepted and the cookie is Secure under https;
- images are served only by their random file name as listed in the study's database, from the study's own
  images/ folder (any other name, `..` included, is 404); static files from a fixed list;
- everything shown is escaped by Jinja's autoescaping (participant ids are typed by people); pages send a
  Content-Security-Policy without inline scripts, and no external resource is ever loaded.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import math
import secrets
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from studies.collect.design import rank_depth
from studies.collect.export import export
from studies.collect.forms import read_answer
from studies.collect.limits import TOO_LARGE, BodyLimit, JoinLimiter
from studies.collect.redact import Redactor, redact_logs
from studies.collect.store import Rejected, Store, letters

if TYPE_CHECKING:
    from flask import Flask

HERE = Path(__file__).resolve().parent
STATIC_FILES = {"study.css": "text/css", "study.js": "text/javascript", "icon.svg": "image/svg+xml"}
COOKIE = "harness_study"
MAX_BODY = 64 * 1024
JOIN_RATE = 20  # new participants a minute
SLOT_TIMEOUT = 30.0  # minutes
CSP = ("default-src 'none'; img-src 'self'; style-src 'self'; script-src 'self'; form-action 'self'; "
       "base-uri 'none'; frame-ancestors 'none'")
ORDINALS = {1: "1st", 2: "2nd", 3: "3rd"}
SECONDS_PER_TRIAL = {"ab": 5, "rank": 15}  # rough, for the duration announced on the welcome page


def public_origin(url: str) -> tuple[str, str]:
    """(origin, host) of the address participants use, e.g. ("https://study.example.org", "study.example.org")."""
    u = urlsplit(url)
    if u.scheme not in ("http", "https") or not u.hostname or u.path not in ("", "/") or u.query or u.username:
        raise ValueError(f"{url!r} is not an address like https://study.example.org (no path)")
    return f"{u.scheme}://{u.netloc.lower()}", u.netloc.lower()


def create_app(study_dir: str | Path, allowed_hosts: set[str] | None = None, *, public_url: str | None = None,
               join_rate: float = JOIN_RATE, slot_timeout: float = SLOT_TIMEOUT) -> Flask:
    """The Flask app of one study. `allowed_hosts`: accepted Host headers (None = any, with --host);
    `public_url`: the address participants use when a reverse proxy forwards to this server (its Host is
    accepted too); `join_rate`: new participants accepted a minute; `slot_timeout`: minutes after which a
    place with no answer is given back."""
    from flask import Flask, abort, g, redirect, render_template, request, send_from_directory

    study_dir = Path(study_dir).resolve()
    store = Store(study_dir / "votes.db")
    meta = store.meta()
    token, secret = meta["token"], meta["secret"].encode()
    served = store.file_names()
    design, methods = meta["design"], meta["methods"]
    app = Flask(__name__, static_folder=None, template_folder=str(HERE / "templates"))
    app.config.update(MAX_CONTENT_LENGTH=MAX_BODY)
    app.wsgi_app = BodyLimit(app.wsgi_app, MAX_BODY)
    redact_logs(Redactor(token), app.logger, logging.getLogger("werkzeug"))
    base = f"/s/{token}"
    origins = set()
    if public_url is not None:
        origin, host = public_origin(public_url)
        origins.add(origin)
        if allowed_hosts is not None:
            allowed_hosts = {*allowed_hosts, host}
    secure = public_url is not None and public_url.startswith("https:")
    joins = JoinLimiter(join_rate)

    def csrf_for(key: str) -> str:
        return hmac.new(secret, f"form:{key}".encode(), hashlib.sha256).hexdigest()

    def page(template: str, status: int = 200, **kw):
        return render_template(template, base=base, csrf=csrf_for(g.browser), design=design, **kw), status

    @app.before_request
    def guard():
        if request.environ.get(TOO_LARGE):
            abort(413)
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
            if (origin is not None and origin not in {f"{request.scheme}://{request.host}", *origins}) or \
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
            resp.set_cookie(COOKIE, g.browser, path=f"{base}/", httponly=True, samesite="Lax", secure=secure,
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
        html, status = page("error.html", err.status, message=str(err),
                            resume=err.status == 409 and store.subject_for_browser(g.browser) is not None)
        headers = {"Retry-After": str(err.retry_after)} if err.retry_after else {}
        return html, status, headers

    @app.errorhandler(413)
    def too_large(err):
        return render_template("error.html", base=None, message="The request is too large; nothing was "
                                                                "recorded."), 413

    @app.errorhandler(500)
    def failed(err):
        return render_template("error.html", base=None, message="Something went wrong on the server. Please "
                                                                "reload the page in a moment."), 500

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
        wait = joins.take()  # every try counts, resume codes included: guessing one is as slow as joining
        if wait:
            raise Rejected(429, "Many people are joining at this moment: please try again in a few seconds. "
                                "Nothing was recorded.", retry_after=math.ceil(wait))
        if "resume_code" in request.form:  # the "Continue" form
            store.resume(g.browser, request.form["resume_code"].strip())
            return redirect(f"{base}/ready", 303)
        subject, new = store.join(g.browser, request.form.get("subject_id"), stale_after=slot_timeout * 60)
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
        position, choice, rt = read_answer(request.form, design, subject.total)
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
