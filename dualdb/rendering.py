"""Render model instances into nested documents, reading everything in a bounded number of queries."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.core.exceptions import ObjectDoesNotExist
from django.db import models

from querying.codecs import SUBMILLISECOND_KEY, CodecError, submillisecond, to_bson
from querying.paths import NULL_KEY
from querying.shape import ID_KEY, Relation, Shape

from .exceptions import UnmirrorableValue


def fetch(shape: Shape, pks: Iterable[Any], using: str) -> dict[Any, models.Model]:
    """Current rows for *pks* with every embedded relation loaded: one query per many-valued level."""
    select, prefetch = related_lookups(shape)
    rows = shape.model._base_manager.using(using).filter(pk__in=list(pks))
    if select:
        rows = rows.select_related(*select)
    if prefetch:
        rows = rows.prefetch_related(*prefetch)
    return {row.pk: row for row in rows}


def related_lookups(shape: Shape) -> tuple[list[str], list[str]]:
    """``select_related`` for chains of forward single relations, ``prefetch_related`` for the rest."""
    select, prefetch = [], []
    for path in shape.paths():
        if all(not relation.many and not relation.is_reverse for relation in path):
            select.append("__".join(relation.name for relation in path))
        else:
            prefetch.append("__".join(relation.name for relation in path))
    return select, prefetch


def render_instance(instance: models.Model, shape: Shape) -> dict[str, Any]:
    """The document for one loaded instance (without ``_v``)."""
    try:
        return _render(instance, shape)
    except CodecError as exc:
        raise UnmirrorableValue(str(exc)) from None


def _render(instance: models.Model, shape: Shape) -> dict[str, Any]:
    document: dict[str, Any] = {}
    micros: dict[str, int] = {}
    nulls: dict[str, bool] = {}
    for field in shape.fields:
        value = getattr(instance, field.attname)
        if field.primary_key:
            document[ID_KEY] = to_bson(field, value)
            continue
        document[field.attname] = to_bson(field, value)
        if value is None:
            nulls[field.attname] = True
        extra = submillisecond(field, value)
        if extra:
            micros[field.attname] = extra
    for relation in shape.relations:
        document[relation.name] = _render_relation(instance, relation)
        if document[relation.name] is None:
            nulls[relation.name] = True
    if micros:
        document[SUBMILLISECOND_KEY] = micros
    if nulls:
        # Sort companions: PostgreSQL puts NULLs last ascending, MongoDB first.
        document[NULL_KEY] = nulls
    return document


def _render_relation(instance: models.Model, relation: Relation) -> Any:
    if relation.many:
        related = sorted(_many(instance, relation.name), key=lambda obj: obj.pk)
        return [_render(obj, relation.shape) for obj in related]
    try:
        related = getattr(instance, relation.name)
    except ObjectDoesNotExist:  # a reverse one-to-one with no row
        related = None
    return _render(related, relation.shape) if related is not None else None


def _many(instance: models.Model, name: str) -> Iterable[models.Model]:
    """The related objects ``prefetch_related`` loaded, read from its cache.

    ``getattr(instance, name).all()`` returns the same objects but first builds a
    related manager and a filtered queryset per instance: a third of a backfill
    batch's time went there. Where the cache is keyed otherwise (a custom
    ``related_query_name``), the manager answers.
    """
    cached = getattr(instance, "_prefetched_objects_cache", {}).get(name)
    return cached if cached is not None else getattr(instance, name).all()
