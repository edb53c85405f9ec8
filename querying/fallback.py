"""Reading from PostgreSQL instead: why it happened, logged once per outage, counted."""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter

from pymongo.errors import ConnectionFailure, OperationFailure

from .exceptions import QueryingError

logger = logging.getLogger("dualdb")

OUTAGE_LOG_INTERVAL_SECONDS = 60.0

postgres_reads: Counter[str] = Counter()
"""How many evaluations PostgreSQL served in this process, by reason: ``"outage"``,
``"read-your-writes"`` or ``"unsupported"``. Export it to your metrics."""

_lock = threading.Lock()
_last_outage_log = 0.0


# Refusals that no retry fixes but that say nothing about the query: wrong credentials
# (AuthenticationFailed) or missing rights (Unauthorized). Read like an outage.
REFUSED_ACCESS_CODES = frozenset({13, 18})


def unavailable(error: BaseException) -> bool:
    """Whether *error* means MongoDB cannot serve dualdb at all (down, hung, or refusing its login)."""
    return isinstance(error, ConnectionFailure) or _refused_access(error) is not None


def _refused_access(error: BaseException | None) -> OperationFailure | None:
    """The login/rights refusal behind *error*, however it was wrapped on the way."""
    while error is not None:
        if isinstance(error, OperationFailure) and error.code in REFUSED_ACCESS_CODES:
            return error
        error = error.__cause__
    return None


def describe_unavailability(error: BaseException) -> str:
    """One phrase for logs and errors: a refused login reads differently from a dead server."""
    refused = _refused_access(error)
    if refused is not None:
        return f"MongoDB refused dualdb's login or rights ({(refused.details or {}).get('codeName', refused.code)})"
    return f"MongoDB is unreachable ({type(error).__name__})"


class MongoUnavailable(QueryingError):
    """MongoDB cannot serve the read and ``READ_FALLBACK`` is ``"raise"``."""

    def __init__(self, model_label: str, error: BaseException | None = None) -> None:
        reason = describe_unavailability(error) if error is not None else "MongoDB is unreachable"
        super().__init__(f"{model_label}.objects.mongo(): {reason} (READ_FALLBACK is 'raise').")


def note_outage(model_label: str, error: BaseException) -> None:
    """Log the first fallback of an outage window, not every request of it."""
    global _last_outage_log
    now = time.monotonic()
    with _lock:
        if now - _last_outage_log < OUTAGE_LOG_INTERVAL_SECONDS:
            return
        _last_outage_log = now
    logger.warning("dualdb: %s; %s reads fall back to PostgreSQL", describe_unavailability(error), model_label)


def note_postgres_read(reason: str) -> None:
    with _lock:
        postgres_reads[reason if reason in ("outage", "read-your-writes") else "unsupported"] += 1
