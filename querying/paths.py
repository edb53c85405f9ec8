"""Resolve ORM paths (``author__publisher__name``) against a document shape."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Field

from .exceptions import UnsupportedLookup
from .shape import ID_KEY, Relation, Shape

NULL_KEY = "_null"


@dataclass(frozen=True)
class FieldPath:
    """A stored field reached through embedded relations.

    ``mongo`` is the dotted key (``author.publisher.name``); ``relations`` are the
    embedded relations crossed; ``many_at`` is the index in ``relations`` of the
    first many-valued one (where ``$elemMatch`` groups conditions), else None.
    """

    mongo: str
    field: Field
    relations: tuple[Relation, ...]
    many_at: int | None
    orm: str

    @property
    def is_many(self) -> bool:
        return self.many_at is not None

    def null_keys(self) -> list[str]:
        """Companion keys that are set (true) where this path is NULL in SQL terms.

        ``_null.<key>`` is rendered beside every stored NULL and every NULL single
        relation, so ordering can put NULLs where PostgreSQL does.
        """
        keys, prefix = [], ""
        for relation in self.relations:
            keys.append(f"{prefix}{NULL_KEY}.{relation.name}")
            prefix += relation.name + "."
        last = self.mongo.rsplit(".", 1)[-1]
        if last != ID_KEY:
            keys.append(f"{prefix}{NULL_KEY}.{last}")
        return keys


def resolve(shape: Shape, orm_path: str) -> FieldPath:
    """The stored field at *orm_path* (``pk``, ``author``, ``author_id``, ``tags__name`` ...).

    A relation that ends the path means its primary key (as in the ORM). Raises
    :class:`UnsupportedLookup` for anything not in the document.
    """
    parts = orm_path.split("__")
    current, relations, mongo, many_at = shape, [], [], None
    label = shape.model._meta.label
    for index, part in enumerate(parts):
        last = index == len(parts) - 1
        relation = _relation(current, part)
        if relation is not None:
            if relation.many and many_at is None:
                many_at = len(relations)
            relations.append(relation)
            mongo.append(relation.name)
            current = relation.shape
            if last:
                if not relation.many and not relation.is_reverse:  # the FK column itself: author -> author_id
                    fk = relation.field
                    outer = relations[:-1]
                    return FieldPath(".".join([*mongo[:-1], fk.attname]), fk, tuple(outer), many_at, orm_path)
                return FieldPath(".".join([*mongo, ID_KEY]), current.model._meta.pk, tuple(relations), many_at, orm_path)
            continue
        field = _stored(current, part)
        if field is None or not last:
            reason = (f"{current.model._meta.label} has no stored field or embedded relation {part!r}"
                      if field is None else f"{part!r} is not an embedded relation")
            raise UnsupportedLookup(label, orm_path, None, reason)
        key = ID_KEY if field.primary_key else field.attname
        return FieldPath(".".join([*mongo, key]), field, tuple(relations), many_at, orm_path)
    raise UnsupportedLookup(label, orm_path)  # empty path


def _relation(shape: Shape, name: str) -> Relation | None:
    return next((r for r in shape.relations if name in (r.name, r.query_name)), None)


def _stored(shape: Shape, name: str) -> Field | None:
    if name == "pk":
        return shape.model._meta.pk
    field = shape.stored_field(name)
    if field is not None:
        return field
    return None
