"""Record changes as outbox rows in the writer's transaction, and flush them on commit.

Two kinds of change reach here:

* *content*: rows of a model were written (saved, updated, deleted);
* *link*: M2M links changed between objects on two sides of a field.

Each becomes outbox rows; which documents they touch is worked out later, by the
flush, so the writer's request pays for one ``INSERT`` and nothing else (for a
``save()``, not even that: :mod:`dualdb.saving` puts the rows in the row's own statement).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from functools import partial
from typing import Any, NamedTuple

import pymongo
from django.db import connections, models, transaction

from .conf import dualdb_settings
from .connection import redact
from .registries import registry

logger = logging.getLogger("dualdb")

_pending = threading.local()


class QueuedRow(NamedTuple):
    """An outbox row about to be inserted (the columns capture sets; the others take defaults)."""

    model_label: str
    object_pk: str
    kind: str
    relation: str = ""
    # sync rows: the write created the row, so the flush tries an insert first.
    created: bool = False


def relation_key(m2m_field: models.Field, owner_side: bool) -> str:
    return f"{m2m_field.model._meta.label_lower}.{m2m_field.name}:{'owner' if owner_side else 'target'}"


def content_changed(model: type[models.Model], pks: Iterable[Any], using: str, *,
                    flush_on_commit: bool = True, created: bool = False) -> list[int]:
    """Rows of *model* changed: re-render their documents and every document embedding them.

    *created*: the rows are new (``save()`` of a new object, ``bulk_create()``).
    Returns the ids of the outbox rows written.
    """
    model = model._meta.concrete_model
    entries = content_entries(model, [pk for pk in pks if pk is not None], created=created)
    if entries:
        note_uncommitted(using, {model})
    return _enqueue(entries, using, flush_on_commit)


def content_entries(model: type[models.Model], pks: Iterable[Any], *, created: bool = False) -> list[QueuedRow]:
    """The outbox rows that a change to these rows of concrete *model* needs."""
    from .models import OutboxEntry

    label = model._meta.label_lower
    return [QueuedRow(label, str(pk), kind, created=created and kind == OutboxEntry.Kind.SYNC.value)
            for kind in content_kinds(model) for pk in pks]


def content_kinds(model: type[models.Model]) -> list[str]:
    """``sync`` if *model* has documents of its own, ``content`` if documents of other models embed it."""
    from .models import OutboxEntry

    kinds = [OutboxEntry.Kind.SYNC.value] if registry.is_mirrored(model) else []
    if registry.embeddings_of(model):
        kinds.append(OutboxEntry.Kind.CONTENT.value)
    return kinds


def link_changed(m2m_field: models.Field, owner_pks: Iterable[Any], target_pks: Iterable[Any], using: str) -> None:
    """M2M links of *m2m_field* changed between *owner_pks* and *target_pks*."""
    from .models import OutboxEntry

    entries = []
    for owner_side, model, pks in ((True, m2m_field.model, owner_pks), (False, m2m_field.related_model, target_pks)):
        if not registry.link_embeddings(m2m_field, owner_side):
            continue
        key = relation_key(m2m_field, owner_side)
        entries += [QueuedRow(model._meta.label_lower, str(pk), OutboxEntry.Kind.LINK.value, relation=key) for pk in pks]
    if entries:
        note_uncommitted(using, {m2m_field.model, m2m_field.related_model})
    _enqueue(entries, using)


def _enqueue(entries: list, using: str, flush_on_commit: bool = True) -> list[int]:
    if not entries:
        return []
    ids = _insert(entries, using)
    if flush_on_commit:
        schedule_flush(ids, using)
    return ids


def schedule_flush(ids: list[int], using: str) -> None:
    """In ``"realtime"`` mode, mirror these committed-or-soon outbox rows right after the commit."""
    if not ids or dualdb_settings.MODE != "realtime":
        return
    _buffer(using).extend(ids)
    # One callback per capture; the first to run after commit flushes the whole
    # buffer and the rest find it empty. Ids from a rolled-back savepoint are
    # simply not found when the flush claims them.
    transaction.on_commit(partial(flush_after_commit, using), using=using)


_ROWS_PER_INSERT = 1000


def outbox_insert(connection: Any, entries: list[QueuedRow], *,
                  object_pk_sql: str | None = None) -> tuple[str, str, list[Any]]:
    """``INSERT INTO outbox (columns)``, and the ``VALUES`` rows of *entries* with their parameters.

    *object_pk_sql*: an SQL expression for every row's ``object_pk`` in place of the
    entries' own (a primary key the same statement generates).
    """
    from .models import OutboxEntry

    quote = connection.ops.quote_name
    columns = QueuedRow._fields + ("state", "attempts", "last_error")
    head = f"INSERT INTO {quote(OutboxEntry._meta.db_table)} ({', '.join(map(quote, columns))})"
    pk_placeholder = object_pk_sql or "%s"
    # A new row's state, attempts and error are the same constants for every row.
    row = f"(%s, {pk_placeholder}, %s, %s, %s, '{OutboxEntry.State.PENDING.value}', 0, '')"
    params = [value for entry in entries
              for value in (entry[:1] + entry[2:] if object_pk_sql else entry)]
    return head, ", ".join([row] * len(entries)), params


def _insert(entries: list, using: str) -> list[int]:
    """``INSERT … RETURNING id`` of the outbox rows, one statement per thousand rows.

    Every captured write pays for this, so it is written out rather than left to
    ``bulk_create()``, which compiles the statement field by field on each call:
    that was two thirds of what capture added to a ``save()`` in relay mode.
    """
    connection = connections[using]
    ids: list[int] = []
    with connection.cursor() as cursor:
        for start in range(0, len(entries), _ROWS_PER_INSERT):
            head, rows, params = outbox_insert(connection, entries[start:start + _ROWS_PER_INSERT])
            cursor.execute(f"{head} VALUES {rows} RETURNING {connection.ops.quote_name('id')}", params)
            ids += [found for (found,) in cursor.fetchall()]
    return ids


def note_uncommitted(using: str, models_written: set[type[models.Model]]) -> None:
    """Remember what the open transaction wrote, so ``.mongo()`` can read its own writes."""
    connection = transaction.get_connection(using)
    if not connection.in_atomic_block:
        return
    marks = _pending.__dict__.setdefault("uncommitted", {})
    outermost = id(connection.atomic_blocks[0])
    owner, written = marks.get(using, (None, set()))
    if owner != outermost:
        written = set()
        transaction.on_commit(partial(marks.pop, using, None), using=using)
    marks[using] = (outermost, written | models_written)


def uncommitted_models(using: str) -> set[type[models.Model]]:
    """Models written by the current, still open transaction on *using* (empty outside one)."""
    connection = transaction.get_connection(using)
    marks = _pending.__dict__.get("uncommitted", {})
    if not connection.in_atomic_block or using not in marks:
        return set()
    owner, written = marks[using]
    return written if owner == id(connection.atomic_blocks[0]) else set()


def _buffer(using: str) -> list[int]:
    buffers = _pending.__dict__.setdefault("by_alias", {})
    return buffers.setdefault(using, [])


def flush_after_commit(using: str) -> None:
    """Mirror what this thread just committed; a failure stays queued and never reaches the caller."""
    from .flush import flush_ids

    ids = _buffer(using)
    if not ids:
        return
    taken = list(ids)
    ids.clear()
    try:
        # The writer's request waits at most this long, for MongoDB and for document locks alike.
        budget_ms = dualdb_settings.REALTIME_TIMEOUT_MS
        with pymongo.timeout(budget_ms / 1000):
            flush_ids(taken, using=using, fanout_limit=dualdb_settings.REALTIME_FANOUT_LIMIT, lock_timeout_ms=budget_ms)
    except Exception as exc:  # the relay retries; the user's request must not fail
        logger.warning("dualdb: mirroring %d outbox rows after commit failed, left for the relay: %s",
                       len(taken), redact(f"{type(exc).__name__}: {exc}"))
