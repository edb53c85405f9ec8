"""``values()``/``values_list()`` rows out of a document, the way SQL joins would produce them.

A many-valued path (``tags__name``) yields one row per element, and one row of
NULLs when there is none — exactly the LEFT JOIN the ORM runs.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from typing import Any

from .codecs import SUBMILLISECOND_KEY, datetime_from_bson, from_bson
from .exceptions import UnsupportedLookup
from .paths import FieldPath, resolve
from .shape import Shape


class RowMaker:
    """Turns documents into value rows for a fixed list of field names (resolved once)."""

    def __init__(self, shape: Shape, names: Sequence[str]) -> None:
        self.names = list(names)
        self.paths = [resolve(shape, name) for name in self.names]
        groups: dict[tuple[str, ...], list[int]] = {}
        for index, path in enumerate(self.paths):
            if path.is_many:
                if any(r.many for r in path.relations[path.many_at + 1:]):
                    raise UnsupportedLookup(shape.model._meta.label, path.orm, None,
                                            "values() through two nested many-valued relations")
                key = tuple(r.name for r in path.relations[: path.many_at + 1])
                groups.setdefault(key, []).append(index)
        self.groups = groups

    def projection(self) -> dict[str, int]:
        """Only the keys these rows read, so the server sends and pymongo decodes nothing else."""
        keys = set()
        for path in self.paths:
            keys.add(path.mongo)
            if path.field.get_internal_type() == "DateTimeField":
                prefix, _, attname = path.mongo.rpartition(".")
                keys.add(f"{prefix + '.' if prefix else ''}{SUBMILLISECOND_KEY}.{attname}")
        kept: list[str] = []
        for key in sorted(keys, key=len):  # a key inside a kept one is already sent (and would collide)
            if not any(key.startswith(outer + ".") for outer in kept):
                kept.append(key)
        return {key: 1 for key in sorted(kept)}

    def rows(self, document: dict[str, Any]) -> Iterator[tuple[Any, ...]]:
        if not self.groups:
            yield tuple(_value(document, path, None) for path in self.paths)
            return
        choices = [_elements(document, prefix) for prefix in self.groups]
        for combination in itertools.product(*choices):
            chosen = dict(zip(self.groups, combination))
            yield tuple(
                _value(document, path, chosen.get(tuple(r.name for r in path.relations[: path.many_at + 1]))
                       if path.is_many else None)
                for path in self.paths
            )


def _elements(document: dict[str, Any], prefix: tuple[str, ...]) -> list[dict[str, Any] | None]:
    node: Any = document
    for name in prefix:
        node = node.get(name) if isinstance(node, dict) else None
        if node is None:
            return [None]
    return list(node) or [None]


def _value(document: dict[str, Any], path: FieldPath, element: dict[str, Any] | None) -> Any:
    node: Any = document
    relations = path.relations
    if path.is_many:
        node = element
        relations = relations[path.many_at + 1:]
    for relation in relations:
        if node is None:
            return None
        node = node.get(relation.name)
    if node is None:
        return None
    key = path.mongo.rsplit(".", 1)[-1]
    raw = node.get(key)
    if raw is not None and path.field.get_internal_type() == "DateTimeField":
        return datetime_from_bson(path.field, raw, (node.get(SUBMILLISECOND_KEY) or {}).get(key))
    return from_bson(path.field, raw)
