"""Read scenarios × read paths: each path computes the same result, checked equal before timing.

Every path returns plain rows a template or an export would use, so what is
compared is the work of getting there: SQL through the ORM used naively and used
well, SQL by hand, MongoDB through pymongo by hand (the floor for anything built
on pymongo), and dualdb's ``.mongo()``.
"""

from __future__ import annotations

import datetime
import decimal
import random
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.apps import apps
from django.db import connection, models

PATHS: dict[str, str] = {
    "orm_naive": "ORM naive (N+1)",
    "orm_best": "ORM select_related + prefetch_related",
    "orm_values": "ORM values() + manual stitching",
    "sql_json": "PostgreSQL one-query JSON (raw cursor)",
    "pymongo": "raw pymongo find() (floor)",
    "mongo": ".mongo() instances",
    "mongo_values": ".mongo().values()",
}
SQL_PATHS = ("orm_naive", "orm_best", "orm_values", "sql_json")
ORM_PATHS = ("orm_naive", "orm_best", "orm_values")
LIVE = {"_deleted": {"$exists": False}}  # what dualdb adds to every find(): tombstones are not results
LIST_SORT = [("_null.published", -1), ("published", -1), ("_id", 1)]  # PostgreSQL's DESC NULLS FIRST, then pk
CARD_PROJECTION = {"title": 1, "author.name": 1, "author.publisher.name": 1, "tags.name": 1}
EXPORT_FIELDS = ("pk", "title", "price", "published", "author__name", "author__publisher__name")
EXPORT_PROJECTION = {"title": 1, "price": 1, "published": 1, "author.name": 1, "author.publisher.name": 1}

Row = tuple[Any, ...]


@dataclass
class Scenario:
    """One read a page or a job does, with the paths that can do it (``None``: not applicable, and why)."""

    key: str
    title: str
    ops: int  # operations per repetition: figures are reported per operation
    paths: dict[str, Callable[[], Any]]
    not_applicable: dict[str, str] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)  # where a path's general name would mislead


@dataclass
class ReadData:
    """What the scenarios read: models, tables, and the seeded choices (filter values, detail pks)."""

    app_label: str
    detail_pks: list[int]
    export_rows: int
    prefix: str = "Le"
    tag: str = "sf"

    def __post_init__(self) -> None:
        get = lambda name: apps.get_model(self.app_label, name)  # noqa: E731
        self.Book, self.Author, self.Publisher, self.Tag = get("Book"), get("Author"), get("Publisher"), get("Tag")
        self.through = self.Book._meta.get_field("tags").remote_field.through
        self.t_book, self.t_author = self.Book._meta.db_table, self.Author._meta.db_table
        self.t_publisher, self.t_tag = self.Publisher._meta.db_table, self.Tag._meta.db_table
        self.t_link = self.through._meta.db_table

    def collection(self):
        from dualdb.aliases import collection_for

        return collection_for(self.Book)


def read_data(app_label: str, detail_count: int, export_rows: int, seed: int = 42) -> ReadData:
    Book = apps.get_model(app_label, "Book")
    pks = sorted(Book._base_manager.values_list("pk", flat=True))
    chosen = random.Random(seed).sample(pks, min(detail_count, len(pks)))
    return ReadData(app_label=app_label, detail_pks=chosen, export_rows=min(export_rows, len(pks)))


# --- normalised results ------------------------------------------------------------


def card(pk: int, title: str, author: str, publisher: str | None, tags: list[str]) -> Row:
    """One book as a list page shows it (tag names sorted: the paths store them in different orders)."""
    return (pk, title, author, publisher, tuple(sorted(tags)))


def money(value: Any) -> decimal.Decimal | None:
    return None if value is None else decimal.Decimal(value).quantize(decimal.Decimal("0.01")) if not isinstance(
        value, float) else decimal.Decimal(repr(value)).quantize(decimal.Decimal("0.01"))


def day(value: Any) -> datetime.date | None:
    if value is None:
        return None
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, str):
        return datetime.date.fromisoformat(value)
    return value


def export_row(pk: int, title: str, price: Any, published: Any, author: str, publisher: str | None) -> Row:
    return (pk, title, money(price), day(published), author, publisher)


# --- the scenarios -------------------------------------------------------------------


def scenarios(data: ReadData) -> list[Scenario]:
    prefix_filter = {"author__name__startswith": data.prefix}
    tag_filter = {"tags__name": data.tag}
    prefix_mongo = {"author.name": {"$regex": "^" + re.escape(data.prefix)}}
    tag_mongo = {"tags.name": data.tag}
    prefix_sql = (f"a.name LIKE %s", [data.prefix.replace("%", r"\%").replace("_", r"\_") + "%"])
    tag_sql = (f"EXISTS (SELECT 1 FROM {data.t_link} l JOIN {data.t_tag} t ON t.id = l.tag_id "
               f"WHERE l.book_id = b.id AND t.name = %s)", [data.tag])
    result = []
    for size in (50, 500):
        result.append(_list_scenario(data, f"list_{size}", f"List page: {size} books by -published", size,
                                     {}, {}, ("TRUE", [])))
    result.append(_detail_scenario(data))
    result.append(_list_scenario(data, "filter_author", "Filtered list: author__name__startswith, 50 rows", 50,
                                 prefix_filter, prefix_mongo, prefix_sql))
    result.append(_list_scenario(data, "filter_tag", "Filtered list: tags__name, 50 rows", 50,
                                 tag_filter, tag_mongo, tag_sql))
    result.append(_count_scenario(data, prefix_filter, prefix_mongo, prefix_sql))
    result.append(_export_scenario(data))
    return result


def _cards_from_instances(books) -> list[Row]:
    return [card(b.pk, b.title, b.author.name, b.author.publisher.name if b.author.publisher_id else None,
                 [t.name for t in b.tags.all()]) for b in books]


def _cards_from_documents(documents) -> list[Row]:
    rows = []
    for d in documents:
        author = d["author"]
        publisher = author.get("publisher")
        rows.append(card(d["_id"], d["title"], author["name"], publisher["name"] if publisher else None,
                         [t["name"] for t in d.get("tags") or ()]))
    return rows


def _cards_from_values(book_rows: list[dict], tag_rows) -> list[Row]:
    """Stitch ``values()`` of books with ``values()`` of their (book, tag name) links."""
    tags: dict[int, list[str]] = {}
    for book_id, name in tag_rows:
        if name is not None:
            tags.setdefault(book_id, []).append(name)
    return [card(r["pk"], r["title"], r["author__name"], r["author__publisher__name"], tags.get(r["pk"], []))
            for r in book_rows]


CARD_VALUES = ("pk", "title", "author__name", "author__publisher__name")


def _card_sql(data: ReadData, where: str, order_limit: str) -> str:
    return f"""
        SELECT coalesce(json_agg(json_build_object(
            'id', b.id, 'title', b.title, 'author', a.name, 'publisher', p.name,
            'tags', (SELECT coalesce(json_agg(t.name), '[]'::json) FROM {data.t_link} l
                     JOIN {data.t_tag} t ON t.id = l.tag_id WHERE l.book_id = b.id)
        ) ORDER BY b.published DESC NULLS FIRST, b.id), '[]'::json)
        FROM (SELECT b.* FROM {data.t_book} b JOIN {data.t_author} a ON a.id = b.author_id
              WHERE {where} {order_limit}) b
        JOIN {data.t_author} a ON a.id = b.author_id LEFT JOIN {data.t_publisher} p ON p.id = a.publisher_id"""


def _sql_json(sql: str, params: list[Any]) -> Any:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()[0]


def _list_scenario(data: ReadData, key: str, title: str, limit: int, orm_filter: dict, mongo_filter: dict,
                   sql_filter: tuple[str, list]) -> Scenario:
    Book, collection = data.Book, data.collection()
    ordering = ("-published", "pk")
    sql = _card_sql(data, sql_filter[0], f"ORDER BY b.published DESC NULLS FIRST, b.id LIMIT {limit}")
    find = {**LIVE, **mongo_filter}

    def orm_naive():
        return _cards_from_instances(Book.objects.filter(**orm_filter).order_by(*ordering)[:limit])

    def orm_best():
        return _cards_from_instances(Book.objects.filter(**orm_filter).order_by(*ordering)
                                     .select_related("author__publisher").prefetch_related("tags")[:limit])

    def orm_values():
        rows = list(Book.objects.filter(**orm_filter).order_by(*ordering).values(*CARD_VALUES)[:limit])
        links = data.through.objects.filter(book_id__in=[r["pk"] for r in rows]).values_list("book_id", "tag__name")
        return _cards_from_values(rows, links)

    def sql_json():
        return [card(r["id"], r["title"], r["author"], r["publisher"], r["tags"])
                for r in _sql_json(sql, sql_filter[1])]

    def pymongo():
        return _cards_from_documents(collection.find(find, CARD_PROJECTION).sort(LIST_SORT).limit(limit))

    def mongo():
        return _cards_from_instances(Book.objects.mongo().filter(**orm_filter).order_by(*ordering)[:limit])

    def mongo_values():
        # values() gives one row per tag, as the ORM does: the page's books, then their tag names.
        rows = list(Book.objects.mongo().filter(**orm_filter).order_by(*ordering).values(*CARD_VALUES)[:limit])
        links = Book.objects.mongo().filter(pk__in=[r["pk"] for r in rows]).values_list("pk", "tags__name")
        return _cards_from_values(rows, links)

    return Scenario(key, title, 1, dict(orm_naive=orm_naive, orm_best=orm_best, orm_values=orm_values,
                                        sql_json=sql_json, pymongo=pymongo, mongo=mongo, mongo_values=mongo_values))


def _detail_scenario(data: ReadData) -> Scenario:
    Book, collection, pks = data.Book, data.collection(), data.detail_pks
    best = Book.objects.select_related("author__publisher").prefetch_related("tags")
    sql = _card_sql(data, "b.id = %s", "")

    def orm_naive():
        return [_cards_from_instances([Book.objects.get(pk=pk)])[0] for pk in pks]

    def orm_best():
        return [_cards_from_instances([best.get(pk=pk)])[0] for pk in pks]

    def orm_values():
        out = []
        for pk in pks:
            row = Book.objects.filter(pk=pk).values(*CARD_VALUES).get()
            out.append(_cards_from_values([row], data.through.objects.filter(book_id=pk).values_list("book_id", "tag__name"))[0])
        return out

    def sql_json():
        out = []
        for pk in pks:
            r = _sql_json(sql, [pk])[0]
            out.append(card(r["id"], r["title"], r["author"], r["publisher"], r["tags"]))
        return out

    def pymongo():
        return [_cards_from_documents([collection.find_one({"_id": pk, **LIVE}, CARD_PROJECTION)])[0] for pk in pks]

    def mongo():
        return [_cards_from_instances([Book.objects.mongo().get(pk=pk)])[0] for pk in pks]

    def mongo_values():
        out = []
        for pk in pks:  # one query: a single book's rows (one per tag) fold back into one card
            rows = list(Book.objects.mongo().filter(pk=pk).values(*CARD_VALUES, "tags__name"))
            out.append(_cards_from_values(rows[:1], [(r["pk"], r["tags__name"]) for r in rows])[0])
        return out

    return Scenario("detail", f"Detail: random books by pk, one at a time ({len(pks)} per repetition)", len(pks),
                    dict(orm_naive=orm_naive, orm_best=orm_best, orm_values=orm_values, sql_json=sql_json,
                         pymongo=pymongo, mongo=mongo, mongo_values=mongo_values))


def _count_scenario(data: ReadData, orm_filter: dict, mongo_filter: dict, sql_filter: tuple[str, list]) -> Scenario:
    Book, collection = data.Book, data.collection()
    sql = f"SELECT count(*) FROM {data.t_book} b JOIN {data.t_author} a ON a.id = b.author_id WHERE {sql_filter[0]}"

    def orm_naive():
        return len(Book.objects.filter(**orm_filter))  # loads every row to count them

    def orm_best():
        return Book.objects.filter(**orm_filter).count()

    def sql_json():
        return _sql_json(sql, sql_filter[1])

    def pymongo():
        return collection.count_documents({**LIVE, **mongo_filter})

    def mongo():
        return Book.objects.mongo().filter(**orm_filter).count()

    why = "count() has no values() form: the count() row covers it"
    return Scenario("count", "count() with a filter (author__name__startswith)", 1,
                    dict(orm_naive=orm_naive, orm_best=orm_best, sql_json=sql_json, pymongo=pymongo, mongo=mongo),
                    {"orm_values": why, "mongo_values": why},
                    {"orm_naive": "ORM naive (len() of the queryset)", "orm_best": "ORM count()",
                     "sql_json": "PostgreSQL SELECT count(*) (raw cursor)", "pymongo": "raw pymongo count_documents() (floor)",
                     "mongo": ".mongo().count()"})


def _export_scenario(data: ReadData) -> Scenario:
    Book, collection, n = data.Book, data.collection(), data.export_rows
    sql = f"""
        SELECT coalesce(json_agg(json_build_array(b.id, b.title, b.price, b.published, a.name, p.name)
                                 ORDER BY b.id), '[]'::json)
        FROM (SELECT * FROM {data.t_book} ORDER BY id LIMIT %s) b
        JOIN {data.t_author} a ON a.id = b.author_id LEFT JOIN {data.t_publisher} p ON p.id = a.publisher_id"""

    def orm_naive():
        return [export_row(b.pk, b.title, b.price, b.published, b.author.name,
                           b.author.publisher.name if b.author.publisher_id else None)
                for b in Book.objects.order_by("pk")[:n]]

    def orm_best():
        return [export_row(*r) for r in Book.objects.order_by("pk").values_list(*EXPORT_FIELDS)[:n]]

    def orm_values():
        rows = list(Book.objects.order_by("pk").values_list("pk", "title", "price", "published", "author_id")[:n])
        authors = dict(data.Author.objects.filter(pk__in={r[4] for r in rows}).values_list("pk", "name"))
        author_publisher = dict(data.Author.objects.filter(pk__in={r[4] for r in rows}).values_list("pk", "publisher_id"))
        publishers = dict(data.Publisher.objects.values_list("pk", "name"))
        return [export_row(*r[:4], authors[r[4]], publishers.get(author_publisher[r[4]])) for r in rows]

    def sql_json():
        return [export_row(*r) for r in _sql_json(sql, [n])]

    def pymongo():
        rows = []
        for d in collection.find(LIVE, EXPORT_PROJECTION).sort("_id", 1).limit(n):
            author = d["author"]
            publisher = author.get("publisher")
            rows.append(export_row(d["_id"], d["title"], d["price"], d["published"], author["name"],
                                   publisher["name"] if publisher else None))
        return rows

    def mongo():
        return [export_row(b.pk, b.title, b.price, b.published, b.author.name,
                           b.author.publisher.name if b.author.publisher_id else None)
                for b in Book.objects.mongo().order_by("pk")[:n]]

    def mongo_values():
        return [export_row(*r) for r in Book.objects.mongo().order_by("pk").values_list(*EXPORT_FIELDS)[:n]]

    return Scenario("export", f"Export: values() of {n:,} rows with nested fields", 1,
                    dict(orm_naive=orm_naive, orm_best=orm_best, orm_values=orm_values, sql_json=sql_json,
                         pymongo=pymongo, mongo=mongo, mongo_values=mongo_values))
