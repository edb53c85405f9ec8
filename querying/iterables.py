"""One iterable class per result shape, as Django's ``ModelIterable`` & co.

Each takes the queryset and yields results from the documents its cursor returns.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

from .hydrate import Hydrator
from .values import RowMaker

if TYPE_CHECKING:
    from .queryset import MongoQuerySet


class BaseIterable:
    def __init__(self, queryset: "MongoQuerySet", documents: Iterable[dict[str, Any]]) -> None:
        self.queryset = queryset
        self.documents = documents

    def __iter__(self) -> Iterator[Any]:
        raise NotImplementedError


class ModelIterable(BaseIterable):
    """Model instances with their embedded relations already cached."""

    def __iter__(self) -> Iterator[Any]:
        query = self.queryset.query
        hydrator = Hydrator(query.shape, self.queryset.db, query.loaded_fields())
        for document in self.documents:
            yield hydrator.instance(document)


class ValuesIterable(BaseIterable):
    def __iter__(self) -> Iterator[dict[str, Any]]:
        names = self.queryset.value_names()
        maker = RowMaker(self.queryset.query.shape, names)
        for document in self.documents:
            for row in maker.rows(document):
                yield dict(zip(names, row))


class ValuesListIterable(BaseIterable):
    def __iter__(self) -> Iterator[tuple[Any, ...]]:
        maker = RowMaker(self.queryset.query.shape, self.queryset.value_names())
        for document in self.documents:
            yield from maker.rows(document)


class NamedValuesListIterable(BaseIterable):
    def __iter__(self) -> Iterator[tuple[Any, ...]]:
        names = self.queryset.value_names()
        row_class = namedtuple("Row", names, rename=True)  # type: ignore[misc]
        maker = RowMaker(self.queryset.query.shape, names)
        for document in self.documents:
            for row in maker.rows(document):
                yield row_class(*row)


class FlatValuesListIterable(BaseIterable):
    def __iter__(self) -> Iterator[Any]:
        maker = RowMaker(self.queryset.query.shape, self.queryset.value_names())
        for document in self.documents:
            for row in maker.rows(document):
                yield row[0]
