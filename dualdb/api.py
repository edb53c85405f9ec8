"""Small public helpers: where a model's documents live, mirroring on demand, rendering."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import DEFAULT_DB_ALIAS, models, transaction

from .capture import content_changed
from .flush import FlushReport, flush_ids
from .registries import registry
from .rendering import render_documents


def sync(model: type[models.Model], pks: Iterable[Any], *, using: str = DEFAULT_DB_ALIAS) -> FlushReport:
    """Mirror these rows now, and every document embedding them: the escape hatch after raw SQL.

    Work that fails stays queued for the relay, as with any other write.
    """
    with transaction.atomic(using=using):
        ids = content_changed(model, list(pks), using, flush_on_commit=False)
    return flush_ids(ids, using=using)


def render(instance: models.Model, *, using: str | None = None) -> dict[str, Any] | None:
    """The document dualdb would write for *instance*'s row as PostgreSQL has it now (without ``_v``).

    None when the row does not exist (its document would be a tombstone).
    """
    shape = registry.shape(type(instance)._meta.concrete_model)
    document = render_documents(shape, [instance.pk], using or instance._state.db or DEFAULT_DB_ALIAS).get(instance.pk)
    if isinstance(document, Exception):
        raise document
    return document
