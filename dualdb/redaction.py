"""A logging filter that keeps the MongoDB password out of every record dualdb (or a receiver) causes.

Call sites already redact what they format; the filter also covers what they do
not control: tracebacks (``logger.exception``) and Django's own log of a
monitoring-signal receiver that raised (``django.dispatch``).
"""

from __future__ import annotations

import logging

from .connection import redact, redact_uri
from .exceptions import ImproperlyConfigured

# Loggers whose records may carry text of a MongoDB error.
REDACTED_LOGGERS = ("dualdb", "django.dispatch")


class RedactCredentials(logging.Filter):
    """Rewrite a record that mentions the password; leave every other record untouched."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        hidden = _redact(message)
        if hidden != message:
            record.msg, record.args = hidden, None
        if record.exc_info and record.exc_info[1] is not None:
            trace = record.exc_text or _FORMATTER.formatException(record.exc_info)
            hidden = _redact(trace)
            if hidden != trace:  # handlers format exc_text and skip exc_info once it is gone
                record.exc_text, record.exc_info = hidden, None
        return True


def _redact(text: str) -> str:
    try:
        return redact(text)
    except ImproperlyConfigured:  # an invalid DUALDB setting: no password we could know of
        return redact_uri(text)


_FORMATTER = logging.Formatter()
_FILTER = RedactCredentials()


def install() -> None:
    """Attach the filter (once) to the loggers that may carry MongoDB error text."""
    for name in REDACTED_LOGGERS:
        logging.getLogger(name).addFilter(_FILTER)
