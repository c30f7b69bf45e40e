"""Two limits of the study app that do not depend on the WSGI server it runs on.

- `BodyLimit`: the app sees a request body only whole and at most `limit` bytes. A body announced larger by
  its Content-Length is not kept; a chunked body (no Content-Length) is read up to one byte past the limit.
  Either way an oversized request reaches the app flagged (`TOO_LARGE`) with an empty body (the rest of it read
  and dropped, up to DRAIN), and the app answers 413 without looking at it: a form cut at the limit is never
  parsed (Werkzeug's own limit applies to a chunked body only on some servers, and one cut a split
  `rt_ms=98|765` to 98 and stored it).
- `JoinLimiter`: how fast new participants are accepted (a token bucket), so that a script with the URL
  cannot take every planned place in a second.
"""

from __future__ import annotations

import io
import threading
import time
from collections.abc import Callable, Iterable

TOO_LARGE = "study.body_too_large"
DRAIN = 1024 * 1024  # bytes of a refused body read and dropped, so that its connection can serve the next request


class BodyLimit:
    """WSGI middleware: see the module docstring."""

    def __init__(self, app: Callable, limit: int) -> None:
        self.app, self.limit = app, limit

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        length = environ.get("CONTENT_LENGTH") or ""
        chunked = "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower()
        if length or chunked:
            too_large = False
            if not chunked:
                try:
                    too_large = int(length) > self.limit
                except ValueError:  # the server checks the header; refuse rather than guess
                    too_large = True
            stream = environ["wsgi.input"]
            body = b"" if too_large else self._read(stream)
            if len(body) > self.limit:
                too_large, body = True, b""
            if too_large:
                _drain(stream)
            environ[TOO_LARGE] = too_large
            environ["wsgi.input"] = io.BytesIO(body)
            environ["CONTENT_LENGTH"] = str(len(body))
            environ.pop("HTTP_TRANSFER_ENCODING", None)
        return self.app(environ, start_response)

    def _read(self, stream) -> bytes:
        """The body, or its first limit + 1 bytes when it is longer."""
        parts, size = [], 0
        while size <= self.limit:
            part = stream.read(self.limit + 1 - size)
            if not part:
                break
            parts.append(part)
            size += len(part)
        return b"".join(parts)


def _drain(stream) -> None:
    """Read and drop what is left of a refused body, up to DRAIN bytes. The server would otherwise drain at
    most 64 KiB (gunicorn 26) and, past that, close a connection its client still takes for kept alive — the
    client's next request on it then fails with no answer. A body over DRAIN closes the connection that way."""
    left = DRAIN
    while left > 0:
        part = stream.read(min(left, 64 * 1024))
        if not part:
            return
        left -= len(part)


class JoinLimiter:
    """At most `per_minute` joins a minute, a quarter of them at once (the default 20: 5). `take()` → 0.0 when
    a join may go ahead (and counts it), else the seconds until the next one may. Thread-safe; per server
    process (the study server runs one)."""

    def __init__(self, per_minute: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = per_minute / 60
        self.capacity = max(1.0, per_minute / 4)
        self.tokens = self.capacity
        self.clock = clock
        self.then = clock()
        self._lock = threading.Lock()

    def take(self) -> float:
        with self._lock:
            now = self.clock()
            self.tokens = min(self.capacity, self.tokens + (now - self.then) * self.rate)
            self.then = now
            if self.tokens >= 1:
                self.tokens -= 1
                return 0.0
            return (1 - self.tokens) / self.rate
