"""The shape of a mirrored document: which fields it stores, which relations it embeds.

Both sides need it: the write side renders documents from it, the read side
translates ``author__name`` into ``author.name`` and hydrates instances from it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from django.db import models
from django.db.models import Field, ForeignObjectRel

ID_KEY = "_id"
VERSION_KEY = "_v"
DELETED_KEY = "_deleted"


@dataclass(frozen=True)
class Relation:
    """One embedded relation.

    ``name`` is the accessor on the owning model and the document key
    (``author``, ``tags``, ``reviews``); ``query_name`` is what ORM filters use
    (a reverse FK without ``related_name`` is ``review_set`` vs ``review``).
    """

    name: str
    query_name: str
    many: bool
    field: Field | ForeignObjectRel
    shape: "Shape"

    @property
    def is_reverse(self) -> bool:
        return isinstance(self.field, ForeignObjectRel)


@dataclass(frozen=True)
class Shape:
    """A model's stored fields (pk as ``_id``, FKs by attname) and embedded relations."""

    model: type[models.Model]
    fields: tuple[Field, ...]
    relations: tuple[Relation, ...] = field(default=())

    def relation(self, name: str) -> Relation | None:
        return next((relation for relation in self.relations if relation.name == name), None)

    def stored_field(self, name: str) -> Field | None:
        """A stored field by name or attname (``author`` and ``author_id`` both find the FK)."""
        return next((f for f in self.fields if name in (f.name, f.attname)), None)

    def paths(self, prefix: tuple[Relation, ...] = ()) -> Iterator[tuple[Relation, ...]]:
        """Every embedded relation path, outermost first (``(author,)``, ``(author, publisher)``)."""
        for relation in self.relations:
            path = (*prefix, relation)
            yield path
            yield from relation.shape.paths(path)


def orm_path(path: tuple[Relation, ...]) -> str:
    return "__".join(relation.query_name for relation in path)


def mongo_path(path: tuple[Relation, ...]) -> str:
    return ".".join(relation.name for relation in path)
