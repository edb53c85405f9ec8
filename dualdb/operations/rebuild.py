"""``dualdb rebuild``: build a model's collection anew beside the live one, then switch atomically.

1. Note the current ``_v`` (every later write draws a larger one).
2. Fill a new, versioned collection (``books__r<timestamp>``) from PostgreSQL.
3. Switch: take the collection's advisory lock exclusively — every writer holds it
   shared while it writes — so no write is in flight, then point the alias at the
   new collection. Writers resolve the alias afresh under that lock; readers
   within ``ALIAS_CACHE_SECONDS``.
4. Replay into the new collection every document the old one received after step
   1 (its ``_v`` is larger), re-rendered from PostgreSQL.
5. Wait until no reader can still hold the old name, then drop the old collection.

Readers see the complete old collection until the switch and the complete new one
after it; never a half-filled one.
"""

from __future__ import annotations

import datetime
import time
from dataclasses import dataclass
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections, models, transaction

from querying.codecs import from_bson
from querying.shape import ID_KEY, VERSION_KEY

from ..aliases import physical_name, switch
from ..conf import dualdb_settings
from ..connection import get_database
from ..mirroring import collection_key, mirror_documents
from ..outbox import queue_failed
from ..registries import registry
from .batches import pk_batches
from .indexes import ensure_indexes
from .pipelined import mirror_batches
from .progress import Progress


@dataclass
class RebuildReport:
    model_label: str
    old_collection: str
    new_collection: str
    rows: int = 0
    failed: int = 0
    replayed: int = 0


def rebuild(model: type[models.Model], *, batch_size: int = 1000, progress: Progress | None = None,
            using: str = DEFAULT_DB_ALIAS, keep_old: bool = False) -> RebuildReport:
    logical = registry.spec(model).collection_name
    old_name = physical_name(logical, fresh=True)
    new_name = f"{logical}__r{datetime.datetime.now(datetime.timezone.utc):%Y%m%d%H%M%S%f}"
    report = RebuildReport(model._meta.label_lower, old_name, new_name)
    database = get_database()
    new = database[new_name]
    with connections[using].cursor() as cursor:
        cursor.execute("SELECT last_value FROM dualdb_version")
        start_version = cursor.fetchone()[0]
    ensure_indexes(model, new)
    rows = model._base_manager.using(using)
    if progress:
        progress.start(f"rebuild {report.model_label}", rows.count())

    def copied(pks: list[Any], errors: dict[Any, Exception]) -> None:
        if errors:  # retried by the relay, into the new collection once it is live
            queue_failed(model, errors, using)
        report.rows += len(pks)
        report.failed += len(errors)
        if progress:
            progress.advance(len(pks))

    mirror_batches(model, pk_batches(rows, batch_size), using, copied, collection=new)
    if progress:
        progress.finish()

    with transaction.atomic(using=using):
        with connections[using].cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", [collection_key(logical)])
        switch(logical, new_name)

    old = database[old_name]
    pk_field = model._meta.pk
    changed = [from_bson(pk_field, doc[ID_KEY]) for doc in old.find({VERSION_KEY: {"$gt": start_version}}, {ID_KEY: 1})]
    for start in range(0, len(changed), batch_size):
        with transaction.atomic(using=using):
            mirror_documents(model, changed[start:start + batch_size], using)
    report.replayed = len(changed)
    if not keep_old and old_name != new_name:
        time.sleep(dualdb_settings.ALIAS_CACHE_SECONDS + 0.5)  # readers' cached names expire
        old.drop()
    return report
