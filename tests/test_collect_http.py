"""The study app over HTTP (served by gunicorn, as in a real study), one test per security point, and the answers
it stores (sqlite read directly). Tests that change nothing a later test could see share one server."""

from __future__ import annotations

import csv
import http.client
import json
import re
from urllib.parse import urlsplit

import pytest
import requests

from tests.collect_helpers import Served, csrf_of, error_of, join, make_study, query_votes, trial_of


@pytest.fixture
def served(tmp_path):
    study = make_study(tmp_path / "study")
    s = Served(study, join_rate=600)  # tests join faster than people (the limit has its own test)
    yield s
    s.stop()


@pytest.fixture(scope="module")
def shared(tmp_path_factory):
    """One server for the tests that only read, or join once (10 places)."""
    study = make_study(tmp_path_factory.mktemp("shared") / "study", subjects=10)
    (study / "images" / "planted.png").write_bytes(b"not in the database")
    s = Served(study)
    yield s
    s.stop()


def _join(url, subject_id=""):
    """A participant's browser: (session, csrf) after the start form."""
    s, csrf, r = join(url, subject_id)
    assert r.status_code == 200, r.text
    return s, csrf


def _raw_get(url: str, path: str, host: str | None = None) -> int:
    """GET an exact, unnormalised path (requests would resolve `..` itself)."""
    u = urlsplit(url)
    con = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
    try:
        con.putrequest("GET", path, skip_host=host is not None)
        if host is not None:
            con.putheader("Host", host)
        con.endheaders()
        return con.getresponse().status
    finally:
        con.close()


def test_binds_loopback_and_the_port_the_os_chose(shared):
    host, port = shared.bound
    assert host == "127.0.0.1" and port == urlsplit(shared.url).port and port > 0


def test_every_request_needs_the_token(shared):
    served = shared
    u = urlsplit(served.url)
    token = u.path.split("/")[2]
    assert len(token) >= 32
    page = requests.get(served.url).text
    img = page and requests.Session()
    s, _ = _join(served.url)
    trial_page = s.get(served.url + "trial").text
    img_path = next(p for p in trial_page.split('"') if "/img/" in p)
    assert s.get(f"{u.scheme}://{u.netloc}{img_path}").status_code == 200
    wrong = token[:-1] + ("a" if token[-1] != "a" else "b")
    for path in ("/", "/s/", f"/s/{wrong}/", f"/s/{wrong}/trial", img_path.replace(token, wrong),
                 f"/s/{wrong}/static/study.css", "/static/study.css", f"/{token}/", f"/s/{token[:8]}/",
                 "/favicon.ico"):
        r = s.get(f"{u.scheme}://{u.netloc}{path}")
        assert r.status_code == 404, path
        assert token not in r.text
    r = s.post(f"{u.scheme}://{u.netloc}/s/{wrong}/answer", data={"trial": "1", "choice": "a"})
    assert r.status_code == 404
    assert img is not None


def test_host_header_must_be_ours(shared):
    served = shared
    path = urlsplit(served.url).path
    port = urlsplit(served.url).port
    assert _raw_get(served.url, path, host=f"127.0.0.1:{port}") == 200
    assert _raw_get(served.url, path, host=f"localhost:{port}") == 200
    assert _raw_get(served.url, path, host=f"evil.example:{port}") == 400  # DNS rebinding
    assert _raw_get(served.url, path, host="127.0.0.1:1") == 400


def test_cross_site_posts_are_refused(served, tmp_path):
    url = served.url
    s = requests.Session()
    csrf = csrf_of(s.get(url).text)
    cookie = s.cookies.get("harness_study")
    attempts = [
        ({}, {"subject_id": "x"}),  # no form key
        ({}, {"csrf": "0" * 64, "subject_id": "x"}),  # a made-up one
        ({"Origin": "http://evil.example"}, {"csrf": csrf, "subject_id": "x"}),  # right key, other site
        ({"Sec-Fetch-Site": "cross-site"}, {"csrf": csrf, "subject_id": "x"}),
    ]
    for headers, data in attempts:
        r = s.post(url + "start", data=data, headers=headers)
        assert r.status_code == 403 and "nothing was recorded" in error_of(r.text), (headers, data)
    other = requests.post(url + "start", data={"csrf": csrf, "subject_id": "x"})  # key without its cookie
    assert other.status_code == 403
    assert query_votes(tmp_path / "study", "SELECT COUNT(subject) FROM slots") == [(0,)]
    r = s.post(url + "start", data={"csrf": csrf, "subject_id": "x"}, headers={"Origin": url.rstrip("/").rsplit(
        "/s/", 1)[0], "Sec-Fetch-Site": "same-origin"})
    assert r.status_code == 200 and s.cookies.get("harness_study") == cookie
    assert query_votes(tmp_path / "study", "SELECT subject FROM slots WHERE subject IS NOT NULL") == [("x",)]


def test_cookie_and_headers(shared):
    served = shared
    r = requests.get(served.url)
    cookie = r.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and f"Path={urlsplit(served.url).path}" in cookie
    csp = r.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert r.headers["X-Content-Type-Options"] == "nosniff" and r.headers["Cache-Control"] == "no-store"
    # nothing on any page comes from elsewhere
    s, _ = _join(served.url)
    for page in (r.text, s.get(served.url + "ready").text, s.get(served.url + "trial").text):
        assert "//" not in "".join(p for p in page.split('"') if p.startswith(("http", "//")))
        assert "<script>" not in page  # no inline script (the CSP would block it anyway)


def test_ids_are_escaped_and_checked(served, tmp_path):
    evil = '<script>alert("x")</script>&'
    s, csrf = _join(served.url, evil)
    for page in (s.get(served.url + "ready").text, s.get(served.url + "trial").text, s.get(served.url).text):
        assert "<script>alert" not in page
        assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;&amp;" in page
    for bad, why in (("=HYPERLINK(1)", "cannot start"), ("a\x00b", "control"), ("x" * 41, "longer"),
                     ("tie", "cannot be")):
        t = requests.Session()
        r = t.post(served.url + "start", data={"csrf": csrf_of(t.get(served.url).text), "subject_id": bad})
        assert r.status_code == 400 and why in error_of(r.text), bad
    assert query_votes(tmp_path / "study", "SELECT subject FROM slots WHERE subject IS NOT NULL") == [(evil,)]


@pytest.mark.parametrize("path", [
    "img/..%2fvotes.db", "img/%2e%2e%2fstudy.json", "img/../votes.db", "img/..%2F..%2Fstudies%2Fab.csv",
    "img/%2fetc%2fpasswd", "img//etc/passwd", "img/votes.db", "img/", "img/.", "static/..%2fapp.py",
    "static/../app.py", "static/%2e%2e/store.py", "static/base.html", "img/planted.png",
])
def test_images_only_from_the_study(shared, path):
    base = urlsplit(shared.url).path
    assert _raw_get(shared.url, base + path) == 404


def _answer(s, url, csrf, **data):
    return s.post(url + "answer", data={"csrf": csrf, **data}, allow_redirects=False)


def test_malformed_and_duplicate_answers_change_nothing(served, tmp_path):
    url, study = served.url, tmp_path / "study"
    s, csrf = _join(url, "p1")
    t = trial_of(s.get(url + "trial").text)
    assert t == 1
    r = _answer(s, url, csrf, trial="1", choice="a", rt_ms="850")
    assert r.status_code == 303
    before = (study / "votes.csv").read_bytes(), query_votes(study, "SELECT * FROM answers")
    cases = [
        ({"trial": "2", "choice": "left"}, 400, "A, B or no preference"),
        ({"trial": "2"}, 400, "A, B or no preference"),
        ({"choice": "a"}, 400, "which trial"),
        ({"trial": "two", "choice": "a"}, 400, "which trial"),
        ({"trial": "2", "choice": "a", "rt_ms": "-5"}, 400, "response time"),
        ({"trial": "2", "choice": "a", "rt_ms": "1e9"}, 400, "response time"),
        ({"trial": "1", "choice": "b"}, 409, "already answered"),  # a resubmitted form
        ({"trial": "3", "choice": "a"}, 409, "not the current trial"),
    ]
    for data, status, words in cases:
        r = _answer(s, url, csrf, **data)
        assert r.status_code == status and words in error_of(r.text), (data, r.status_code, error_of(r.text))
        assert ((study / "votes.csv").read_bytes(), query_votes(study, "SELECT * FROM answers")) == before
    r = requests.post(url + "answer", data={"csrf": csrf, "trial": "2", "choice": "a"})
    assert r.status_code == 403  # a stranger's browser
    r = s.post(url + "answer", data={"csrf": csrf, "trial": "2", "choice": "a", "pad": "x" * 70_000})
    assert r.status_code == 413
    assert query_votes(study, "SELECT * FROM answers") == before[1]


# Every number a participant sends is 1–9 ASCII digits and nothing else. Each of these passes some lenient reading
# (str.isdigit, int(), unicodedata) and was once a 500, a 409 or a stored number.
NOT_NUMBERS = ["²", "\u0661", "\u0663\u0664", "\uff11", "+1", "-1", " 1 ", "1 ", "1_0", "1.0", "1e3", "0x1", "",
               "9" * 5000, "1" * 10, "١٢"]


@pytest.mark.parametrize("field", ["trial", "rt_ms"])
def test_numbers_are_ascii_digits_only(served, tmp_path, field):
    url, study = served.url, tmp_path / "study"
    s, csrf = _join(url, "p1")
    assert trial_of(s.get(url + "trial").text) == 1
    bad = NOT_NUMBERS + (["0", "8", "99999"] if field == "trial" else ["86400001"])  # out of range: 7 trials, 24 h
    for value in bad:
        if field == "rt_ms" and value == "":
            continue  # no response time (no JavaScript) is allowed
        data = {"trial": "1", "choice": "a", "rt_ms": "850", field: value}
        r = _answer(s, url, csrf, **data)
        assert r.status_code == 400, (field, value[:20], r.status_code)
        assert ("which trial" if field == "trial" else "response time") in error_of(r.text), value[:20]
    r = s.post(url + "answer", data=[("csrf", csrf), ("trial", "1"), ("trial", "2"), ("choice", "a")],
               allow_redirects=False)
    assert r.status_code == 400 and "twice" in error_of(r.text)
    assert query_votes(study, "SELECT COUNT(*) FROM answers") == [(0,)]
    assert _answer(s, url, csrf, trial="01", choice="a", rt_ms="0850").status_code == 303  # leading zeros are fine
    assert query_votes(study, "SELECT position, rt_client_ms FROM answers") == [(0, 850)]


def test_ranks_are_ascii_digits_only(tmp_path):
    study = make_study(tmp_path / "rank", design="rank", methods=("red", "green", "blue", "grey"), repeats=0)
    srv = Served(study)
    try:
        s, csrf = _join(srv.url, "r1")
        for value in NOT_NUMBERS + ["0", "4"]:
            if value == "":
                continue  # blank = not ranked
            r = _answer(s, srv.url, csrf, trial="1", rank_A=value, rank_B="2", rank_C="3")
            assert r.status_code == 400, (value[:20], r.status_code)
        assert query_votes(study, "SELECT COUNT(*) FROM answers") == [(0,)]
        assert _answer(s, srv.url, csrf, trial="1", rank_A="1", rank_B="2", rank_C="3").status_code == 303
    finally:
        srv.stop()


def test_answers_are_stored_with_side_times_and_exported(served, tmp_path):
    """Two participants answer by side; the CSV winner must be the method that was on that side."""
    url, study = served.url, tmp_path / "study"
    sides = {}
    for pid, pick in (("p1", "a"), ("p2", "b")):
        s, csrf = _join(url, pid)
        while True:
            page = s.get(url + "trial")
            if "Thank you" in page.text:
                break
            n = trial_of(page.text)
            assert f"Trial {n} of 7" in page.text  # 2 images × 3 pairs + 1 repeat
            assert _answer(s, url, csrf, trial=str(n), choice=pick, rt_ms=str(100 * n)).status_code == 303
        sides[pid] = pick
    plan = {(s, p): json.loads(m) for s, p, m in query_votes(study, "SELECT slot, position, methods FROM trials")}
    rows = query_votes(study, "SELECT slot, position, choice, winner, rt_client_ms, rt_server_ms, answered_at FROM answers")
    assert len(rows) == 14
    for slot, pos, choice, winner, rt_c, rt_s, at in rows:
        left, right = plan[slot, pos]
        assert winner == (left if choice == "a" else right) and choice == ("a", "b")[slot]
        assert rt_c == 100 * (pos + 1) and rt_s is not None and rt_s >= 0 and at > 0
    with open(study / "votes.csv", newline="", encoding="utf-8") as f:
        votes = list(csv.DictReader(f))
    assert len(votes) == 12 and list(votes[0]) == ["subject", "image", "method_a", "method_b", "winner"]
    for v in votes:  # A is the left output: p1 always chose it, p2 always the right one
        assert v["winner"] == (v["method_a"] if v["subject"] == "p1" else v["method_b"])
    with open(study / "trials.csv", newline="", encoding="utf-8") as f:
        trials = list(csv.DictReader(f))
    assert len(trials) == 14 and sum(1 for t in trials if t["repeat_of"]) == 2
    with open(study / "consistency.csv", newline="", encoding="utf-8") as f:
        cons = {r["subject"]: r for r in csv.DictReader(f)}
    # always picking a side is inconsistent in method terms: the repeat has its sides swapped
    assert cons["p1"]["repeats"] == "1" and cons["p1"]["consistent"] == "0"


def test_resume_needs_the_code_not_the_id_and_study_full(served):
    """Ids are names (s01, s02, … are easy to guess): typing a taken one from another browser is refused; the
    participant's resume code, shown to them only, continues their session anywhere."""
    url = served.url
    s, csrf = _join(url)  # receives an id
    ready = s.get(url + "ready?new=1").text
    assert "s01" in ready
    assert _answer(s, url, csrf, trial="1", choice="tie").status_code == 303
    other = requests.Session()  # another computer, typing the id: refused, nothing changes
    r = other.post(url + "start", data={"csrf": csrf_of(other.get(url).text), "subject_id": "s01"})
    assert r.status_code == 409 and "already taken" in error_of(r.text)
    assert other.get(url + "trial", allow_redirects=False).status_code == 303  # not a participant
    code = re.search(r"data-resume-code>([0-9A-Z]{5}-[0-9A-Z]{5})<", ready).group(1)
    assert code not in r.text
    csrf2 = csrf_of(other.get(url).text)
    for wrong in ("", "s01", code[:-1] + ("0" if code[-1] != "0" else "1"), "x" * 5000):
        r = other.post(url + "start", data={"csrf": csrf2, "resume_code": wrong})
        assert r.status_code == 400 and "resume code" in error_of(r.text), wrong[:20]
    # the code, as people type it (lower case, no dash, O for 0), continues at trial 2
    r = other.post(url + "start", data={"csrf": csrf2, "resume_code": code.lower().replace("-", " ")})
    assert "Welcome back" in r.text and "1 of 7" in r.text
    assert trial_of(other.get(url + "trial").text) == 2
    assert _answer(other, url, csrf2, trial="2", choice="a").status_code == 303
    assert trial_of(s.get(url + "trial").text) == 3  # one participant, two browsers
    r = s.post(url + "start", data={"csrf": csrf, "subject_id": "s01"})  # the id typed in its own browser
    assert r.status_code == 200 and "Welcome back" in r.text
    for pid in ("p2", "p3"):
        _join(url, pid)
    late = requests.Session()
    r = late.post(url + "start", data={"csrf": csrf_of(late.get(url).text), "subject_id": "p4"})
    assert r.status_code == 409 and "all the participants" in error_of(r.text)


def test_ranking_answers(tmp_path):
    study = make_study(tmp_path / "rank", design="rank", methods=("red", "green", "blue", "grey"), repeats=0)
    srv = Served(study)
    try:
        url = srv.url
        s, csrf = _join(url, "r1")
        page = s.get(url + "trial").text
        assert page.count('data-rank="1"') == 4 and 'data-rank="3"' in page
        bad = [({"rank_A": "1", "rank_B": "1", "rank_C": "2"}, "rank 1 is given twice"),
               ({"rank_A": "1", "rank_B": "2"}, "rank 3 is not given"),
               ({"rank_A": "1", "rank_B": "2", "rank_C": "4"}, "from 1 to 3"),
               ({"rank_A": "1", "rank_B": "2", "rank_Z": "3"}, "Unknown output"),
               ({"rank_A": "x", "rank_B": "2", "rank_C": "3"}, "whole number")]
        for data, words in bad:
            r = _answer(s, url, csrf, trial="1", **data)
            assert r.status_code == 400 and words in error_of(r.text), data
        assert query_votes(study, "SELECT COUNT(*) FROM answers") == [(0,)]
        layout = json.loads(query_votes(study, "SELECT methods FROM trials WHERE slot = 0 AND position = 0")[0][0])
        r = _answer(s, url, csrf, trial="1", rank_D="1", rank_B="2", rank_A="3", rank_C="")
        assert r.status_code == 303
        with open(study / "votes.csv", newline="", encoding="utf-8") as f:
            rows = list(csv.DictReader(f))
        got = {r["method"]: r["rank"] for r in rows}
        assert got == {layout[3]: "1", layout[1]: "2", layout[0]: "3", layout[2]: ""}
    finally:
        srv.stop()
