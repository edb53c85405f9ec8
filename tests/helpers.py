"""Reading the mirror back with plain pymongo, the way the tests check it."""

from __future__ import annotations

from typing import Any

from django.db import models

import dualdb
from dualdb.models import OutboxEntry


def stored(model: type[models.Model], pk: Any) -> dict[str, Any] | None:
    """The live document for *pk* without ``_v``; None when absent or a tombstone."""
    document = dualdb.collection_for(model).find_one({"_id": pk})
    if document is None or document.get("_deleted"):
        return None
    document.pop("_v")
    return document


def version(model: type[models.Model], pk: Any) -> int | None:
    document = dualdb.collection_for(model).find_one({"_id": pk}, {"_v": 1})
    return document["_v"] if document else None


def assert_mirrored(*instances: models.Model) -> None:
    """Each instance's document equals a fresh render of its PostgreSQL row."""
    for instance in instances:
        model = type(instance)
        assert stored(model, instance.pk) == dualdb.render(instance), f"{model.__name__} {instance.pk} differs"


def pending() -> list[tuple[str, str, str]]:
    return list(OutboxEntry.objects.filter(state="pending").values_list("kind", "model_label", "object_pk"))
