"""What the user sees, and where everything else goes.

The user sees the harness's own output: the table or the one JSON document on stdout; progress bar, notices
and errors on stderr. Ray and MLflow talk too — GCS retry warnings, "(raylet) Task ... failed" lines when a
worker dies and is retried, token-auth warnings, "Creating initial MLflow database tables" — some of it from
Python, some from Ray's C++ core straight to file descriptors 1 and 2. `captured()` therefore redirects the
*file descriptors* (and `sys.stdout`/`sys.stderr`) to a log file for the length of a command, and hands the
harness a `Console` whose streams are duplicates of the originals:

- default: library chatter → `<cache dir>/logs/<command>-<time>-<pid>.log` (deleted when empty; attached to
  the MLflow run when there is one);
- `-v`: library chatter → stderr; stdout still carries only the harness's output.

So `harness run-benchmark ... --json | jq` sees exactly one JSON document, whatever Ray does.
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, TextIO


@dataclass
class Console:
    out: TextIO  # the user's stdout: tables, JSON
    err: TextIO  # the user's stderr: progress, notices
    log_path: Path | None = None  # where library chatter goes (None: stderr, or not captured)
    said: list[str] = field(default_factory=list)  # the notes shown on stderr so far

    def note(self, message: str) -> None:
        print(message, file=self.err, flush=True)
        self.said.append(message)

    def one_terminal(self) -> bool:
        """Whether stdout and stderr are the same terminal: what the table repeats of the notes is then shown
        twice, one above the other."""
        try:
            return self.out.isatty() and self.err.isatty() and os.path.samestat(os.fstat(self.out.fileno()),
                                                                                os.fstat(self.err.fileno()))
        except (AttributeError, OSError, ValueError, io.UnsupportedOperation):
            return False

    def shown_on_terminal(self, text: str | None) -> bool:
        """Whether a note holding `text` has already been seen in the terminal the table goes to."""
        return bool(text) and self.one_terminal() and any(text in m for m in self.said)


_current: Console | None = None


def current() -> Console:
    """The console of the running command (the process's own streams outside `captured`)."""
    return _current or Console(sys.stdout, sys.stderr)


def _dup_stream(stream: TextIO, fd: int) -> tuple[TextIO, int | None]:
    """A stream the user will still see after fd `fd` is redirected: a duplicate of the fd when `stream` is
    the process's real stream, else `stream` itself (e.g. a test's capture object)."""
    try:
        if stream.fileno() == fd:
            stream.flush()
            saved = os.dup(fd)
            return io.TextIOWrapper(os.fdopen(os.dup(saved), "wb", buffering=0), encoding="utf-8",
                                    line_buffering=True, write_through=True), saved
    except (AttributeError, OSError, io.UnsupportedOperation):
        pass
    return stream, None


@contextlib.contextmanager
def captured(command: str, log_dir: str | os.PathLike, verbose: bool = False) -> Iterator[Console]:
    """Run a command with library chatter sent to a log file (or to stderr with `verbose`)."""
    global _current
    user_out, saved_out = _dup_stream(sys.stdout, 1)
    user_err, saved_err = _dup_stream(sys.stderr, 2)
    # fds 1 and 2 as they were, restored on the way out even when sys.stdout was not fd 1 (a StringIO, a test's
    # capture): otherwise they would stay pointed at the log file after the command
    original_fds = {fd: os.dup(fd) for fd in (1, 2)}
    old_sys = (sys.stdout, sys.stderr)
    log_path = None
    if verbose:
        sink = user_err
        target_fd = saved_err if saved_err is not None else None
    else:
        log_dir = Path(log_dir) / "logs"
        log_dir.mkdir(parents=True, exist_ok=True)
        log_path = log_dir / f"{command}-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}.log"
        sink = open(log_path, "a", encoding="utf-8", buffering=1)
        target_fd = sink.fileno()
    try:
        if target_fd is not None:
            os.dup2(target_fd, 1)
            if not verbose:
                os.dup2(target_fd, 2)
        sys.stdout = sink
        if not verbose:
            sys.stderr = sink
        _current = Console(user_out, user_err, log_path)
        yield _current
    finally:
        _current = None
        for s in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                s.flush()
        sys.stdout, sys.stderr = old_sys
        for fd, original in original_fds.items():
            os.dup2(original, fd)
            os.close(original)
        for saved in (saved_out, saved_err):
            if saved is not None:
                os.close(saved)
        for stream, saved in ((user_out, saved_out), (user_err, saved_err)):
            if saved is not None:
                with contextlib.suppress(Exception):
                    stream.close()
        if log_path is not None:
            sink.close()
            with contextlib.suppress(OSError):
                if log_path.stat().st_size == 0:
                    log_path.unlink()
