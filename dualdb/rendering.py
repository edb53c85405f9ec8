"""Render rows into nested documents: one ``values()`` query per embedded relation, each related row rendered once.

Reading the rows as model instances (``select_related`` + ``prefetch_related``)
made a thousand-book backfill batch build about 8,500 instances, one per book,
author, publisher, tag link and review, and render a tag again for every book
carrying it: over half of the batch's time. Here a batch reads plain rows with
``values()`` (Django's converters applied, so values are what the ORM returns),
renders every distinct related row once, and shares that sub-document between the
documents that embed it. Errors stay per document: a value that cannot be stored
fails the documents that contain it, and only those.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Union

from django.db.models import BooleanField, F, Field, Func

from querying.codecs import SUBMILLISECOND_KEY, CodecError, read_value_encoder, submillisecond
from querying.paths import NULL_KEY
from querying.shape import ID_KEY, Relation, Shape

from .exceptions import UnmirrorableValue

Rendered = Union[dict[str, Any], UnmirrorableValue]
_KEYS_PER_QUERY = 5000  # keys per query: bounds one query's array and its rows in a large fan-out


def render_documents(shape: Shape, pks: Iterable[Any], using: str) -> dict[Any, Rendered]:
    """The documents (without ``_v``) of these rows as PostgreSQL has them now, by primary key.

    A row that does not exist is absent; a row with a value that cannot be
    stored maps to the :class:`~dualdb.exceptions.UnmirrorableValue` saying why.
    """
    return _Batch(using).render(shape, shape.model._meta.pk, list(pks))


def related_lookups(shape: Shape) -> tuple[list[str], list[str]]:
    """``select_related`` for chains of forward single relations, ``prefetch_related`` for the rest (ORM reads)."""
    select, prefetch = [], []
    for path in shape.paths():
        if all(not relation.many and not relation.is_reverse for relation in path):
            select.append("__".join(relation.name for relation in path))
        else:
            prefetch.append("__".join(relation.name for relation in path))
    return select, prefetch


@dataclass(frozen=True)
class _Embedded:
    """A relation's rendered sub-documents, by the value of the owner's column they hang from."""

    relation: Relation
    owner_column: str
    by_owner: dict[Any, Any]

    def value_for(self, row: dict[str, Any]) -> Any:
        default = [] if self.relation.many else None
        return self.by_owner.get(row[self.owner_column], default)


class _Batch:
    """One batch of documents: every related row read once and rendered once (``shape`` and key identify it)."""

    def __init__(self, using: str) -> None:
        self.using = using
        self.rendered: dict[tuple[int, str, Any], Rendered] = {}
        self.columns: dict[int, list[_Column]] = {}

    def render(self, shape: Shape, key: Field, keys: list[Any]) -> dict[Any, Rendered]:
        """Documents of the rows of *shape* whose *key* column is in *keys* (memoized for the batch)."""
        memo = (id(shape), key.attname)
        missing = list({k for k in keys if (*memo, k) not in self.rendered})
        for start in range(0, len(missing), _KEYS_PER_QUERY):
            rows = self._rows(shape, key, missing[start:start + _KEYS_PER_QUERY])
            for row, document in zip(rows, self._documents(shape, rows)):
                self.rendered[(*memo, row[key.attname])] = document
        return {k: self.rendered[(*memo, k)] for k in keys if (*memo, k) in self.rendered}

    def _rows(self, shape: Shape, key: Field, keys: list[Any]) -> list[dict[str, Any]]:
        """The rows of *shape* whose *key* column is one of *keys*, with every column a document needs."""
        columns = {shape.model._meta.pk.attname, key.attname, *(f.attname for f in shape.fields),
                   *(_owner_column(relation) for relation in shape.relations)}
        return list(shape.model._base_manager.using(self.using).filter(_AnyOf(key, keys)).values(*columns))

    def _documents(self, shape: Shape, rows: list[dict[str, Any]]) -> list[Rendered]:
        if id(shape) not in self.columns:
            self.columns[id(shape)] = [_Column.of(field) for field in shape.fields]
        columns = self.columns[id(shape)]
        embedded = [self._embed(relation, rows) for relation in shape.relations]
        return [_document(columns, row, embedded) for row in rows]

    def _embed(self, relation: Relation, owners: list[dict[str, Any]]) -> _Embedded:
        field, column = relation.field, _owner_column(relation)
        keys = [row[column] for row in owners if row[column] is not None]
        if not relation.is_reverse and not relation.many:  # forward FK / one-to-one
            return _Embedded(relation, column, self.render(relation.shape, field.target_field, keys))
        if relation.is_reverse and not field.many_to_many:  # reverse FK / one-to-one: the children point at us
            child_fk = field.field
            children = self._rows(relation.shape, child_fk, keys)
            by_owner: dict[Any, Any] = defaultdict(list)
            for row, document in sorted(zip(children, self._documents(relation.shape, children)),
                                        key=lambda pair: pair[0][relation.shape.model._meta.pk.attname]):
                by_owner[row[child_fk.attname]].append(document)
            if not relation.many:
                by_owner = {owner: documents[0] for owner, documents in by_owner.items()}
            return _Embedded(relation, column, by_owner)
        return self._embed_many_to_many(relation, column, keys)

    def _embed_many_to_many(self, relation: Relation, column: str, keys: list[Any]) -> _Embedded:
        m2m = relation.field.field if relation.is_reverse else relation.field
        through = m2m.remote_field.through
        near, far = (m2m.m2m_reverse_field_name(), m2m.m2m_field_name()) if relation.is_reverse \
            else (m2m.m2m_field_name(), m2m.m2m_reverse_field_name())
        near_fk, far_fk = through._meta.get_field(near), through._meta.get_field(far)
        links = list(through._base_manager.using(self.using).filter(_AnyOf(near_fk, keys))
                     .values_list(near_fk.attname, far_fk.attname))
        targets = self.render(relation.shape, far_fk.target_field, [target for _owner, target in links])
        if far_fk.target_field.primary_key:  # stored in primary-key order
            links.sort(key=lambda link: link[1])
        else:
            links.sort(key=lambda link: _stored_id(targets.get(link[1])))
        by_owner: dict[Any, Any] = defaultdict(list)
        for owner, target in links:
            if target in targets:
                by_owner[owner].append(targets[target])
        return _Embedded(relation, column, by_owner)


def _owner_column(relation: Relation) -> str:
    """The owner's column a relation hangs from: the FK itself, or the column the other side points at."""
    field = relation.field
    if not relation.is_reverse and not relation.many:
        return field.attname
    if relation.is_reverse and not field.many_to_many:
        return field.field.target_field.attname
    m2m = field.field if relation.is_reverse else field
    near = m2m.m2m_reverse_field_name() if relation.is_reverse else m2m.m2m_field_name()
    return m2m.remote_field.through._meta.get_field(near).target_field.attname


def _stored_id(document: Rendered | None) -> tuple[int, Any]:
    """A sub-document's place in primary-key order (a failed or missing one first: it fails its owner anyway)."""
    return (1, document[ID_KEY]) if isinstance(document, dict) else (0, 0)


@dataclass(frozen=True)
class _Column:
    """How one stored field goes from a ``values()`` row into a document, worked out once per batch."""

    field: Field
    attname: str
    key: str  # ``_id`` for the primary key
    encode: Callable[[Any], Any]
    has_microseconds: bool  # BSON dates keep milliseconds: the rest goes under ``_us``

    @classmethod
    def of(cls, field: Field) -> "_Column":
        return cls(field, field.attname, ID_KEY if field.primary_key else field.attname, read_value_encoder(field),
                   field.get_internal_type() == "DateTimeField")


class _AnyOf(Func):
    """``column = ANY(%s)``: one array parameter for a batch's keys, where ``__in`` prepares and binds each one."""

    output_field = BooleanField()

    def __init__(self, field: Field, keys: list[Any]) -> None:
        super().__init__(F(field.attname))
        self.key_field, self.keys = field, keys

    def as_sql(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, list[Any]]:
        column, params = compiler.compile(self.source_expressions[0])
        values = [self.key_field.get_db_prep_value(key, connection) for key in self.keys]
        return f"{column} = ANY(%s::{self.key_field.db_type(connection)}[])", [*params, values]


def _document(columns: list[_Column], row: dict[str, Any], embedded: list[_Embedded]) -> Rendered:
    document: dict[str, Any] = {}
    micros: dict[str, int] = {}
    nulls: dict[str, bool] = {}
    try:
        for column in columns:
            value = row[column.attname]
            if value is None:
                document[column.key] = None
                if column.key != ID_KEY:
                    nulls[column.attname] = True
                continue
            document[column.key] = column.encode(value)
            extra = submillisecond(column.field, value) if column.has_microseconds else None
            if extra:
                micros[column.attname] = extra
    except CodecError as exc:
        return UnmirrorableValue(str(exc))
    for relation in embedded:
        value = relation.value_for(row)
        failed = next((v for v in (value if isinstance(value, list) else [value]) if isinstance(v, Exception)), None)
        if failed is not None:
            return failed
        document[relation.relation.name] = value
        if value is None:
            nulls[relation.relation.name] = True
    if micros:
        document[SUBMILLISECOND_KEY] = micros
    if nulls:
        # Sort companions: PostgreSQL puts NULLs last ascending, MongoDB first.
        document[NULL_KEY] = nulls
    return document
