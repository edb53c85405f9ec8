""".mongo() answers like the ORM on PostgreSQL: same rows, same order, no SQL."""

from __future__ import annotations

import datetime
import decimal

import pytest
from django.core.paginator import Paginator
from django.db.models import Avg, Count, Max, Min, Q, Sum
from django.test.utils import CaptureQueriesContext
from django.db import connection as pg_connection

import dualdb
from querying.exceptions import UnsupportedLookup
from querying.queryset import MongoQuerySet
from tests.testapp.models import Book

pytestmark = pytest.mark.django_db  # read-only: each test rolls back; the catalogue is committed once


@pytest.fixture
def catalogue(shared_catalogue):
    return shared_catalogue


def same(mongo: MongoQuerySet, orm) -> list:
    """Both paths return the same rows in the same order (compared by pk and every stored field)."""
    from_mongo, from_orm = list(mongo), list(orm)
    assert [o.pk for o in from_mongo] == [o.pk for o in from_orm]
    for mine, theirs in zip(from_mongo, from_orm):
        for field in type(theirs)._meta.concrete_fields:
            if field.name != "internal_notes":
                assert getattr(mine, field.attname) == getattr(theirs, field.attname), field.name
    return from_mongo


def no_sql():
    return CaptureQueriesContext(pg_connection)


# --- filtering ---------------------------------------------------------------------


@pytest.mark.parametrize("lookups", [
    {"title": "Dune"},
    {"title__iexact": "dune"},
    {"title__contains": "a+b"},
    {"title__icontains": "ΩMEGA"},
    {"title__startswith": "[x]"},
    {"title__istartswith": "the"},
    {"title__endswith": "ß"},
    {"title__iendswith": "DUNE"},
    {"title__regex": r"^(Dune|Solaris)"},
    {"title__iregex": r"darkness$"},
    {"price": None},
    {"price__isnull": False},
    {"price__gt": decimal.Decimal("25")},
    {"price__lte": 10},
    {"price__range": (5, 15)},
    {"price__in": [decimal.Decimal("0.00"), None]},
    {"published__year": 1984},
    {"published__year__gte": 2000},
    {"published__gte": datetime.date(1990, 1, 1)},
    {"pk__in": [1, 2, 3]},
    {"author__name__icontains": "le"},
    {"author__name__icontains": "ŠALAMUN"},
    {"author__publisher__name": "Ace"},
    {"author__publisher": None},
    {"author__publisher__isnull": True},
    {"tags__name": "sf"},
    {"tags__name__in": ["c++", "100%"]},
    {"tags__isnull": True},
    {"reviews__rating__gte": 5},
    {"author__name__contains": "a.b*c"},
])
def test_each_lookup_matches_the_orm(catalogue, lookups):
    orm = Book.objects.filter(**lookups).distinct().order_by("title", "pk")
    same(Book.objects.mongo().filter(**lookups).order_by("title", "pk"), orm)


@pytest.mark.parametrize("lookups", [
    {"price__gt": 10},
    {"price": None},
    {"tags__name": "sf"},
    {"author__publisher__name": "Ace"},
    {"title__icontains": "dune"},
])
def test_exclude_matches_the_orm_including_nulls_and_multi_valued(catalogue, lookups):
    same(Book.objects.mongo().exclude(**lookups).order_by("pk"), Book.objects.exclude(**lookups).order_by("pk"))


def test_q_objects_combine_like_the_orm(catalogue):
    q = (Q(author__name__icontains="le") | Q(tags__name="sf")) & ~Q(price__lt=20)
    same(Book.objects.mongo().filter(q).order_by("pk"), Book.objects.filter(q).distinct().order_by("pk"))


def test_one_filter_call_means_the_same_related_row(catalogue):
    """filter(a, b) on tags__ is one join: the same tag; chained filter() calls are two joins.

    The same-tag form needs $elemMatch over documents: real MongoDB answers it, FerretDB v1
    cannot, so there it raises unless the query opted into the PostgreSQL fallback.
    """
    tag = catalogue["tags"][2].pk
    native = Book.objects.mongo()._source.supports_elem_match()
    one = Book.objects.mongo(fallback=True).filter(tags__name="classic", tags__id=tag).order_by("pk")
    same(one, Book.objects.filter(tags__name="classic", tags__id=tag).order_by("pk"))
    assert one.served_by == ("mongodb" if native else "postgresql")
    if not native:
        with pytest.raises(UnsupportedLookup, match="same related row"):
            list(Book.objects.mongo().filter(tags__name="classic", tags__id=tag))
        with pytest.raises(UnsupportedLookup, match="same related row"):
            list(Book.objects.mongo().filter(tags__name="classic", tags__id=tag).iterator())
    assert [b.pk for b in Book.objects.mongo(fallback=True).filter(tags__name="classic", tags__id=tag).order_by("pk").iterator()] == [
        b.pk for b in one]
    two = Book.objects.mongo().filter(tags__name="sf").filter(tags__id=tag).order_by("pk")
    same(two, Book.objects.filter(tags__name="sf").filter(tags__id=tag).distinct().order_by("pk"))
    assert two.served_by == "mongodb"


def test_exclude_on_a_multi_valued_path_excludes_any_match(catalogue):
    lookups = {"reviews__rating": 5, "reviews__text": "great"}
    same(Book.objects.mongo().exclude(**lookups).order_by("pk"), Book.objects.exclude(**lookups).order_by("pk"))


# --- ordering, slicing and single objects ---------------------------------------------------


@pytest.mark.parametrize("ordering", [
    ("price", "pk"), ("-price", "pk"), ("published", "-pk"), ("-published", "title", "pk"),
    ("author__publisher__name", "pk"), ("-author__publisher__name", "pk"), ("author__born", "pk"),
])
def test_ordering_puts_nulls_where_postgres_does(catalogue, ordering):
    same(Book.objects.mongo().order_by(*ordering), Book.objects.order_by(*ordering))


def test_meta_ordering_is_the_default_and_ties_break_by_pk(catalogue):
    same(Book.objects.mongo().all(), Book.objects.order_by("title", "pk"))
    same(Book.objects.mongo().reverse(), Book.objects.order_by("-title", "-pk"))


def test_slices_and_indexes(catalogue):
    orm = Book.objects.order_by("-published", "pk")
    mongo = Book.objects.mongo().order_by("-published", "pk")
    same(mongo[:5], orm[:5])
    same(mongo[5:12], orm[5:12])
    same(mongo[3:20][2:4], orm[3:20][2:4])
    assert mongo[7].pk == orm[7].pk
    assert list(mongo[5:5]) == []
    with pytest.raises(IndexError):
        mongo[10_000]


def test_single_object_helpers(catalogue):
    books = Book.objects.mongo()
    assert books.first().pk == Book.objects.first().pk
    assert books.last().pk == Book.objects.last().pk
    assert books.order_by("pk").first().pk == Book.objects.order_by("pk").first().pk
    assert books.exclude(published=None).earliest("published", "pk").pk == Book.objects.exclude(published=None).earliest("published", "pk").pk
    assert books.exclude(published=None).latest("published", "pk").pk == Book.objects.exclude(published=None).latest("published", "pk").pk
    target = catalogue["books"][3]
    assert books.get(pk=target.pk).title == target.title
    with pytest.raises(Book.MultipleObjectsReturned):
        books.get(title="Dune")
    with pytest.raises(Book.DoesNotExist):
        books.get(title="no such book")
    assert Book.objects.mongo().filter(title="no such book").first() is None


def test_a_query_pinned_to_one_primary_key_asks_for_one_document(catalogue, recorder):
    target = catalogue["books"][3]
    assert Book.objects.mongo().get(pk=target.pk).title == target.title
    assert Book.objects.mongo().filter(title=target.title).get(pk=target.pk) == target
    with pytest.raises(Book.MultipleObjectsReturned, match="it returned 8"):
        Book.objects.mongo().get(Q(pk=target.pk) | Q(title="Dune"))  # not pinned: Django's 21
    with pytest.raises(Book.DoesNotExist):
        Book.objects.mongo().get(pk=target.pk, title="another title")
    tagged = next(b for b in catalogue["books"] if b.tags.count() >= 2)
    rows = list(Book.objects.mongo().filter(pk=tagged.pk).values("title", "tags__name"))  # one row per tag
    by_tag = lambda row: row["tags__name"]  # noqa: E731 (the rows of one book tie on the ordering)
    assert len(rows) >= 2
    assert sorted(rows, key=by_tag) == sorted(Book.objects.filter(pk=tagged.pk).values("title", "tags__name"), key=by_tag)
    sent = recorder.sent_to(dualdb.collection_for(Book).name)
    assert [command.get("limit") for command in sent] == [1, 1, 21, 1, 1]
    assert [bool(command.get("sort")) for command in sent] == [False, False, False, False, False]
    with pytest.raises(UnsupportedLookup, match="many-valued"):  # the ordering is still checked
        list(Book.objects.mongo().filter(pk=target.pk).order_by("tags__name"))


def test_values_through_single_valued_relations_keep_the_limit_on_the_server(catalogue, recorder):
    page = list(Book.objects.mongo().order_by("pk").values("pk", "author__name", "author__publisher__name")[2:5])
    assert page == list(Book.objects.order_by("pk").values("pk", "author__name", "author__publisher__name")[2:5])
    by_tag = list(Book.objects.mongo().order_by("pk").values_list("pk", "tags__name")[:4])  # rows, not documents
    assert len(by_tag) == 4 and set(by_tag) <= set(Book.objects.values_list("pk", "tags__name"))
    sent = recorder.sent_to(dualdb.collection_for(Book).name)
    assert [(command.get("skip"), command.get("limit")) for command in sent] == [(2, 3), (None, None)]


def test_count_exists_in_bulk_and_iterator(catalogue):
    assert Book.objects.mongo().filter(price__gt=10).count() == Book.objects.filter(price__gt=10).count()
    assert Book.objects.mongo().order_by("pk")[3:9].count() == 6
    assert Book.objects.mongo().filter(title="Dune").exists()
    assert not Book.objects.mongo().filter(title="nope").exists()
    pks = [b.pk for b in catalogue["books"][:4]]
    assert sorted(Book.objects.mongo().in_bulk(pks)) == sorted(pks)
    assert [b.pk for b in Book.objects.mongo().order_by("pk").iterator(chunk_size=7)] == list(
        Book.objects.order_by("pk").values_list("pk", flat=True))


# --- result shapes -----------------------------------------------------------------------


def test_values_and_values_list_match_the_orm_including_joined_rows(catalogue):
    for fields in [(), ("title", "price"), ("title", "author__name", "author__publisher__name"),
                   ("pk", "tags__name"), ("author", "published")]:
        orm = list(Book.objects.order_by("pk", *(["tags__name"] if "tags__name" in fields else [])).values(*fields))
        mongo = list(Book.objects.mongo().order_by("pk").values(*fields))
        if "tags__name" in fields:  # SQL orders tag rows by the join; compare per book
            orm.sort(key=lambda row: (row["pk"], row["tags__name"] or ""))
            mongo.sort(key=lambda row: (row["pk"], row["tags__name"] or ""))
        # values() lists what the document stores: Book.Mirror.exclude leaves internal_notes out.
        assert mongo == [{k: v for k, v in row.items() if k != "internal_notes"} for row in orm]
    assert list(Book.objects.mongo().order_by("pk").values_list("title", flat=True)) == list(
        Book.objects.order_by("pk").values_list("title", flat=True))
    named = Book.objects.mongo().order_by("pk").values_list("title", "author__name", named=True)[0]
    assert (named.title, named.author__name) == Book.objects.order_by("pk").values_list("title", "author__name")[0]


def test_only_and_defer_leave_the_rest_deferred(catalogue):
    book = Book.objects.mongo().only("title").order_by("pk").first()
    assert book.title == catalogue["books"][0].title
    assert book.get_deferred_fields() >= {"price", "published"}
    book = Book.objects.mongo().defer("price").order_by("pk").first()
    assert "price" in book.get_deferred_fields() and "title" not in book.get_deferred_fields()


def test_aggregates_match_the_orm(catalogue):
    aggregates = {"n": Count("pk"), "priced": Count("price"), "total": Sum("price"), "average": Avg("price"),
                  "cheapest": Min("price"), "newest": Max("published"), "rating": Avg("author__publisher__id")}
    mine = Book.objects.mongo().filter(title__icontains="e").aggregate(**aggregates)
    theirs = Book.objects.filter(title__icontains="e").aggregate(**aggregates)
    assert mine["n"] == theirs["n"] and mine["priced"] == theirs["priced"]
    assert mine["total"] == theirs["total"] and mine["cheapest"] == theirs["cheapest"]
    assert mine["newest"] == theirs["newest"]
    assert abs(mine["average"] - theirs["average"]) < decimal.Decimal("1e-9")
    assert abs(mine["rating"] - float(theirs["rating"])) < 1e-9
    assert Book.objects.mongo().filter(title="none").aggregate(Sum("price")) == {"price__sum": None}


def test_distinct_without_fields_is_accepted(catalogue):
    same(Book.objects.mongo().filter(tags__name__in=["sf", "SF"]).distinct().order_by("pk"),
         Book.objects.filter(tags__name__in=["sf", "SF"]).distinct().order_by("pk"))


# --- instances ----------------------------------------------------------------------------


def test_the_list_page_loop_runs_without_sql(catalogue):
    books = Book.objects.mongo().filter(Q(author__name__icontains="le") | Q(tags__name="sf")).exclude(
        published__year=2001).order_by("-published", "title")[:20]
    with no_sql() as queries:
        seen = [(b.title, b.author.name, b.author.publisher.name if b.author.publisher else None,
                 [t.name for t in b.tags.all()], [r.rating for r in b.reviews.all()]) for b in books]
        rows = list(Book.objects.mongo().values("title", "author__name", "tags__name"))
    assert len(queries) == 0, [q["sql"] for q in queries]
    assert seen and rows
    expected = [(b.title, b.author.name, b.author.publisher.name if b.author.publisher else None,
                 [t.name for t in b.tags.order_by("pk")], [r.rating for r in b.reviews.order_by("pk")])
                for b in Book.objects.filter(Q(author__name__icontains="le") | Q(tags__name="sf")).exclude(
                    published__year=2001).distinct().order_by("-published", "title", "pk")[:20]]
    assert seen == expected


def test_fields_not_in_the_document_load_from_postgres(catalogue):
    book = Book.objects.mongo().order_by("pk").first()
    with no_sql() as queries:
        book.title
    assert len(queries) == 0
    assert book.internal_notes == ""  # excluded from the document: deferred, loaded on access


# --- read-through, fallback and errors --------------------------------------------------------


def test_an_unsupported_path_raises_or_falls_back_on_request(catalogue):
    with pytest.raises(UnsupportedLookup, match=r"testapp.Book.*author__books"):
        Book.objects.mongo().filter(author__books__title="Dune")
    fallback = Book.objects.mongo(fallback=True).filter(author__books__title="Dune").order_by("pk")
    same(fallback, Book.objects.filter(author__books__title="Dune").distinct().order_by("pk"))
    assert fallback.served_by == "postgresql"


def test_mongo_is_called_on_the_manager_not_a_filtered_queryset():
    with pytest.raises(TypeError, match="on the manager"):
        Book.objects.filter(title="x").mongo()


def test_read_only(catalogue):
    with pytest.raises(TypeError, match="read-only"):
        Book.objects.mongo().update(title="x")


# --- Django integration -----------------------------------------------------------------------


def test_paginator_pages_like_the_orm(catalogue):
    mine = Paginator(Book.objects.mongo().order_by("title", "pk"), 7)
    theirs = Paginator(Book.objects.order_by("title", "pk"), 7)
    assert mine.count == theirs.count and mine.num_pages == theirs.num_pages
    for number in mine.page_range:
        assert [b.pk for b in mine.page(number)] == [b.pk for b in theirs.page(number)]


def test_raw_is_an_explicit_escape_hatch(catalogue):
    titles = {b.title for b in Book.objects.mongo().raw({"title": {"$in": ["Dune"]}})}
    assert titles == {"Dune"}
    with pytest.raises(ValueError, match=r"\$where"):
        Book.objects.mongo().raw({"$where": "sleep(100)"})


def test_explain_describes_the_find(catalogue):
    assert Book.objects.mongo().filter(title="Dune").explain()


def test_generic_views_take_a_mongo_queryset(catalogue, rf):
    from django.views.generic import DetailView, ListView

    class BookList(ListView):
        queryset = Book.objects.mongo().order_by("title", "pk")
        paginate_by = 5

    class BookDetail(DetailView):
        queryset = Book.objects.mongo()

    with no_sql() as queries:
        context = BookList(request=rf.get("/"), kwargs={}, args=()).get_context_data(
            object_list=BookList(request=rf.get("/")).get_queryset())
        listed = [(b.title, b.author.name) for b in context["page_obj"]]
        target = catalogue["books"][4]
        detail = BookDetail(request=rf.get("/"), kwargs={"pk": target.pk}).get_object()
    assert len(queries) == 0
    assert listed == [(b.title, b.author.name) for b in Book.objects.order_by("title", "pk")[:5]]
    assert detail.pk == target.pk and detail.author.name == target.author.name
    from django.http import Http404

    with pytest.raises(Http404):
        BookDetail(request=rf.get("/"), kwargs={"pk": 10**9}).get_object()


def test_distinct_on_fields_is_unsupported_unless_falling_back(catalogue):
    with pytest.raises(UnsupportedLookup, match="distinct"):
        Book.objects.mongo().distinct("title")
    titles = list(Book.objects.mongo(fallback=True).order_by("title").distinct("title").values_list("title", flat=True))
    assert titles == list(Book.objects.order_by("title").distinct("title").values_list("title", flat=True))


def test_the_queryset_mongo_returns_never_caches_so_a_view_attribute_stays_fresh(catalogue):
    shared = Book.objects.mongo()
    before = len(list(shared))
    dualdb.collection_for(Book).delete_one({"_id": catalogue["books"][0].pk})
    try:
        assert len(list(shared)) == before - 1
    finally:
        dualdb.sync(Book, [catalogue["books"][0].pk])
