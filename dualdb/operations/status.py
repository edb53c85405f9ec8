"""``dualdb status`` and ``dualdb retry-dead``: how far behind the mirror is, and what failed."""

from __future__ import annotations

import datetime
from dataclasses import asdict, dataclass

from django.db import DEFAULT_DB_ALIAS, models
from django.db.models import Count, Min
from django.utils import timezone
from pymongo.errors import PyMongoError

from querying.shape import DELETED_KEY

from ..aliases import collection_for
from ..connection import redact
from ..models import OutboxEntry


@dataclass
class ModelStatus:
    model: str
    postgres_rows: int
    mongo_documents: int | None  # None: MongoDB unreachable
    pending: int
    oldest_pending_seconds: float | None  # the lag
    dead: int
    last_error: str

    def as_dict(self) -> dict:
        return asdict(self)


def status(model: type[models.Model], *, using: str = DEFAULT_DB_ALIAS) -> ModelStatus:
    label = model._meta.label_lower
    entries = OutboxEntry.objects.using(using).filter(model_label=label)
    pending = entries.filter(state=OutboxEntry.State.PENDING).aggregate(n=Count("id"), oldest=Min("created_at"))
    dead = entries.filter(state=OutboxEntry.State.DEAD)
    last_dead = dead.order_by("-id").values_list("last_error", flat=True).first()
    try:
        documents: int | None = collection_for(model).count_documents({DELETED_KEY: {"$exists": False}})
    except PyMongoError:
        documents = None
    oldest: datetime.datetime | None = pending["oldest"]
    return ModelStatus(
        model=label,
        postgres_rows=model._base_manager.using(using).count(),
        mongo_documents=documents,
        pending=pending["n"],
        oldest_pending_seconds=round((timezone.now() - oldest).total_seconds(), 3) if oldest else None,
        dead=dead.count(),
        last_error=redact(last_dead or ""),
    )


def retry_dead(labels: list[str] | None = None, *, using: str = DEFAULT_DB_ALIAS) -> int:
    """Queue dead-lettered rows again, with a fresh count of attempts; returns how many."""
    dead = OutboxEntry.objects.using(using).filter(state=OutboxEntry.State.DEAD)
    if labels:
        dead = dead.filter(model_label__in=labels)
    return dead.update(state=OutboxEntry.State.PENDING, attempts=0, next_attempt_at=timezone.now())
