"""``aggregate()`` with what every MongoDB-protocol server has.

FerretDB v1's ``$group`` knows only ``$sum`` and ``$count``, so ``Avg`` is a sum
over a count of non-NULL values and ``Min``/``Max`` are a sorted ``find`` with
``limit(1)`` — correct on every server, and indexes serve the latter.
"""

from __future__ import annotations

import decimal
from typing import Any

from bson.decimal128 import Decimal128
from django.db.models import Aggregate, Avg, Count, F, Max, Min, Sum
from django.db.models.expressions import Star
from pymongo.collection import Collection

from .codecs import SUBMILLISECOND_KEY, datetime_from_bson, from_bson
from .exceptions import UnsupportedLookup
from .paths import FieldPath, resolve
from .query import MongoQuery


def run_aggregate(query: MongoQuery, collection: Collection, aggregates: dict[str, Aggregate]) -> dict[str, Any]:
    return {alias: _one(query, collection, alias, aggregate) for alias, aggregate in aggregates.items()}


def _one(query: MongoQuery, collection: Collection, alias: str, aggregate: Aggregate) -> Any:
    label = query.shape.model._meta.label
    expressions = [e for e in aggregate.get_source_expressions() if e is not None]  # [expr, filter]
    if (type(aggregate) not in (Count, Sum, Avg, Min, Max) or len(expressions) != 1 or aggregate.filter is not None
            or getattr(aggregate, "distinct", False) or aggregate.default is not None):
        raise UnsupportedLookup(label, alias, type(aggregate).__name__.lower(),
                                "only Count, Sum, Avg, Min and Max of one field, without filter/distinct/default")
    expression = expressions[0]
    name = getattr(expression, "name", None)
    if isinstance(aggregate, Count) and (isinstance(expression, Star) or name == "pk"):
        return collection.count_documents(query.mongo_filter())
    if not isinstance(expression, F):
        raise UnsupportedLookup(label, alias, type(aggregate).__name__.lower(), "only plain fields can be aggregated")
    path = resolve(query.shape, name)
    if path.is_many:
        raise UnsupportedLookup(label, name, type(aggregate).__name__.lower(),
                                "aggregating over a many-valued relation repeats rows in SQL")
    present = {"$and": [query.mongo_filter(), {path.mongo: {"$ne": None}}]}
    if isinstance(aggregate, Count):
        return collection.count_documents(present)
    if isinstance(aggregate, (Min, Max)):
        return _extreme(collection, present, path, 1 if isinstance(aggregate, Min) else -1)
    count = collection.count_documents(present)
    if count == 0:
        return None
    total = next(collection.aggregate([{"$match": present}, {"$group": {"_id": None, "s": {"$sum": f"${path.mongo}"}}}]))["s"]
    return _sum_or_avg(path, total, count, isinstance(aggregate, Avg))


def _extreme(collection: Collection, present: dict[str, Any], path: FieldPath, direction: int) -> Any:
    prefix, _, key = path.mongo.rpartition(".")
    sort = [(path.mongo, direction)]
    if path.field.get_internal_type() == "DateTimeField":
        sort.append((f"{prefix + '.' if prefix else ''}{SUBMILLISECOND_KEY}.{key}", direction))
    document = next(collection.find(present).sort(sort).limit(1), None)
    if document is None:
        return None
    node = document
    for part in prefix.split(".") if prefix else ():
        node = node[part]
    if path.field.get_internal_type() == "DateTimeField":
        return datetime_from_bson(path.field, node[key], (node.get(SUBMILLISECOND_KEY) or {}).get(key))
    return from_bson(path.field, node[key])


def _sum_or_avg(path: FieldPath, total: Any, count: int, average: bool) -> Any:
    internal = path.field.get_internal_type()
    if internal == "DecimalField":
        places = decimal.Decimal(1).scaleb(-(path.field.decimal_places or 0))
        exact = total.to_decimal() if isinstance(total, Decimal128) else decimal.Decimal(repr(total))
        exact_sum = exact.quantize(places)
        return exact_sum / count if average else exact_sum
    if average:
        return total / count
    if internal == "FloatField":
        return float(total)
    return int(total)
