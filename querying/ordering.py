"""``order_by()`` into a MongoDB sort that orders exactly as PostgreSQL does.

PostgreSQL puts NULLs last ascending and first descending; MongoDB does the
opposite. Each path therefore sorts first on its ``_null`` companions (true only
where the value is NULL, so missing sorts before true), in the same direction.
DateTimeFields sort on their ``_us`` companion after the millisecond value. The
primary key breaks ties, so equal keys come back in a stable order.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.db.models import F, OrderBy

from .codecs import SUBMILLISECOND_KEY
from .exceptions import UnsupportedLookup
from .paths import resolve
from .shape import ID_KEY, Shape

SortSpec = list[tuple[str, int]]


def normalise(shape: Shape, ordering: Sequence[object]) -> list[tuple[str, bool]]:
    """``["-published", "title", F("x").asc()]`` into ``[(path, descending)]``."""
    label = shape.model._meta.label
    normalised = []
    for item in ordering:
        if isinstance(item, str):
            if item == "?":
                raise UnsupportedLookup(label, "?", None, "random ordering has no MongoDB find() equivalent")
            descending = item.startswith("-")
            normalised.append((item.lstrip("-+"), descending))
        elif isinstance(item, OrderBy) and isinstance(item.expression, F) and not (item.nulls_first or item.nulls_last):
            normalised.append((item.expression.name, item.descending))
        elif isinstance(item, F):
            normalised.append((item.name, False))
        else:
            raise UnsupportedLookup(label, str(item), None, "only field names can be ordered on")
    return normalised


def sort_spec(shape: Shape, ordering: Sequence[object], reverse: bool = False) -> SortSpec:
    spec: SortSpec = []
    seen: set[str] = set()
    for orm_path, descending in normalise(shape, ordering):
        path = resolve(shape, orm_path)
        if path.is_many:
            raise UnsupportedLookup(shape.model._meta.label, orm_path, None,
                                    "ordering on a many-valued relation repeats rows in SQL; it is not supported")
        direction = -1 if descending != reverse else 1
        keys = [*path.null_keys(), path.mongo]
        if path.field.get_internal_type() == "DateTimeField":
            prefix, _, attname = path.mongo.rpartition(".")
            keys.append(f"{prefix + '.' if prefix else ''}{SUBMILLISECOND_KEY}.{attname}")
        for key in keys:
            if key not in seen:
                seen.add(key)
                spec.append((key, direction))
    if ID_KEY not in seen and spec:
        spec.append((ID_KEY, -1 if reverse else 1))  # as if "pk" ended the ordering
    return spec
