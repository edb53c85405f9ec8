"""Reading from PostgreSQL instead: why it happened, logged once per outage, counted."""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter

from .exceptions import QueryingError

logger = logging.getLogger("dualdb")

OUTAGE_LOG_INTERVAL_SECONDS = 60.0

postgres_reads: Counter[str] = Counter()
"""How many evaluations PostgreSQL served in this process, by reason: ``"outage"``,
``"read-your-writes"`` or ``"unsupported"``. Export it to your metrics."""

_lock = threading.Lock()
_last_outage_log = 0.0


class MongoUnavailable(QueryingError):
    """MongoDB could not be reached and ``READ_FALLBACK`` is ``"raise"``."""

    def __init__(self, model_label: str) -> None:
        super().__init__(f"{model_label}.objects.mongo(): MongoDB is unreachable (READ_FALLBACK is 'raise').")


def note_outage(model_label: str, error: BaseException) -> None:
    """Log the first fallback of an outage window, not every request of it."""
    global _last_outage_log
    now = time.monotonic()
    with _lock:
        if now - _last_outage_log < OUTAGE_LOG_INTERVAL_SECONDS:
            return
        _last_outage_log = now
    logger.warning("dualdb: MongoDB unreachable (%s); %s reads fall back to PostgreSQL",
                   type(error).__name__, model_label)


def note_postgres_read(reason: str) -> None:
    with _lock:
        postgres_reads[reason if reason in ("outage", "read-your-writes") else "unsupported"] += 1
