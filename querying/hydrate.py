"""Documents back into model instances and values, with no SQL.

Embedded forward relations go into the related-object cache (``book.author``),
embedded many-valued relations into the prefetch cache (``book.tags.all()``),
exactly where ``select_related``/``prefetch_related`` would put them. Fields the
document does not store are left deferred: touching one loads it from PostgreSQL.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import models
from django.db.models import Field, ManyToManyField, ManyToManyRel, ManyToOneRel, signals
from django.db.models.base import ModelState

from .codecs import SUBMILLISECOND_KEY, datetime_from_bson, from_bson
from .shape import ID_KEY, Relation, Shape


@dataclass(frozen=True)
class _FieldPlan:
    field: Field
    key: str
    attname: str
    is_datetime: bool


class Hydrator:
    """Builds instances of one shape; the per-field plan is computed once, not per document."""

    def __init__(self, shape: Shape, db: str, only: frozenset[str] | None = None) -> None:
        self.shape = shape
        self.model = shape.model
        self.db = db
        self.fields = [
            _FieldPlan(f, ID_KEY if f.primary_key else f.attname, f.attname, f.get_internal_type() == "DateTimeField")
            for f in shape.fields
            if only is None or f.primary_key or f.name in only or f.attname in only
        ]
        self.relations = [(relation, Hydrator(relation.shape, db)) for relation in shape.relations
                          if only is None or relation.name in only]
        # The ORM's __init__ runs pre/post_init signals per object; skip it only when nobody listens.
        self.fast = not (signals.pre_init.has_listeners(self.model) or signals.post_init.has_listeners(self.model))

    def values(self, document: dict[str, Any]) -> dict[str, Any]:
        """Stored field values by attname, decoded to what the ORM returns."""
        micros = document.get(SUBMILLISECOND_KEY) or {}
        values = {}
        for plan in self.fields:
            if plan.key not in document:
                continue
            raw = document[plan.key]
            if plan.is_datetime and raw is not None:
                values[plan.attname] = datetime_from_bson(plan.field, raw, micros.get(plan.key))
            else:
                values[plan.attname] = from_bson(plan.field, raw)
        return values

    def instance(self, document: dict[str, Any]) -> models.Model:
        values = self.values(document)
        if self.fast:
            obj = self.model.__new__(self.model)
            obj.__dict__.update(values)
            obj._state = ModelState()
            obj._state.adding = False
            obj._state.db = self.db
        else:
            names = list(values)
            obj = self.model.from_db(self.db, names, [values[name] for name in names])
        for relation, hydrator in self.relations:
            if relation.name in document:
                _attach(obj, relation, hydrator, document[relation.name])
        return obj


def _attach(obj: models.Model, relation: Relation, hydrator: Hydrator, stored: Any) -> None:
    if not relation.many:
        related = hydrator.instance(stored) if stored is not None else None
        relation.field.set_cached_value(obj, related)
        return
    related_objects = [hydrator.instance(item) for item in stored or ()]
    queryset = getattr(obj, relation.name).get_queryset()
    queryset._result_cache = related_objects
    queryset._prefetch_done = True
    if not hasattr(obj, "_prefetched_objects_cache"):
        obj._prefetched_objects_cache = {}
    obj._prefetched_objects_cache[prefetch_cache_name(relation)] = queryset


def prefetch_cache_name(relation: Relation) -> str:
    """Where ``prefetch_related`` keeps the objects of this relation on an instance."""
    relation_field = relation.field
    if isinstance(relation_field, ManyToManyField):
        return relation_field.name
    if isinstance(relation_field, ManyToManyRel):
        return relation_field.field.related_query_name()
    if isinstance(relation_field, ManyToOneRel):
        return relation_field.cache_name
    raise TypeError(f"{relation.name} is not a many-valued relation")
