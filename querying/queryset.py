"""``MongoQuerySet``: Django's read-only QuerySet API over the mirrored documents.

Lazy and chainable like ``QuerySet``: every method returns a clone. Each call is
also recorded, so the very same query can be replayed on PostgreSQL through the
ORM when MongoDB is unreachable, when the current transaction has uncommitted
writes the documents do not show yet, or when the user opted into the fallback
for something the documents cannot answer.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

from django.core.exceptions import MultipleObjectsReturned, ObjectDoesNotExist
from django.db import models
from django.db.models import Q
from pymongo.errors import PyMongoError

from . import fallback
from .aggregates import run_aggregate
from .exceptions import UnsupportedLookup
from .iterables import (
    BaseIterable,
    FlatValuesListIterable,
    ModelIterable,
    NamedValuesListIterable,
    ValuesIterable,
    ValuesListIterable,
)
from .paths import resolve
from .query import MongoQuery
from .source import MirrorSource
from .where import compile_exclude, compile_filter

MAX_GET_RESULTS = 21
REPR_OUTPUT_SIZE = 20
FORBIDDEN_OPERATORS = frozenset({"$where", "$function", "$accumulator", "$expr"})

T = TypeVar("T")


class MongoQuerySet:
    """Read documents of a mirrored model with the ORM's query syntax: ``Book.objects.mongo()``."""

    def __init__(self, model: type[models.Model], source: MirrorSource, *, fallback_allowed: bool = False) -> None:
        self.model = model
        self._source = source
        self.query = MongoQuery(source.shape)
        self._fallback_allowed = fallback_allowed
        self._steps: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = []
        self._iterable_class: type[BaseIterable] = ModelIterable
        self._fields: tuple[str, ...] | None = None
        self._result_cache: list[Any] | None = None
        self.served_by: str | None = None  # "mongodb" or "postgresql", once evaluated
        # Django's generic views clone a class-level queryset only when it is a QuerySet;
        # the object .mongo() returns therefore never caches, so it never serves stale rows.
        self._is_root = True

    # --- plumbing ---------------------------------------------------------------

    @property
    def db(self) -> str:
        return self._source.using

    def _clone(self, step: tuple[str, tuple[Any, ...], dict[str, Any]] | None = None) -> "MongoQuerySet":
        clone = self.__class__.__new__(self.__class__)
        clone.__dict__.update(self.__dict__)
        clone.query = self.query.clone()
        clone._steps = [*self._steps, step] if step else list(self._steps)
        clone._result_cache = None
        clone.served_by = None
        clone._is_root = False
        return clone

    def _postgres(self) -> models.QuerySet:
        """The same query on PostgreSQL, replayed step by step on the ORM.

        Filters run in a subquery of primary keys, so each document is one row, as
        in MongoDB, however many joins matched it; the rest applies on top.
        """
        base = self._source.postgres_queryset()
        matching, shaping = base, []
        for name, args, kwargs in self._steps:
            if name == "raw":
                raise UnsupportedLookup(self.model._meta.label, "raw()", None,
                                        "a raw MongoDB filter cannot run on PostgreSQL")
            if name in ("filter", "exclude", "none"):
                matching = getattr(matching, name)(*args, **kwargs)
            else:
                shaping.append((name, args, kwargs))
        queryset = base.filter(pk__in=matching.order_by().values("pk")) if matching is not base else base
        for name, args, kwargs in shaping:
            queryset = queryset[args[0]] if name == "__getitem__" else getattr(queryset, name)(*args, **kwargs)
        return queryset

    def _run(self, on_mongo: Callable[[], T], on_postgres: Callable[[models.QuerySet], T]) -> T:
        reason = self.query.postgres_only_reason or ("read-your-writes" if self._source.must_read_postgres() else None)
        if reason is None:
            try:
                if self.query.needs_elem_match and not self._source.supports_elem_match():
                    self._fall_back_or_raise(self.query.needs_elem_match)
                    return self._run(on_mongo, on_postgres)
                result = on_mongo()
                self.served_by = "mongodb"
                return result
            except PyMongoError as exc:
                self._outage(exc)
        fallback.note_postgres_read(reason or "outage")
        self.served_by = "postgresql"
        return on_postgres(self._postgres())

    def _outage(self, error: PyMongoError) -> None:
        """MongoDB cannot serve: raise if so configured, else note it (logged once per window).

        Any other driver error is the query's own and is raised as it is.
        """
        if not fallback.unavailable(error):
            raise error
        if self._source.fallback_policy() == "raise":
            raise fallback.MongoUnavailable(self.model._meta.label, error) from error
        fallback.note_outage(self.model._meta.label, error)

    def _documents(self, *, sliced: bool = True) -> list[dict[str, Any]]:
        query = self.query
        if query.empty or (query.high_mark is not None and query.high_mark <= query.low_mark):
            return []
        return list(query.cursor(self._source.collection(), sliced=sliced))

    # --- evaluation -------------------------------------------------------------

    def _fetch_all(self) -> list[Any]:
        if self._result_cache is not None:
            return self._result_cache
        results = self._run(self._mongo_results, list)
        if not self._is_root:
            self._result_cache = results
        return results

    def _mongo_results(self) -> list[Any]:
        if self._expands_rows() and self.query.is_sliced:
            # LIMIT applies to joined rows in SQL, so slice rows, not documents.
            rows = list(self._iterable_class(self, self._documents(sliced=False)))
            return rows[self.query.low_mark:self.query.high_mark]
        return list(self._iterable_class(self, self._documents()))

    def _expands_rows(self) -> bool:
        """Whether a values() name crosses a many-valued relation, so one document can give several rows.

        Only then must slicing wait for the rows: ``author__name`` is one value per
        document, and its ``[:50]`` stays a server-side limit.
        """
        return self._fields is not None and self._iterable_class is not ModelIterable and any(
            "__" in name and resolve(self.query.shape, name).is_many for name in self.value_names())

    def __iter__(self) -> Iterator[Any]:
        return iter(self._fetch_all())

    def __len__(self) -> int:
        return len(self._fetch_all())

    def __bool__(self) -> bool:
        return bool(self._fetch_all())

    def __repr__(self) -> str:
        data = list(self[: REPR_OUTPUT_SIZE + 1])
        if len(data) > REPR_OUTPUT_SIZE:
            data[-1] = "...(remaining elements truncated)..."
        return f"<{self.__class__.__name__} {data!r}>"

    def __getitem__(self, key: int | slice) -> Any:
        if not isinstance(key, (int, slice)):
            raise TypeError(f"MongoQuerySet indices must be integers or slices, not {type(key).__name__}.")
        if (isinstance(key, int) and key < 0) or (isinstance(key, slice) and (
                (key.start is not None and key.start < 0) or (key.stop is not None and key.stop < 0))):
            raise ValueError("Negative indexing is not supported.")
        if self._result_cache is not None:
            return self._result_cache[key]
        if isinstance(key, slice):
            clone = self._clone(("__getitem__", (key,), {}))
            clone.query.set_limits(key.start, key.stop)
            return list(clone)[:: key.step] if key.step else clone
        clone = self._clone(("__getitem__", (slice(key, key + 1),), {}))
        clone.query.set_limits(key, key + 1)
        return list(clone)[0]

    def iterator(self, chunk_size: int = 2000) -> Iterator[Any]:
        """Stream results without caching them, ``chunk_size`` documents per round trip."""
        if (self.query.postgres_only_reason or self.query.needs_elem_match or self._expands_rows()
                or self._source.must_read_postgres()):
            yield from self._run(self._mongo_results, lambda queryset: list(queryset.iterator(chunk_size=chunk_size)))
            return
        try:
            cursor = self.query.cursor(self._source.collection(), batch_size=chunk_size)
            documents = iter(cursor)
            first = next(documents, None)
        except PyMongoError as exc:
            self._outage(exc)
            fallback.note_postgres_read("outage")
            yield from self._postgres().iterator(chunk_size=chunk_size)
            return
        if first is not None:
            yield from self._iterable_class(self, _chain_first(first, documents))

    # --- chaining -----------------------------------------------------------------

    def all(self) -> "MongoQuerySet":
        """A copy of this query (the root ``.mongo()`` queryset never caches; its copies do)."""
        return self._clone()

    def none(self) -> "MongoQuerySet":
        """A query that matches nothing and runs no query."""
        clone = self._clone(("none", (), {}))
        clone.query.empty = True
        return clone

    def filter(self, *args: Any, **kwargs: Any) -> "MongoQuerySet":
        """Documents matching these lookups and ``Q`` objects, with the ORM's meaning (see the querying reference)."""
        return self._filter_or_exclude(False, args, kwargs)

    def exclude(self, *args: Any, **kwargs: Any) -> "MongoQuerySet":
        """Documents not matching these lookups; each many-valued condition is its own ``NOT EXISTS``, as in the ORM."""
        return self._filter_or_exclude(True, args, kwargs)

    def _filter_or_exclude(self, negate: bool, args: tuple[Any, ...], kwargs: dict[str, Any]) -> "MongoQuerySet":
        if self.query.is_sliced:
            raise TypeError("Cannot filter a query once a slice has been taken.")
        clone = self._clone(("exclude" if negate else "filter", args, kwargs))
        q = Q(*args, **kwargs)
        compile_call = compile_exclude if negate else compile_filter
        try:
            compiled = compile_call(self.query.shape, q, elem_match=True)
        except UnsupportedLookup as exc:
            clone._fall_back_or_raise(exc)
            return clone
        try:
            compile_call(self.query.shape, q, elem_match=False)
        except UnsupportedLookup as exc:  # same-row conditions: $elemMatch over documents
            clone.query.needs_elem_match = exc
        if compiled:
            clone.query.filters.append(compiled)
        return clone

    def _fall_back_or_raise(self, exc: UnsupportedLookup) -> None:
        if not self._fallback_allowed:
            raise exc
        self.query.postgres_only_reason = str(exc)

    def raw(self, mongo_filter: dict[str, Any]) -> "MongoQuerySet":
        """AND a MongoDB filter you write yourself: the explicit escape hatch (never run on PostgreSQL)."""
        if not isinstance(mongo_filter, dict):
            raise TypeError(f"raw() takes a MongoDB filter dict, not {type(mongo_filter).__name__}.")
        _reject_server_side_code(mongo_filter)
        clone = self._clone(("raw", (mongo_filter,), {}))
        clone.query.filters.append(mongo_filter)
        return clone

    def order_by(self, *fields: Any) -> "MongoQuerySet":
        """Sort by these fields or embedded paths, NULLs placed as PostgreSQL places them, ties broken by ``pk``."""
        if self.query.is_sliced:
            raise TypeError("Cannot reorder a query once a slice has been taken.")
        clone = self._clone(("order_by", fields, {}))
        clone.query.ordering = tuple(fields)
        clone.query.reversed = False
        try:
            clone.query.sort()
        except UnsupportedLookup as exc:
            clone._fall_back_or_raise(exc)
        return clone

    def reverse(self) -> "MongoQuerySet":
        """The same ordering, reversed."""
        if self.query.is_sliced:
            raise TypeError("Cannot reverse a query once a slice has been taken.")
        clone = self._clone(("reverse", (), {}))
        clone.query.reversed = not self.query.reversed
        return clone

    def only(self, *fields: str) -> "MongoQuerySet":
        """Load only these top-level fields; the others are deferred and read from PostgreSQL when touched."""
        clone = self._clone(("only", fields, {}))
        clone.query.only = frozenset(fields)  # as in the ORM, only() replaces an earlier only()
        return clone

    def defer(self, *fields: str) -> "MongoQuerySet":
        """Leave these top-level fields out; touching one reads it from PostgreSQL."""
        clone = self._clone(("defer", fields, {}))
        clone.query.deferred = clone.query.deferred | {name.split("__")[0] for name in fields}
        return clone

    def distinct(self, *fields: str) -> "MongoQuerySet":
        """Without fields each document is already one row; ``DISTINCT ON`` is not supported."""
        clone = self._clone(("distinct", fields, {}))
        if fields:
            clone._fall_back_or_raise(UnsupportedLookup(self.model._meta.label, ", ".join(fields), "distinct",
                                                        "DISTINCT ON has no find() equivalent"))
        return clone

    def values(self, *fields: str) -> "MongoQuerySet":
        """Dicts of these fields or paths instead of instances; a many-valued path gives one row per related row."""
        clone = self._clone(("values", fields, {}))
        clone._fields = fields or None
        clone._iterable_class = ValuesIterable
        clone._check_values()
        return clone

    def values_list(self, *fields: str, flat: bool = False, named: bool = False) -> "MongoQuerySet":
        """Tuples (or single values with ``flat=True``, named tuples with ``named=True``) of these fields or paths."""
        if flat and named:
            raise TypeError("'flat' and 'named' can't be used together.")
        if flat and len(fields) > 1:
            raise TypeError("'flat' is not valid when values_list is called with more than one field.")
        clone = self._clone(("values_list", fields, {"flat": flat, "named": named}))
        clone._fields = fields or None
        clone._iterable_class = (FlatValuesListIterable if flat else NamedValuesListIterable if named
                                 else ValuesListIterable)
        clone._check_values()
        return clone

    def _check_values(self) -> None:
        from .values import RowMaker

        try:
            maker = RowMaker(self.query.shape, self.value_names())
        except UnsupportedLookup as exc:
            self._fall_back_or_raise(exc)
            return
        self.query.values_projection = maker.projection()

    def value_names(self) -> list[str]:
        """The requested names; without any, every field the document stores (as ``values()`` does)."""
        if self._fields:
            return list(self._fields)
        return [field.attname for field in self.query.shape.fields]

    # --- terminal operations ------------------------------------------------------

    def count(self) -> int:
        """How many objects match: a MongoDB ``count``, or the length of the cached results."""
        if self._result_cache is not None:
            return len(self._result_cache)
        return self._run(self._mongo_count, lambda queryset: queryset.count())

    def _mongo_count(self) -> int:
        query = self.query
        if query.empty or (query.high_mark is not None and query.high_mark <= query.low_mark):
            return 0
        if self._expands_rows():
            return len(self._mongo_results())
        options: dict[str, int] = {}
        if query.low_mark:
            options["skip"] = query.low_mark
        if query.high_mark is not None:
            options["limit"] = query.high_mark - query.low_mark
        return self._source.collection().count_documents(query.mongo_filter(), **options)

    def exists(self) -> bool:
        """Whether anything matches (one document is fetched at most)."""
        if self._result_cache is not None:
            return bool(self._result_cache)
        return self._run(lambda: self[:1]._mongo_count() > 0, lambda queryset: queryset.exists())

    def get(self, *args: Any, **kwargs: Any) -> Any:
        """The one object matching; a miss runs the query once on PostgreSQL before raising ``DoesNotExist``."""
        clone = self.filter(*args, **kwargs) if args or kwargs else self._clone()
        if not clone.query.is_sliced:
            clone = clone.order_by()[:MAX_GET_RESULTS]
        results = list(clone)
        if len(results) == 1:
            return results[0]
        if not results:
            return clone._read_through(args, kwargs)
        raise self.model.MultipleObjectsReturned(
            f"get() returned more than one {self.model._meta.object_name} -- it returned "
            f"{'more than %s' % (MAX_GET_RESULTS - 1) if len(results) >= MAX_GET_RESULTS else len(results)}!")

    def _read_through(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """No document: PostgreSQL may have the row (not mirrored yet). Return it and queue it."""
        does_not_exist = self.model.DoesNotExist(f"{self.model._meta.object_name} matching query does not exist.")
        if self.served_by == "postgresql" or "raw" in {step[0] for step in self._steps}:
            raise does_not_exist
        try:
            found = self._postgres().get()
        except ObjectDoesNotExist:
            raise does_not_exist from None
        except MultipleObjectsReturned:
            raise
        if self._iterable_class is ModelIterable:
            self._source.queue_missing([found.pk])
        self.served_by = "postgresql"
        return found

    def first(self) -> Any:
        """The first object in this ordering (by ``pk`` when unordered), or None."""
        queryset = self if self.query.is_ordered else self.order_by("pk")
        return next(iter(queryset[:1]), None)

    def last(self) -> Any:
        """The last object in this ordering (by ``pk`` when unordered), or None."""
        queryset = self.reverse() if self.query.is_ordered else self.order_by("-pk")
        return next(iter(queryset[:1]), None)

    def earliest(self, *fields: str) -> Any:
        """The object with the smallest value of these fields (default ``Meta.get_latest_by``)."""
        return self._earliest_or_latest(fields, reverse=False)

    def latest(self, *fields: str) -> Any:
        """The object with the largest value of these fields (default ``Meta.get_latest_by``)."""
        return self._earliest_or_latest(fields, reverse=True)

    def _earliest_or_latest(self, fields: Sequence[str], reverse: bool) -> Any:
        if not fields:
            latest_by = self.model._meta.get_latest_by
            if not latest_by:
                raise ValueError("earliest() and latest() require either fields as positional arguments "
                                 "or 'get_latest_by' in the model's Meta.")
            fields = [latest_by] if isinstance(latest_by, str) else list(latest_by)
        ordering = [f"-{f}".replace("--", "") if reverse else f for f in fields]
        return self.order_by(*ordering)[:1].get()

    def in_bulk(self, id_list: Sequence[Any] | None = None, *, field_name: str = "pk") -> dict[Any, Any]:
        """A dict of the objects whose *field_name* is in *id_list* (all matching objects without a list)."""
        queryset = self if id_list is None else self.filter(**{f"{field_name}__in": list(id_list)})
        attname = self.model._meta.pk.attname if field_name == "pk" else self.model._meta.get_field(field_name).attname
        return {getattr(obj, attname): obj for obj in queryset}

    def aggregate(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        """``Count``, ``Sum``, ``Avg``, ``Min`` and ``Max`` of one field or single-valued path, computed by MongoDB."""
        for aggregate in args:
            kwargs[aggregate.default_alias] = aggregate
        if self.query.is_sliced:
            self._fall_back_or_raise(UnsupportedLookup(self.model._meta.label, "aggregate", None,
                                                       "aggregating a sliced query"))
        return self._run(lambda: run_aggregate(self.query, self._source.collection(), kwargs),
                         lambda queryset: queryset.aggregate(**kwargs))

    def explain(self, **options: Any) -> str:
        """The server's explanation of the find() this query runs."""
        return str(self.query.cursor(self._source.collection()).explain())

    # --- Django integration ---------------------------------------------------------

    @property
    def ordered(self) -> bool:
        """As ``QuerySet.ordered``: Paginator warns about unordered object lists."""
        return self.query.is_ordered

    def as_manager(self) -> None:  # pragma: no cover - guard against a QuerySet habit
        raise TypeError("MongoQuerySet is read-only and obtained with Model.objects.mongo().")

    def update(self, **kwargs: Any) -> int:
        """Refused: ``.mongo()`` is read-only. Write through ``Model.objects`` so the change is mirrored."""
        raise TypeError("MongoQuerySet is read-only: write through Model.objects so the change is mirrored.")

    def delete(self) -> Any:
        """Refused: ``.mongo()`` is read-only. Delete through ``Model.objects`` so the change is mirrored."""
        raise TypeError("MongoQuerySet is read-only: write through Model.objects so the change is mirrored.")


def _chain_first(first: dict[str, Any], rest: Iterator[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    yield first
    yield from rest


def _reject_server_side_code(value: Any) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            if key in FORBIDDEN_OPERATORS:
                raise ValueError(f"raw() refuses {key}: dualdb never sends server-side code or expressions.")
            _reject_server_side_code(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            _reject_server_side_code(item)
