"""``dualdb check``: compare PostgreSQL and MongoDB document by document, and repair drift.

Three kinds of drift: *missing* (a row without a live document), *orphan* (a
live document without a row) and *stale* (the stored document differs from a
fresh render of the row). A repair rewrites them through the normal, locked and
versioned path, and skips any document whose ``_v`` moved on since the check saw
it: live traffic wrote something newer meanwhile.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from django.db import DEFAULT_DB_ALIAS, models, transaction

from querying.codecs import from_bson, to_bson
from querying.shape import DELETED_KEY, ID_KEY, VERSION_KEY

from ..aliases import collection_for
from ..mirroring import lock_documents, mirror_documents
from ..registries import registry
from ..rendering import render_documents
from .batches import pk_batches
from .progress import Progress

SHOW_FIRST = 5


@dataclass
class DriftReport:
    model_label: str
    checked: int = 0
    missing: list[Any] = field(default_factory=list)
    orphans: list[Any] = field(default_factory=list)
    stale: list[Any] = field(default_factory=list)
    repaired: int = 0
    skipped: int = 0  # changed by live traffic during the check: left alone
    _seen_versions: dict[Any, int | None] = field(default_factory=dict, repr=False)

    @property
    def drift(self) -> int:
        return len(self.missing) + len(self.orphans) + len(self.stale)

    def summary(self) -> str:
        parts = [f"{self.model_label}: {self.checked} checked, {len(self.missing)} missing, "
                 f"{len(self.orphans)} orphan, {len(self.stale)} stale"]
        for name in ("missing", "orphans", "stale"):
            pks = getattr(self, name)
            if pks:
                parts.append(f"  {name}: {', '.join(map(str, pks[:SHOW_FIRST]))}{' ...' if len(pks) > SHOW_FIRST else ''}")
        if self.repaired or self.skipped:
            parts.append(f"  repaired {self.repaired}, left {self.skipped} that live writes changed meanwhile")
        return "\n".join(parts)


def check(model: type[models.Model], *, sample: int | None = None, repair: bool = False, batch_size: int = 500,
          progress: Progress | None = None, using: str = DEFAULT_DB_ALIAS) -> DriftReport:
    """Check every row (or a random *sample* of rows and documents) of *model*."""
    report = DriftReport(model_label=model._meta.label_lower)
    rows = model._base_manager.using(using)
    if sample is not None:
        chosen = list(rows.order_by("?").values_list("pk", flat=True)[:sample])
        batches = [sorted(chosen[i:i + batch_size]) for i in range(0, len(chosen), batch_size)]
        total = len(chosen)
    else:
        batches = pk_batches(rows, batch_size)
        total = rows.count()
    if progress:
        progress.start(f"check {report.model_label}", total)
    for pks in batches:
        _compare(model, pks, report, using)
        if progress:
            progress.advance(len(pks))
    _find_orphans(model, report, sample, batch_size, using)
    if progress:
        progress.finish()
    if repair and report.drift:
        _repair(model, report, batch_size, using)
    return report


def _compare(model: type[models.Model], pks: list[Any], report: DriftReport, using: str) -> None:
    shape = registry.shape(model)
    pk_field = model._meta.pk
    fresh_documents = render_documents(shape, pks, using)
    ids = {to_bson(pk_field, pk): pk for pk in pks}
    stored = {doc[ID_KEY]: doc for doc in collection_for(model).find({ID_KEY: {"$in": list(ids)}})}
    for id_, pk in ids.items():
        if pk not in fresh_documents:  # deleted since the batch was listed
            continue
        report.checked += 1
        document = stored.get(id_)
        if document is None or document.get(DELETED_KEY):
            report.missing.append(pk)
            report._seen_versions[pk] = document.get(VERSION_KEY) if document else None
            continue
        version = document.pop(VERSION_KEY, None)
        fresh = fresh_documents[pk]  # unmirrorable (an exception): its outbox row carries the error; counted as stale
        if document != fresh:
            report.stale.append(pk)
            report._seen_versions[pk] = version


def _find_orphans(model: type[models.Model], report: DriftReport, sample: int | None, batch_size: int,
                  using: str) -> None:
    """Live documents whose row is gone."""
    pk_field = model._meta.pk
    collection = collection_for(model)
    live = {DELETED_KEY: {"$exists": False}}
    if sample is not None:
        total = collection.count_documents(live)
        skip = random.randrange(max(total - sample, 0) + 1) if total else 0
        cursors = [collection.find(live, {ID_KEY: 1, VERSION_KEY: 1}).sort(ID_KEY, 1).skip(skip).limit(sample)]
    else:
        cursors = [collection.find(live, {ID_KEY: 1, VERSION_KEY: 1}, batch_size=batch_size)]
    for cursor in cursors:
        batch: list[dict[str, Any]] = []
        for document in cursor:
            batch.append(document)
            if len(batch) >= batch_size:
                _orphans_in(model, batch, report, pk_field, using)
                batch = []
        _orphans_in(model, batch, report, pk_field, using)


def _orphans_in(model, documents, report, pk_field, using) -> None:
    if not documents:
        return
    by_pk = {from_bson(pk_field, doc[ID_KEY]): doc.get(VERSION_KEY) for doc in documents}
    existing = set(model._base_manager.using(using).filter(pk__in=list(by_pk)).values_list("pk", flat=True))
    for pk, version in by_pk.items():
        if pk not in existing:
            report.orphans.append(pk)
            report._seen_versions[pk] = version


def _repair(model: type[models.Model], report: DriftReport, batch_size: int, using: str) -> None:
    targets = [*report.missing, *report.stale, *report.orphans]
    pk_field = model._meta.pk
    for start in range(0, len(targets), batch_size):
        pks = targets[start:start + batch_size]
        with transaction.atomic(using=using):
            lock_documents(((model, pk) for pk in pks), using)
            ids = {to_bson(pk_field, pk): pk for pk in pks}
            now = {ids[doc[ID_KEY]]: doc.get(VERSION_KEY)
                   for doc in collection_for(model).find({ID_KEY: {"$in": list(ids)}}, {VERSION_KEY: 1})}
            unchanged = [pk for pk in pks if now.get(pk) == report._seen_versions.get(pk)]
            report.skipped += len(pks) - len(unchanged)
            errors = mirror_documents(model, unchanged, using, lock=False)
            report.repaired += len(unchanged) - len(errors)
