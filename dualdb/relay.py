"""The relay: drains the outbox continuously, the safety net behind every on-commit flush."""

from __future__ import annotations

import datetime
import logging
import threading

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.utils import InterfaceError, OperationalError
from pymongo.errors import PyMongoError

from querying.shape import DELETED_KEY

from .aliases import collection_for
from .conf import dualdb_settings
from .connection import redact
from .flush import FlushReport, flush
from .registries import registry
from .versioned import DELETED_AT_KEY

logger = logging.getLogger("dualdb")

TOMBSTONE_PURGE_EVERY = datetime.timedelta(minutes=5)


def run_relay(*, once: bool = False, stop: threading.Event | None = None, using: str = DEFAULT_DB_ALIAS,
              batch_size: int | None = None) -> FlushReport:
    """Flush batch after batch until *stop* is set (or, with *once*, until nothing is pending).

    ``once`` also takes rows still waiting out their backoff: it is the operator's
    "drain now". A lost PostgreSQL connection is reopened on the next batch.
    """
    stop = stop or threading.Event()
    totals = FlushReport()
    last_purge: datetime.datetime | None = None
    while not stop.is_set():
        try:
            report = flush(using=using, limit=batch_size, ignore_backoff=once)
        except (OperationalError, InterfaceError) as exc:
            logger.warning("dualdb relay: PostgreSQL connection lost, reconnecting: %s", exc)
            connections[using].close()  # the next batch opens a fresh one
            stop.wait(dualdb_settings.RELAY_POLL_SECONDS)
            continue
        except Exception as exc:  # a relay must outlive any one bad batch
            if once:
                raise
            logger.exception("dualdb relay: batch failed, retrying: %s", redact(str(exc)))
            stop.wait(dualdb_settings.RELAY_POLL_SECONDS)
            continue
        totals.add(report)
        if once and (report.claimed == 0 or report.failed == report.claimed):
            break
        now = datetime.datetime.now(datetime.timezone.utc)
        if last_purge is None or now - last_purge > TOMBSTONE_PURGE_EVERY:
            purge_tombstones(now)
            last_purge = now
        if report.claimed == 0:
            stop.wait(dualdb_settings.RELAY_POLL_SECONDS)
    return totals


def purge_tombstones(now: datetime.datetime) -> None:
    """Drop tombstones older than ``TOMBSTONE_TTL_SECONDS``: by then no late write is in flight."""
    cutoff = now - datetime.timedelta(seconds=dualdb_settings.TOMBSTONE_TTL_SECONDS)
    for model in registry.models():
        try:
            collection_for(model).delete_many(
                {DELETED_KEY: True, DELETED_AT_KEY: {"$lt": cutoff}})
        except PyMongoError as exc:
            logger.info("dualdb relay: tombstone purge skipped: %s", redact(str(exc)))
            return
