"""Keeping the study token out of every log.

The token is the first path segment of every URL, so anything that logs a request — Flask's "Exception on
/s/<token>/answer [POST]", gunicorn's "Invalid request from ip=…: Invalid Request Line 'GET /s/<token>/ …'",
an access line, a traceback whose message quotes a URL — would write it into a file that is kept, shared and
attached to bug reports. A `Redactor` is a logging filter that rewrites each record before any handler formats
it: the message with its arguments, the traceback text and the stack text, every secret replaced by
"<token>". It is added to the loggers where records start (filters on a logger see only records created on
it) and to the root logger's handlers (which see records propagated from anywhere).
"""

from __future__ import annotations

import logging
import traceback

PLACEHOLDER = "<token>"


class Redactor(logging.Filter):
    def __init__(self, *secrets: str) -> None:
        super().__init__()
        self.secrets = [s for s in secrets if s]

    def clean(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, PLACEHOLDER)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed record: keep what can be said safely
            message = f"{record.msg!r} (arguments could not be formatted)"
        record.msg, record.args = self.clean(message), None
        if record.exc_info and record.exc_info[0] is not None:
            # Formatter.format uses exc_text when it is set, instead of formatting exc_info again
            record.exc_text = self.clean(record.exc_text or
                                         "".join(traceback.format_exception(*record.exc_info)).rstrip("\n"))
        elif record.exc_text:
            record.exc_text = self.clean(record.exc_text)
        if record.stack_info:
            record.stack_info = self.clean(record.stack_info)
        return True


def redact_logs(redactor: Redactor, *loggers: logging.Logger) -> None:
    """Add `redactor` to `loggers` and to the root logger's handlers (once each)."""
    for target in (*loggers, *logging.getLogger().handlers):
        if redactor not in target.filters:
            target.addFilter(redactor)
