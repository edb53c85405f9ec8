"""``dualdb sync``: fill MongoDB from PostgreSQL, resumably, without ever overwriting newer documents."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

from django.db import DEFAULT_DB_ALIAS, models

from ..exceptions import ImproperlyConfigured
from ..models import SyncCheckpoint
from ..outbox import queue_failed
from .batches import pk_batches
from .indexes import ensure_indexes
from .pipelined import mirror_batches
from .progress import Progress


@dataclass
class BackfillReport:
    model_label: str
    rows: int = 0
    failed: int = 0
    resumed_after: str = ""


def backfill(model: type[models.Model], *, batch_size: int = 1000, since: datetime.datetime | None = None,
             restart: bool = False, progress: Progress | None = None, using: str = DEFAULT_DB_ALIAS) -> BackfillReport:
    """Mirror every row of *model* in primary-key order, batch by batch.

    A batch is written while the next one is read and rendered
    (:mod:`~dualdb.operations.pipelined`); its checkpoint commits once it is in
    MongoDB, so an interrupted run resumes after the last written batch.
    Documents are written like any flush (locked, versioned), so live writes
    meanwhile are never overwritten by older data.
    A document that cannot be written is queued in the outbox with its error.
    """
    label = model._meta.label_lower
    checkpoint, created = SyncCheckpoint.objects.using(using).get_or_create(model_label=label)
    if restart and not created:
        checkpoint.last_pk, checkpoint.rows_done = "", 0
        checkpoint.save(using=using)
    rows = model._base_manager.using(using)
    if since is not None:
        rows = rows.filter(**{f"{_latest_by(model)}__gte": since})
    after = model._meta.pk.to_python(checkpoint.last_pk) if checkpoint.last_pk else None
    report = BackfillReport(model_label=label, resumed_after=checkpoint.last_pk)
    if progress:
        progress.start(label, rows.count(), checkpoint.rows_done if after is not None else 0)
    ensure_indexes(model)

    def done(pks: list[Any], errors: dict[Any, Exception]) -> None:
        if errors:
            queue_failed(model, errors, using)
        checkpoint.last_pk = str(pks[-1])
        checkpoint.rows_done += len(pks)
        checkpoint.save(using=using)
        report.rows += len(pks)
        report.failed += len(errors)
        if progress:
            progress.advance(len(pks))

    mirror_batches(model, pk_batches(rows, batch_size, after), using, done)
    checkpoint.delete(using=using)
    if progress:
        progress.finish()
    return report


def _latest_by(model: type[models.Model]) -> str:
    latest_by = model._meta.get_latest_by
    if not latest_by or not isinstance(latest_by, str):
        raise ImproperlyConfigured(
            f"--since needs {model._meta.label}.Meta.get_latest_by to name the field that records changes.")
    return latest_by.lstrip("-")
