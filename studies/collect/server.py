"""Serving a study: Werkzeug's threaded WSGI server (Flask's own), bound by the OS to a free port when asked
for port 0 — the bound port is read back from the socket, so there is no window in which another process can
take it."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from studies.collect.app import create_app
from studies.collect.export import export
from studies.collect.store import Store

LOOPBACK = ("127.0.0.1", "localhost", "::1")


def study_url(host: str, port: int, token: str) -> str:
    """The URL to give participants (for an all-interfaces bind: this machine's name)."""
    if host in ("0.0.0.0", "::", ""):
        import socket

        host = socket.getfqdn()
    shown = "127.0.0.1" if host in LOOPBACK else host
    shown = f"[{shown}]" if ":" in shown else shown
    return f"http://{shown}:{port}/s/{token}/"


class StudyServer:
    """A study's server: `start()` binds, `url` says where, `serve_forever()` answers until `shutdown()`."""

    def __init__(self, study_dir: str | Path, host: str = "127.0.0.1", port: int = 0) -> None:
        from werkzeug.serving import make_server

        self.study_dir = Path(study_dir)
        self.store = Store(self.study_dir / "votes.db")
        export(self.store, self.study_dir)  # the CSVs always reflect the database, even after a crash
        self.host = host
        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no per-request lines (they would show the token)
        # Bind first (port 0 → the OS picks), then build the app with the Host names it must accept.
        self.server = make_server(host, port, None, threaded=True)
        self.port = self.server.server_port
        allowed = None
        if host in LOOPBACK:
            allowed = {f"{name}:{self.port}" for name in ("127.0.0.1", "localhost", "[::1]")}
        self.server.app = create_app(self.study_dir, allowed)
        self.url = study_url(host, self.port, self.store.meta()["token"])

    def serve_forever(self) -> None:
        self.server.serve_forever(poll_interval=0.1)  # shutdown() waits for at most one poll

    def shutdown(self) -> None:
        """Stop answering (from another thread) and write the final export."""
        self.server.shutdown()

    def close(self) -> dict:
        self.server.server_close()
        return export(self.store, self.study_dir)


def serve(study_dir: str | Path, host: str = "127.0.0.1", port: int = 0,
          on_ready: Callable[[StudyServer], None] | None = None) -> dict:
    """Serve until Ctrl-C (KeyboardInterrupt); returns the final export's summary."""
    srv = StudyServer(study_dir, host, port)
    try:
        if on_ready:
            on_ready(srv)
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        summary = srv.close()
    return summary
