"""Serving a study with gunicorn (a production WSGI server that comes with MLflow), so it can run for days.

- One study, one server: the study directory is locked (`flock`) for as long as the server runs, and a second
  server on it is refused with one line naming it (two would write one sqlite file and race on its exports).
  The lock goes with the process, so a killed server never leaves a stale one behind.
- One worker process with a pool of THREADS threads: a single process writes the database (every write is one
  `BEGIN IMMEDIATE` transaction, WAL journal, 30 s busy time-out: store.py), and the join limiter is one.
- Idle connections cost no thread and time out: a new connection waits in the worker's event loop until it
  sends something and is closed if it sends nothing for `idle_timeout` seconds; so is a kept-alive one; and
  every read and write of a request times out after `idle_timeout` too (SO_RCVTIMEO/SO_SNDTIMEO), so a client
  that sends half a request and stops cannot hold a thread (`StudyWorker`).
- Nothing logged carries the token (redact.py): gunicorn's logger is given the redacting filter; there is no
  access log.
- The socket is bound here, before gunicorn starts (port 0 → a free port picked by the OS, read back from the
  socket, so there is no window in which another process can take it), and handed to gunicorn as fd://N.

`serve_forever` must run in the main thread (gunicorn's master handles signals) and returns after Ctrl-C
(SIGINT) or SIGTERM.
"""

from __future__ import annotations

import errno
import fcntl
import os
import selectors
import signal
import socket
import struct
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

from studies.collect.app import JOIN_RATE, SLOT_TIMEOUT, create_app
from studies.collect.export import export
from studies.collect.redact import Redactor
from studies.collect.store import Store

LOOPBACK = ("127.0.0.1", "localhost", "::1")
THREADS = 8
IDLE_TIMEOUT = 10  # seconds
MAX_CONNECTIONS = 500  # per server; beyond, new connections wait in the listen backlog


class StudyBusy(Exception):
    """The study directory is already being served by another process."""


def study_url(host: str, port: int, token: str, public_url: str | None = None) -> str:
    """The URL to give participants (behind a proxy: `public_url`; for an all-interfaces bind: this machine's
    name)."""
    if public_url is not None:
        return f"{public_url.rstrip('/')}/s/{token}/"
    if host in ("0.0.0.0", "::", ""):
        host = socket.getfqdn()
    shown = "127.0.0.1" if host in LOOPBACK else host
    shown = f"[{shown}]" if ":" in shown else shown
    return f"http://{shown}:{port}/s/{token}/"


def lock_study(study_dir: Path) -> int:
    """An exclusive lock on the study directory, held by the returned descriptor (and by the processes forked
    while it is open); StudyBusy when another process holds it."""
    fd = os.open(study_dir, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise StudyBusy(f"{study_dir}: another collect-votes server is already serving this study; stop it first "
                        "(two servers would both write its database)") from None
    return fd


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket on (host, port); port 0 → a free one."""
    family, _, _, _, address = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM,
                                                  flags=socket.AI_PASSIVE)[0]
    return socket.create_server(address[:2], family=family, backlog=128)


class StudyServer:
    """A study's server: the constructor locks the study and binds, `url` says where, `serve_forever()`
    answers until Ctrl-C / SIGTERM, `close()` releases everything and writes the final export."""

    def __init__(self, study_dir: str | Path, host: str = "127.0.0.1", port: int = 0, *,
                 public_url: str | None = None, join_rate: float = JOIN_RATE, slot_timeout: float = SLOT_TIMEOUT,
                 idle_timeout: int = IDLE_TIMEOUT, threads: int = THREADS) -> None:
        self.study_dir = Path(study_dir)
        self._lock = lock_study(self.study_dir)
        self.socket: socket.socket | None = None
        try:
            self.store = Store(self.study_dir / "votes.db")
            export(self.store, self.study_dir)  # the CSVs always reflect the database, even after a crash
            self.host = host
            self.socket = bind(host, port)
            self.port = self.socket.getsockname()[1]
            allowed = None
            if host in LOOPBACK:
                allowed = {f"{name}:{self.port}" for name in ("127.0.0.1", "localhost", "[::1]")}
            self.app = create_app(self.study_dir, allowed, public_url=public_url, join_rate=join_rate,
                                  slot_timeout=slot_timeout)
            token = self.store.meta()["token"]
            self.url = study_url(host, self.port, token, public_url)
            self.redactor = Redactor(token)
            self.idle_timeout, self.threads = idle_timeout, threads
        except BaseException:
            self.close(final_export=False)
            raise

    def serve_forever(self) -> None:
        """Answer with gunicorn until SIGINT or SIGTERM (in the main thread only)."""
        from gunicorn.arbiter import Arbiter

        saved = {s: signal.getsignal(s) for s in (*Arbiter.SIGNALS, signal.SIGCHLD)}
        master = os.getpid()
        try:
            Arbiter(_gunicorn(self)).run()
        except BaseException as done:
            if os.getpid() != master:
                # the worker, forked inside run(), ends by raising SystemExit through this frame: it must not
                # go on into the caller's code (its final export, its "stopped" line) as if it were the server
                code = done.code if isinstance(done, SystemExit) else 1
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(code if isinstance(code, int) else 1)
            if not isinstance(done, SystemExit):
                raise
            if done.code not in (0, None):
                raise RuntimeError(f"the study server stopped with status {done.code}") from None
        finally:
            for s, handler in saved.items():
                signal.signal(s, handler)

    def close(self, final_export: bool = True) -> dict | None:
        """Close the socket, release the study and (by default) write the final export; its summary."""
        if self.socket is not None:
            self.socket.close()
            self.socket = None
        if self._lock is not None:
            os.close(self._lock)
            self._lock = None
        return export(self.store, self.study_dir) if final_export else None


def serve(study_dir: str | Path, host: str = "127.0.0.1", port: int = 0,
          on_ready: Callable[[StudyServer], None] | None = None, **options) -> dict:
    """Serve until Ctrl-C or SIGTERM; returns the final export's summary. `options`: StudyServer's."""
    srv = StudyServer(study_dir, host, port, **options)
    try:
        if on_ready:
            on_ready(srv)
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        summary = srv.close()
    return summary


# ---- gunicorn ----------------------------------------------------------------------------------------------
def _gunicorn(server: StudyServer):
    """gunicorn's application object for `server`."""
    from gunicorn.app.base import BaseApplication

    class Gunicorn(BaseApplication):
        """gunicorn's application object for one StudyServer: its settings and its (already built) app."""

        def __init__(self, server: StudyServer) -> None:
            self.server = server
            super().__init__()

        def load_config(self) -> None:
            srv = self.server
            settings = {
                "bind": [f"fd://{os.dup(srv.socket.fileno())}"],  # gunicorn closes its copy when it stops
                "workers": 1, "worker_class": _worker_class(), "threads": srv.threads,
                "worker_connections": MAX_CONNECTIONS, "keepalive": srv.idle_timeout,
                "timeout": 60, "graceful_timeout": 5,  # a worker silent for 60 s is restarted
                "errorlog": "-", "loglevel": "warning", "accesslog": None,
                "logger_class": _logger_class(srv.redactor),
                "control_socket_disable": True,  # gunicorn 26's management socket: not wanted here
            }
            for key, value in settings.items():
                self.cfg.set(key, value)

        def load(self):
            return self.server.app

    return Gunicorn(server)


def _logger_class(redactor: Redactor):
    from gunicorn.glogging import Logger

    def quiet_timeouts(record) -> bool:
        """A connection that stalled past the time-out is closed; gunicorn would log a traceback for it."""
        exc = record.exc_info[1] if record.exc_info else None
        return not (isinstance(exc, OSError) and (isinstance(exc, TimeoutError) or
                                                  exc.errno in (errno.EAGAIN, errno.EWOULDBLOCK)))

    class StudyLogger(Logger):
        def setup(self, cfg) -> None:
            super().setup(cfg)
            for log in (self.error_log, self.access_log):
                for f in (quiet_timeouts, redactor):
                    if f not in log.filters:
                        log.addFilter(f)

    return StudyLogger


def _worker_class():
    from gunicorn.workers.gthread import TConn, ThreadWorker

    class StudyWorker(ThreadWorker):
        """gunicorn's threaded worker, except that
        - a new connection waits in the event loop (not in a thread) until it sends something: gunicorn 26
          gives it a thread for up to 5 s first, so a burst of idle connections delays everyone;
        - every read and write on a connection times out (SO_RCVTIMEO / SO_SNDTIMEO, which survive the
          socket being switched between blocking and not);
        - a connection is closed without lingering: gunicorn 26 waits up to 2 s on the event loop for the
          client to close its side, which stalls every other connection while a client holds its side open."""

        def init_signals(self) -> None:
            super().init_signals()
            # Ctrl-C reaches the whole process group, and the master then stops this worker (SIGQUIT): one way
            # out, not two signals racing through the same handler.
            signal.signal(signal.SIGINT, signal.SIG_IGN)

        def handle_quit(self, sig, frame) -> None:
            # gunicorn's handler first shuts the thread pool down, from inside the signal handler: that deadlocks
            # when the signal lands while this thread holds the pool's lock (handing it a request), and the
            # master kills the worker 5 s later. serve_forever ends the worker with os._exit, so nothing needs
            # to wait for the pool; an answer in flight is one sqlite transaction, kept whole or not at all.
            self.alive = False
            sys.exit(0)

        def accept(self, listener) -> None:
            try:
                client, address = listener.accept()
            except OSError as err:
                if err.errno not in (errno.EAGAIN, errno.ECONNABORTED, errno.EWOULDBLOCK):
                    raise
                return
            limit = struct.pack("ll", int(self.cfg.keepalive), 0)  # struct timeval
            client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, limit)
            client.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, limit)
            self.nr_conns += 1
            conn = TConn(self.cfg, client, address, listener.getsockname())
            conn.timeout = time.monotonic() + self.cfg.keepalive  # closed by murder_pending if silent
            self.pending_conns.append(conn)
            self.poller.register(client, selectors.EVENT_READ, partial(self.on_pending_socket_readable, conn))

        def finish_request(self, conn, fs) -> None:
            if not fs.cancelled() and fs.exception() is None and fs.result() is False:
                self.nr_conns -= 1
                _close_now(conn.sock)
                return
            super().finish_request(conn, fs)

    return StudyWorker


def _close_now(sock: socket.socket) -> None:
    """Close a client connection as RFC 9112 §9.6 asks, without waiting: our side first (FIN), then what the
    client has already sent is read (unread data would make the kernel reset the connection over the end of
    the response), then close."""
    try:
        sock.shutdown(socket.SHUT_WR)
        sock.setblocking(False)
        while sock.recv(65536):
            pass
    except OSError:
        pass
    finally:
        sock.close()
