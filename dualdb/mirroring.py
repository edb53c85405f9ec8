"""Write the current PostgreSQL state of some rows into their documents, safely against races.

Shared by the flush, the backfill and the repair: take each document's advisory
lock (sorted, in one statement), draw ``_v`` from the ``dualdb_version`` sequence
under it, re-read the rows, render, and write with compare-and-swap versions.
Must run inside a transaction: the locks are held until it ends.
:func:`prepare_documents` and :func:`write_prepared` are its two halves, for a
caller that writes one batch while it prepares the next (``dualdb sync``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import connections, models
from pymongo.collection import Collection

from querying.codecs import to_bson

from .aliases import physical_name
from .connection import get_collection
from .registries import registry
from .rendering import render_documents
from .versioned import VersionedWrite, write_versioned


def lock_documents(keys: Iterable[tuple[type[models.Model], Any]], using: str) -> None:
    """Serialize writers per document: every key in one sorted pass, so two batches never deadlock."""
    labels = [f"{model._meta.label_lower}:{pk}" for model, pk in keys]
    with connections[using].cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(h) FROM "
            "(SELECT DISTINCT hashtextextended(k, 0) AS h FROM unnest(%s::text[]) AS k ORDER BY h) AS locks",
            [labels])


def collection_key(logical: str) -> str:
    return f"dualdb-collection:{logical}"


def live_collection(model: type[models.Model], using: str) -> Collection:
    """The collection to write, resolved fresh under a shared lock that ``rebuild`` takes exclusively.

    So a rebuild's switch waits for writes in flight, and no write lands in the
    old collection after it.
    """
    logical = registry.spec(model).collection_name
    with connections[using].cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock_shared(hashtextextended(%s, 0))", [collection_key(logical)])
    return get_collection(physical_name(logical, fresh=True))


def mirror_documents(model: type[models.Model], pks: Sequence[Any], using: str, *, lock: bool = True,
                     collection: Collection | None = None, expect_new: bool = False,
                     new: set[Any] | frozenset[Any] = frozenset()) -> dict[Any, Exception]:
    """Mirror these rows (a missing row becomes a tombstone); returns the errors by primary key.

    ``lock=False`` when the caller already locked these documents; *collection*
    to write somewhere else than the live collection (a rebuild's new one);
    *expect_new* when most documents do not exist yet (a backfill), *new* for the
    rows known to be just created (their documents are inserted first). Raises
    :class:`~dualdb.exceptions.MirrorUnavailable` when MongoDB cannot be reached.
    """
    if not pks:
        return {}
    if lock:
        lock_documents(((model, pk) for pk in pks), using)
    target = collection if collection is not None else live_collection(model, using)
    return write_prepared(target, prepare_documents(model, pks, using, expect_new=expect_new, new=new))


@dataclass
class PreparedDocuments:
    """Rows read and rendered under their documents' locks, each with its ``_v``: ready to write.

    They may be written after those locks are released (a backfill writes a batch
    while it prepares the next): a later ``_v`` still means a later read, and the
    versioned write keeps whichever is newer.
    """

    writes: list[VersionedWrite] = field(default_factory=list)
    pks_by_id: dict[Any, Any] = field(default_factory=dict)
    errors: dict[Any, Exception] = field(default_factory=dict)


def prepare_documents(model: type[models.Model], pks: Sequence[Any], using: str, *, expect_new: bool = False,
                      new: set[Any] | frozenset[Any] = frozenset()) -> PreparedDocuments:
    """Draw a ``_v`` for each row, then read and render them (the caller holds their locks, in a transaction)."""
    prepared = PreparedDocuments()
    if not pks:
        return prepared
    with connections[using].cursor() as cursor:
        cursor.execute("SELECT nextval('dualdb_version') FROM generate_series(1, %s)", [len(pks)])
        versions = [row[0] for row in cursor.fetchall()]
    documents = render_documents(registry.spec(model).shape, pks, using)
    pk_field = model._meta.pk
    for pk, version in zip(pks, versions):
        document = documents.get(pk)  # None: the row is gone, its document becomes a tombstone
        if isinstance(document, Exception):  # an unmirrorable value: this document only
            prepared.errors[pk] = document
            continue
        id_ = to_bson(pk_field, pk)
        prepared.pks_by_id[id_] = pk
        prepared.writes.append(VersionedWrite(id=id_, version=version, document=document,
                                              new=expect_new or pk in new))
    return prepared


def write_prepared(target: Collection, prepared: PreparedDocuments) -> dict[Any, Exception]:
    """Write prepared documents (MongoDB only: safe from another thread); returns every error by primary key."""
    outcome = write_versioned(target, prepared.writes)
    errors = dict(prepared.errors)
    for id_, error in outcome.errors.items():
        errors[prepared.pks_by_id[id_]] = error
    return errors
