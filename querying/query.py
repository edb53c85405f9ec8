"""The small query object behind a ``MongoQuerySet``: filters, ordering, limits, projection."""

from __future__ import annotations

import copy
from typing import Any

from pymongo.collection import Collection
from pymongo.cursor import Cursor

from .ordering import SortSpec, sort_spec
from .shape import DELETED_KEY, Shape

LIVE_DOCUMENTS = {DELETED_KEY: {"$exists": False}}  # tombstones are never results


class MongoQuery:
    def __init__(self, shape: Shape) -> None:
        self.shape = shape
        self.filters: list[dict[str, Any]] = []
        self.ordering: tuple[object, ...] | None = None  # None: the model's Meta.ordering
        self.reversed = False
        self.low_mark = 0
        self.high_mark: int | None = None
        self.only: frozenset[str] | None = None
        self.deferred: frozenset[str] = frozenset()
        self.empty = False
        self.postgres_only_reason: str | None = None  # set when a part runs on PostgreSQL only
        # Same-row conditions on an array of documents need $elemMatch, which FerretDB v1 lacks.
        self.needs_elem_match: Exception | None = None
        # values()/values_list(): the keys their rows read (None: whole documents, or as only()/defer() say).
        self.values_projection: dict[str, int] | None = None

    def clone(self) -> "MongoQuery":
        clone = copy.copy(self)
        clone.filters = list(self.filters)
        return clone

    # --- building -------------------------------------------------------------

    def effective_ordering(self) -> tuple[object, ...]:
        if self.ordering is not None:
            return self.ordering
        return tuple(self.shape.model._meta.ordering or ())

    @property
    def is_ordered(self) -> bool:
        return bool(self.effective_ordering())

    @property
    def is_sliced(self) -> bool:
        return self.low_mark != 0 or self.high_mark is not None

    def set_limits(self, low: int | None, high: int | None) -> None:
        """Slice within the current slice, as Django's ``Query.set_limits``."""
        if high is not None:
            self.high_mark = min(self.high_mark, self.low_mark + high) if self.high_mark is not None else self.low_mark + high
        if low is not None:
            self.low_mark = min(self.high_mark, self.low_mark + low) if self.high_mark is not None else self.low_mark + low

    def loaded_fields(self) -> frozenset[str] | None:
        """Names hydration loads (``None``: everything stored)."""
        if self.only is None and not self.deferred:
            return None
        names = {f.name for f in self.shape.fields} | {r.name for r in self.shape.relations}
        if self.only is not None:
            names &= {name.split("__")[0] for name in self.only}
        return frozenset(names - self.deferred)

    # --- running --------------------------------------------------------------

    def mongo_filter(self) -> dict[str, Any]:
        parts = [LIVE_DOCUMENTS, *self.filters]
        return {"$and": parts} if len(parts) > 1 else parts[0]

    def pins_one_document(self) -> bool:
        """Whether a filter fixes ``_id`` to one value, so that at most one document can match.

        The find then asks for one document, unsorted (``get()`` included, which
        asks for 21): a server without an ``_id`` index to use (FerretDB v1 with
        integer ids) stops scanning at the match instead of reading and sorting the
        rest of the collection.
        """
        return any(_pins_id(part) for part in self.filters)

    def sort(self) -> SortSpec:
        return sort_spec(self.shape, self.effective_ordering(), self.reversed)

    def projection(self) -> dict[str, int] | None:
        if self.values_projection is not None:
            return self.values_projection
        loaded = self.loaded_fields()
        if loaded is None:
            return None
        keys = {"_id": 1, "_us": 1, "_null": 1}
        for field in self.shape.fields:
            if field.name in loaded:
                keys[field.attname] = 1
        for relation in self.shape.relations:
            if relation.name in loaded:
                keys[relation.name] = 1
        return keys

    def cursor(self, collection: Collection, *, sliced: bool = True, batch_size: int = 0) -> Cursor:
        cursor = collection.find(self.mongo_filter(), self.projection(), batch_size=batch_size)
        one = self.pins_one_document()
        sort = self.sort()  # built even when unused: it refuses orderings the documents cannot give
        if sort and not one:  # one document has no order, and a scanning server would sort in memory
            cursor = cursor.sort(sort)
        limit = None
        if sliced:
            if self.low_mark:
                cursor = cursor.skip(self.low_mark)
            if self.high_mark is not None:
                limit = self.high_mark - self.low_mark
        if one:
            limit = 1 if limit is None else min(limit, 1)
        return cursor.limit(limit) if limit is not None else cursor


def _pins_id(part: dict[str, Any]) -> bool:
    if "_id" in part:
        value = part["_id"]
        return not isinstance(value, dict) or set(value) == {"$eq"}
    return any(_pins_id(inner) for inner in part.get("$and", ()))
