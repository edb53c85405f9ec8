"""The flush: turn claimed outbox rows into versioned MongoDB writes.

One flush is one PostgreSQL transaction:

1. claim outbox rows (``FOR UPDATE SKIP LOCKED``);
2. expand *content* and *link* rows into the documents that embed the changed
   objects — found in PostgreSQL (what embeds them now) and in MongoDB (what
   embedded them before, e.g. books that listed a now deleted tag);
3. per document, in sorted order, take ``pg_advisory_xact_lock`` on its key and
   only then draw ``_v`` from the ``dualdb_version`` sequence and re-read the row:
   a later ``_v`` therefore always means a later read, whatever order the writing
   transactions committed in;
4. write with :func:`~dualdb.versioned.write_versioned`, then delete the rows
   that succeeded and count an attempt on the rest;
5. once that commits, tell :mod:`dualdb.signals` receivers what happened.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from django.db import connections, models, transaction
from pymongo.errors import PyMongoError

from querying.codecs import from_bson, to_bson

from . import outbox, signals
from .aliases import collection_for
from .capture import relation_key
from .conf import dualdb_settings
from .exceptions import MirrorUnavailable
from .mirroring import lock_documents, mirror_documents
from .models import OutboxEntry
from .registries import Embedding, registry

logger = logging.getLogger("dualdb")


@dataclass
class FlushReport:
    """What one flush (or, added up, a relay run) did.

    ``claimed``: outbox rows taken; ``documents``: documents written (tombstones
    included); ``failed``: outbox rows that failed and stay queued; ``dead``: rows
    dead-lettered by this flush; ``deferred``: documents left to the relay because
    the fan-out exceeded ``REALTIME_FANOUT_LIMIT``; ``batches``: flushes added up.
    """

    claimed: int = 0
    documents: int = 0
    failed: int = 0
    dead: int = 0
    deferred: int = 0
    batches: int = 0

    def add(self, other: "FlushReport") -> None:
        self.claimed += other.claimed
        self.documents += other.documents
        self.failed += other.failed
        self.dead += other.dead
        self.deferred += other.deferred
        self.batches += 1


@dataclass
class _Work:
    """Documents to render, each with the outbox rows that asked for it."""

    documents: dict[type[models.Model], dict[Any, list[OutboxEntry]]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(list)))
    failures: dict[OutboxEntry, BaseException] = field(default_factory=dict)

    def add(self, model: type[models.Model], pk: Any, entry: OutboxEntry) -> None:
        self.documents[model][pk].append(entry)

    def size(self) -> int:
        return sum(len(pks) for pks in self.documents.values())


def flush_ids(ids: list[int], *, using: str = "default", fanout_limit: int | None = None,
              lock_timeout_ms: int | None = None) -> FlushReport:
    """Mirror exactly these outbox rows, ``BATCH_SIZE`` per transaction (one :func:`flush` claims one batch)."""
    report = FlushReport()
    batch = dualdb_settings.BATCH_SIZE
    for start in range(0, len(ids), batch):
        report.add(flush(ids[start:start + batch], using=using, fanout_limit=fanout_limit,
                         lock_timeout_ms=lock_timeout_ms))
    return report


def flush(ids: list[int] | None = None, *, using: str = "default", limit: int | None = None,
          fanout_limit: int | None = None, ignore_backoff: bool = False,
          lock_timeout_ms: int | None = None) -> FlushReport:
    """Mirror one batch of outbox rows: the given *ids*, or the oldest due ones.

    *lock_timeout_ms* bounds the wait for document locks another flush holds (a
    writer's on-commit flush must not queue behind a slow relay batch): past it
    PostgreSQL raises and the whole batch stays queued, untouched, for the relay.
    """
    limit = limit or dualdb_settings.BATCH_SIZE
    report = FlushReport()
    with transaction.atomic(using=using):
        if lock_timeout_ms is not None:
            with connections[using].cursor() as cursor:
                cursor.execute("SELECT set_config('lock_timeout', %s, true)", [f"{int(lock_timeout_ms)}ms"])
        entries = outbox.claim(ids, limit, using, ignore_backoff=ignore_backoff)
        report.claimed = len(entries)
        if not entries:
            return report
        work = _Work()
        written: dict[type[models.Model], list[Any]] = {}
        dead: list[OutboxEntry] = []
        try:
            _plan(entries, work, using)
            if fanout_limit is not None and work.size() > fanout_limit:
                report.deferred = _defer_to_relay(work, using)
            else:
                lock_documents(((model, pk) for model, pks in work.documents.items() for pk in pks), using)
                for model, pks in work.documents.items():
                    written[model] = _write_documents(model, pks, work.failures, using)
                    report.documents += len(written[model])
        except MirrorUnavailable as outage:
            # One timeout per batch, not one per row: the rest of the batch waits too.
            work.failures.update({entry: outage for entry in entries if entry not in work.failures})
        done = [entry for entry in entries if entry not in work.failures]
        outbox.complete(done, using)
        if work.failures:
            report.failed = len(work.failures)
            dead = outbox.fail(work.failures, using)
            report.dead = len(dead)
            _log_failures(work.failures)
        # After commit: receivers see only outcomes that stick, and cannot break this transaction.
        transaction.on_commit(partial(signals.announce_flush, written, work.failures, dead), using=using, robust=True)
    return report


def _plan(entries: list[OutboxEntry], work: _Work, using: str) -> None:
    """Add every document the batch's rows ask for to *work*; a row that cannot be planned fails alone.

    *content* and *link* rows are grouped by embedding first, so a batch of N
    changed objects costs one lookup per embedding, not N (on a server that scans,
    that is the difference between one scan and N).
    """
    wanted: dict[Embedding, dict[Any, list[OutboxEntry]]] = defaultdict(lambda: defaultdict(list))
    for entry in entries:
        try:
            model = _any_model(entry.model_label)
            pk = model._meta.pk.to_python(entry.object_pk)
            if entry.kind == OutboxEntry.Kind.SYNC:
                work.add(model, pk, entry)
                continue
            if entry.kind == OutboxEntry.Kind.CONTENT:
                embeddings = registry.embeddings_of(model)
            else:
                m2m_field, owner_side = _parse_relation(entry.relation)
                embeddings = registry.link_embeddings(m2m_field, owner_side)
            for embedding in embeddings:
                wanted[embedding][pk].append(entry)
        except Exception as exc:  # recorded on the row and retried, never lost
            work.failures[entry] = exc
    for embedding, asked in wanted.items():
        try:
            found = documents_embedding(embedding, list(asked), using)
        except MirrorUnavailable:
            raise
        except Exception as exc:
            work.failures.update({entry: exc for rows in asked.values() for entry in rows})
            continue
        for pk, rows in asked.items():
            for document_pk in found.get(pk, ()):
                for entry in rows:
                    work.add(embedding.mirrored, document_pk, entry)


def documents_embedding(embedding: Embedding, pks: list[Any], using: str) -> dict[Any, set[Any]]:
    """For each of *pks*, the primary keys of the documents that embed it at the embedding's path, now or before.

    "Now" comes from PostgreSQL, "before" from MongoDB (a book moved to another
    author is still embedded in the old author's document until it is re-rendered).
    """
    mirrored = embedding.mirrored
    if not embedding.path:
        return {pk: {pk} for pk in pks}
    found: dict[Any, set[Any]] = defaultdict(set)
    now = (mirrored._base_manager.using(using)
           .filter(**{f"{embedding.orm_path}__pk__in": pks})
           .values_list(f"{embedding.orm_path}__pk", "pk"))
    for pk, document_pk in now:
        found[pk].add(document_pk)
    target_pk = embedding.path[-1].shape.model._meta.pk
    mirrored_pk = mirrored._meta.pk
    id_path = embedding.mongo_id_path
    stored = collection_for(mirrored).find(
        {id_path: {"$in": [to_bson(target_pk, pk) for pk in pks]}}, {id_path: 1})
    asked = set(pks)
    try:
        for document in stored:
            document_pk = from_bson(mirrored_pk, document["_id"])
            for value in _values_at(document, id_path.split(".")):
                pk = from_bson(target_pk, value)
                if pk in asked:
                    found[pk].add(document_pk)
    except PyMongoError as exc:
        raise MirrorUnavailable(str(exc)) from exc
    return found


def _values_at(node: Any, keys: list[str]) -> list[Any]:
    """The values at a dotted path, through arrays as MongoDB's own matching goes."""
    if isinstance(node, list):
        return [value for item in node for value in _values_at(item, keys)]
    if not keys:
        return [node]
    if not isinstance(node, dict) or keys[0] not in node:
        return []
    return _values_at(node[keys[0]], keys[1:])


def _write_documents(model: type[models.Model], requested: dict[Any, list[OutboxEntry]],
                     failures: dict[OutboxEntry, BaseException], using: str) -> list[Any]:
    """Mirror one model's documents of the batch (already locked); failures go to their rows.

    Returns the primary keys of the documents written.
    """
    new = {pk for pk, entries in requested.items() if any(entry.created for entry in entries)}
    errors = mirror_documents(model, list(requested), using, lock=False, new=new)
    for pk, error in errors.items():
        for entry in requested[pk]:
            failures[entry] = error
    return [pk for pk in requested if pk not in errors]


def _defer_to_relay(work: _Work, using: str) -> int:
    """Too many documents for the writer's request: queue them as rows of their own."""
    entries = [
        OutboxEntry(model_label=model._meta.label_lower, object_pk=str(pk), kind=OutboxEntry.Kind.SYNC)
        for model, pks in work.documents.items() for pk in pks
    ]
    OutboxEntry.objects.using(using).bulk_create(entries, batch_size=1000)
    return len(entries)


def _any_model(label: str) -> type[models.Model]:
    from django.apps import apps

    try:
        return apps.get_model(label)
    except (LookupError, ValueError):
        raise LookupError(f"the outbox names {label!r}, which is not an installed model") from None


def _parse_relation(key: str) -> tuple[models.Field, bool]:
    path, _, side = key.rpartition(":")
    model_label, _, field_name = path.rpartition(".")
    m2m_field = _any_model(model_label)._meta.get_field(field_name)
    if relation_key(m2m_field, side == "owner") != key:
        raise LookupError(f"outbox relation {key!r} does not name an M2M field side")
    return m2m_field, side == "owner"


def _log_failures(failures: dict[OutboxEntry, BaseException]) -> None:
    first = next(iter(failures.values()))
    logger.warning("dualdb: %d outbox rows failed and stay queued (first error: %s)",
                   len(failures), outbox.describe(first))
