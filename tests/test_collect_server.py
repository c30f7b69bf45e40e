"""The study server as participants elsewhere meet it, for days: gunicorn (not a development server), one
server per study, no token in any log, bodies over the limit refused whole, joins limited and abandoned places
given back, idle connections closed without holding threads, and 20 participants answering at once with nothing
lost. Every server binds 127.0.0.1 and is stopped at the end of its test."""

from __future__ import annotations

import csv
import os
import re
import selectors
import socket
import threading
import time
from urllib.parse import urlsplit

import requests

from tests.collect_helpers import Served, csrf_of, error_of, join, make_study, query_votes, trial_of
from tests.processes import run_harness, start_harness, stop_process, wait_until


def _token(url):
    return urlsplit(url).path.split("/")[2]


def _threads(pid: int) -> int:
    """Threads of process `pid` and of its children (gunicorn's master and its worker)."""
    pids = [pid] + [int(c) for c in open(f"/proc/{pid}/task/{pid}/children").read().split()]
    return sum(len(os.listdir(f"/proc/{p}/task")) for p in pids)


def test_served_by_gunicorn_one_server_per_study(tmp_path):
    study = make_study(tmp_path / "study")
    srv = Served(study)
    try:
        r = requests.get(srv.url)
        assert r.status_code == 200 and r.headers["Server"] == "gunicorn"  # not Werkzeug's development server
        second = run_harness("collect-votes", "--out", str(study), "--port", "0", cwd=tmp_path, timeout=60)
        err = second.stderr.strip()
        assert second.returncode == 2 and len(err.splitlines()) == 1, err
        assert str(study) in err and "already serving this study" in err
        assert requests.get(srv.url).status_code == 200  # the first one is untouched
    finally:
        assert srv.stop() == 0
    with open(study / "votes.csv") as f:  # the final export was written on the way out
        assert f.readline().strip() == "subject,image,method_a,method_b,winner"


def test_the_token_never_reaches_a_log(tmp_path):
    study = make_study(tmp_path / "study")
    srv = Served(study, join_rate=600)
    token = _token(srv.url)
    try:
        s, csrf, _ = join(srv.url, "p1")
        s.get(srv.url + "trial")
        for rt in ("²", "9" * 5000):  # were 500s, each logged with the request path
            s.post(srv.url + "answer", data={"csrf": csrf, "trial": "1", "choice": "a", "rt_ms": rt})
        with socket.create_connection(("127.0.0.1", srv.bound[1]), timeout=10) as raw:  # a malformed request
            raw.sendall(f"GET /s/{token}/trial\r\n\r\n".encode())
            raw.recv(4096)
        query_votes(study, "DROP TABLE answers")  # a broken database: every later page is a 500, logged with a traceback
        r = s.post(srv.url + "answer", data={"csrf": csrf, "trial": "1", "choice": "a"})
        assert r.status_code == 500 and token not in r.text
        assert s.get(srv.url + "trial").status_code == 500
    finally:
        srv.stop()
    log = srv.stderr()
    assert "Exception on /s/<token>/answer [POST]" in log and "OperationalError" in log  # logged, redacted
    assert "<token>/trial" in log  # gunicorn's "Invalid request line" warning
    assert token not in log


def _chunks(*parts: bytes):
    yield from parts


def test_bodies_over_the_limit_are_413_chunked_or_not(tmp_path):
    study = make_study(tmp_path / "study")
    srv = Served(study)
    try:
        s, csrf, _ = join(srv.url, "p1")
        s.get(srv.url + "trial")
        head = f"csrf={csrf}&trial=1&choice=a&pad=".encode()
        tail = b"&rt_ms=98"
        body = head + b"x" * (64 * 1024 - len(head) - len(tail)) + tail
        assert len(body) == 64 * 1024  # the limit ends inside rt_ms=98|765
        form = {"Content-Type": "application/x-www-form-urlencoded"}
        r = s.post(srv.url + "answer", data=_chunks(body[:40_000], body[40_000:], b"765"), headers=form,
                   allow_redirects=False)  # a generator: sent chunked, without Content-Length
        assert r.status_code == 413 and "nothing was recorded" in error_of(r.text)
        r = s.post(srv.url + "answer", data=body + b"765", headers=form, allow_redirects=False)
        assert r.status_code == 413
        assert query_votes(study, "SELECT COUNT(*) FROM answers") == [(0,)]
        # at the limit exactly, and a small chunked body split inside a number: whole, so stored whole
        r = s.post(srv.url + "answer", data=_chunks(body[:-2], body[-2:]), headers=form, allow_redirects=False)
        assert r.status_code == 303
        r = s.post(srv.url + "answer", data=_chunks(f"csrf={csrf}&trial=2&choice=b&rt_ms=98".encode(), b"765"),
                   headers=form, allow_redirects=False)
        assert r.status_code == 303
        assert query_votes(study, "SELECT position, rt_client_ms FROM answers") == [(0, 98), (1, 98765)]
    finally:
        srv.stop()


def test_joins_are_limited_and_places_without_answers_are_given_back(tmp_path):
    study = make_study(tmp_path / "study", subjects=3)
    srv = Served(study, join_rate=40, slot_timeout=0.02)  # 10 at once, then one per 1.5 s; 1.2 s
    try:
        url = srv.url
        tries = [join(url, f"p{k}") for k in range(12)]  # a script with the URL, as fast as it can
        codes = [r.status_code for _, _, r in tries]
        assert codes[:3] == [200, 200, 200] and set(codes[3:]) <= {409, 429}, codes
        assert codes.count(429) >= 1 and all(r.headers["Retry-After"].isdigit() for _, _, r in tries
                                             if r.status_code == 429)
        (s0, csrf0, _), (s1, csrf1, _) = tries[0], tries[1]
        assert s0.post(url + "answer", data={"csrf": csrf0, "trial": "1", "choice": "a"}).status_code == 200
        time.sleep(1.6)  # past the time-out, and a join is allowed again
        late, _, r = join(url, "late")
        assert r.status_code == 200
        # p1 and p2 answered nothing: both places were given back, the first to the newcomer
        assert query_votes(study, "SELECT subject FROM slots ORDER BY slot") == [("p0",), ("late",), (None,)]
        r = s1.post(url + "answer", data={"csrf": csrf1, "trial": "1", "choice": "a"})
        assert r.status_code == 400 and "start the study first" in error_of(r.text)
        assert trial_of(s0.get(url + "trial").text) == 2  # who answered keeps their place
    finally:
        srv.stop()


def test_idle_connections_hold_no_thread_and_are_closed(tmp_path):
    study = make_study(tmp_path / "study")
    srv = Served(study, idle_timeout=1)
    port = srv.bound[1]
    socks = []
    try:
        for k in range(80):
            sock = socket.create_connection(("127.0.0.1", port), timeout=10)
            if k >= 60:  # half a request, then nothing
                sock.sendall(b"GET /s/" if k < 70 else b"POST /s/x/answer HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                                         b"Content-Length: 100\r\n\r\nfirst=")
            socks.append(sock)
        start = time.monotonic()
        assert requests.get(srv.url, timeout=10).status_code == 200  # accepted after the 80, so they are too
        assert time.monotonic() - start < 3  # answered while 80 connections wait
        assert _threads(srv.proc.pid) <= 8 + 4  # the worker's pool, its main thread, the master

        def closed(sock):
            sock.setblocking(False)
            try:
                while sock.recv(65536):  # an answer before the close (a 400, say) is read past
                    pass
                return True
            except BlockingIOError:
                return False
            except OSError:
                return True

        wait_until(lambda: all(closed(s) for s in socks), 15, "the server closing idle connections")
        assert _threads(srv.proc.pid) <= 8 + 4
    finally:
        for sock in socks:
            sock.close()
        srv.stop()


def test_behind_a_reverse_proxy(tmp_path):
    """`harness collect-votes --public-url`, and what a TLS proxy on this machine sends it (nginx:
    proxy_set_header Host $host; X-Forwarded-Proto $scheme)."""
    study = make_study(tmp_path / "study")
    log = tmp_path / "serve.log"
    proc = start_harness("collect-votes", "--out", str(study), "--port", "0", "--public-url",
                         "https://study.example.org/", cwd=tmp_path, stderr=open(log, "w"))
    try:
        sel = selectors.DefaultSelector()
        sel.register(proc.stdout, selectors.EVENT_READ)
        assert sel.select(timeout=60), log.read_text()
        url = proc.stdout.readline().strip()
        assert url.startswith("https://study.example.org/s/") and url.endswith("/")
        wait_until(lambda: "listening on 127.0.0.1:" in log.read_text(), 30, "the local address", proc)
        port = int(re.search(r"listening on 127\.0\.0\.1:(\d+) ", log.read_text()).group(1))
        direct = f"http://127.0.0.1:{port}{urlsplit(url).path}"
        proxied = {"Host": "study.example.org", "X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"}
        r = requests.get(direct, headers=proxied)
        assert r.status_code == 200 and "Secure" in r.headers["Set-Cookie"]
        cookie = r.headers["Set-Cookie"].split(";")[0]
        start = {"csrf": csrf_of(r.text), "subject_id": "far"}
        posted = {**proxied, "Cookie": cookie, "Sec-Fetch-Site": "same-origin"}
        r = requests.post(direct + "start", data=start, allow_redirects=False,
                          headers={**posted, "Origin": "https://evil.example"})
        assert r.status_code == 403
        r = requests.post(direct + "start", data=start, allow_redirects=False,
                          headers={**posted, "Origin": "https://study.example.org"})
        assert r.status_code == 303
        assert requests.get(direct, headers={**proxied, "Host": "evil.example"}).status_code == 400
        assert query_votes(study, "SELECT subject FROM slots WHERE subject IS NOT NULL") == [("far",)]
    finally:
        assert stop_process(proc) == 0
    assert "stopped: 0 votes" in log.read_text()


def test_twenty_participants_at_once_nothing_lost(tmp_path, record_property):
    """20 participants answer 14 trials each at the same time (280 answers); every answer is stored and
    exported, and the time to answer stays short."""
    study = make_study(tmp_path / "study", n_images=4, subjects=20, repeats=2)  # 4 × 3 pairs + 2 repeats
    srv = Served(study, join_rate=600)
    latencies, failures = [], []
    lock = threading.Lock()

    def participant(k: int) -> None:
        try:
            s, csrf, r = join(srv.url, f"p{k:02d}")
            assert r.status_code == 200
            while True:
                page = s.get(srv.url + "trial")
                if "data-done" in page.text:
                    return
                t0 = time.perf_counter()
                r = s.post(srv.url + "answer", data={"csrf": csrf, "trial": trial_of(page.text),
                                                     "choice": "ab"[k % 2], "rt_ms": "500"}, allow_redirects=False)
                with lock:
                    latencies.append(time.perf_counter() - t0)
                assert r.status_code == 303, r.status_code
        except Exception as err:  # noqa: BLE001 - reported below
            with lock:
                failures.append(f"p{k:02d}: {err!r}")

    try:
        threads = [threading.Thread(target=participant, args=(k,)) for k in range(20)]
        start = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        wall = time.perf_counter() - start
    finally:
        srv.stop()
    assert not failures, failures
    assert len(latencies) == 280
    assert query_votes(study, "SELECT COUNT(*), COUNT(DISTINCT slot) FROM answers") == [(280, 20)]
    with open(study / "votes.csv", newline="") as f:
        votes = list(csv.DictReader(f))
    assert len(votes) == 20 * 12 and {v["subject"] for v in votes} == {f"p{k:02d}" for k in range(20)}
    p95 = sorted(latencies)[int(0.95 * len(latencies)) - 1]
    record_property("answers", len(latencies))
    record_property("p95_ms", round(p95 * 1000, 1))
    print(f"\n20 participants, 280 answers in {wall:.1f} s: answer p50 "
          f"{sorted(latencies)[len(latencies) // 2] * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms")
    assert p95 < 2.0  # seconds, on a shared 2-core machine
