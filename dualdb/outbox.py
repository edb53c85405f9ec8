"""Claiming, completing and retrying outbox rows."""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from typing import Any

from django.db import models
from django.db.models.functions import Now
from django.utils import timezone

from .conf import dualdb_settings
from .connection import redact
from .exceptions import MirrorUnavailable
from .models import OutboxEntry

MAX_ERROR_LENGTH = 2000


def claim(ids: list[int] | None, limit: int, using: str, *, ignore_backoff: bool = False) -> list[OutboxEntry]:
    """Lock up to *limit* pending rows (the given ids, or the oldest due) for this transaction.

    ``SKIP LOCKED`` lets several relays and writers claim side by side: a row
    another process holds is simply not ours this time.
    """
    rows = OutboxEntry.objects.using(using).filter(state=OutboxEntry.State.PENDING)
    if ids is not None:
        rows = rows.filter(id__in=ids)
    elif not ignore_backoff:
        rows = rows.filter(next_attempt_at__lte=Now())
    return list(rows.order_by("id").select_for_update(skip_locked=True)[:limit])


def complete(entries: Iterable[OutboxEntry], using: str) -> None:
    ids = [entry.id for entry in entries]
    if ids:
        OutboxEntry.objects.using(using).filter(id__in=ids).delete()


def backoff(attempts: int) -> datetime.timedelta:
    seconds = dualdb_settings.RETRY_BACKOFF_SECONDS * 2 ** max(attempts - 1, 0)
    return datetime.timedelta(seconds=min(seconds, dualdb_settings.RETRY_BACKOFF_MAX_SECONDS))


def describe(error: BaseException) -> str:
    return redact(f"{type(error).__name__}: {error}")[:MAX_ERROR_LENGTH]


def queue_failed(model: type[models.Model], errors: dict[Any, BaseException], using: str) -> None:
    """Documents a bulk operation (``sync``, ``rebuild``) could not write stay queued with their error, for the relay."""
    OutboxEntry.objects.using(using).bulk_create([
        OutboxEntry(model_label=model._meta.label_lower, object_pk=str(pk), kind=OutboxEntry.Kind.SYNC,
                    attempts=1, last_error=describe(error))
        for pk, error in errors.items()
    ])


def fail(failures: dict[OutboxEntry, BaseException], using: str) -> list[OutboxEntry]:
    """Count an attempt on each row and back off; returns the rows dead-lettered.

    Only errors of the document itself dead-letter a row: an unreachable
    MongoDB is an outage to wait out, however long it lasts.
    """
    now = timezone.now()
    dead = []
    for entry, error in failures.items():
        entry.attempts += 1
        entry.last_error = describe(error)
        entry.next_attempt_at = now + backoff(entry.attempts)
        if entry.attempts >= dualdb_settings.MAX_ATTEMPTS and not isinstance(error, MirrorUnavailable):
            entry.state = OutboxEntry.State.DEAD
            dead.append(entry)
    OutboxEntry.objects.using(using).bulk_update(
        list(failures), ["attempts", "last_error", "next_attempt_at", "state"])
    return dead
