"""Hypothesis writes the queries; PostgreSQL through the ORM is the oracle for .mongo()."""

from __future__ import annotations

import datetime

import pytest
from django.db.models import Q
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.catalogue import NAMES, TAGS, WORDS, build
from tests.testapp.models import Book

pytestmark = pytest.mark.django_db(transaction=True)

prices = st.decimals(min_value=0, max_value=50, places=2)
dates = st.dates(min_value=datetime.date(1950, 1, 1), max_value=datetime.date(2020, 12, 31))
fragments = st.sampled_from(["a", "E", "dune", "ß", "Ω", "le", "+", "[", "%", ".", "ü", "O'"])

CONDITIONS = st.one_of(
    st.tuples(st.sampled_from(["title", "title__iexact"]), st.sampled_from(WORDS + ["Dune", "dune"])),
    st.tuples(st.sampled_from(["title__contains", "title__icontains", "title__startswith", "title__istartswith",
                               "title__endswith", "title__iendswith"]), fragments),
    st.tuples(st.sampled_from(["price__gt", "price__gte", "price__lt", "price__lte", "price"]), prices),
    st.tuples(st.just("price"), st.none()),
    st.tuples(st.just("price__isnull"), st.booleans()),
    st.tuples(st.just("price__range"), st.tuples(prices, prices)),
    st.tuples(st.just("published__year"), st.integers(1950, 2020)),
    st.tuples(st.sampled_from(["published__gte", "published__lt", "published"]), dates),
    st.tuples(st.just("published__isnull"), st.booleans()),
    st.tuples(st.sampled_from(["author__name", "author__name__icontains", "author__name__istartswith"]),
              st.sampled_from(NAMES + ["le", "LE", "š"])),
    st.tuples(st.just("author__publisher__name"), st.sampled_from(["Ace", "Gollancz", "Éditions Ω", None])),
    st.tuples(st.just("author__born__year__lte"), st.integers(1900, 2000)),
    st.tuples(st.sampled_from(["tags__name", "tags__name__iexact"]), st.sampled_from(TAGS)),
    st.tuples(st.just("tags__name__in"), st.lists(st.sampled_from(TAGS), max_size=3)),
    st.tuples(st.just("tags__isnull"), st.booleans()),
    st.tuples(st.sampled_from(["reviews__rating", "reviews__rating__gte", "reviews__rating__lt"]), st.integers(1, 5)),
    st.tuples(st.just("reviews__text"), st.sampled_from(["", "great", "Ωk"])),
)


@st.composite
def q_objects(draw) -> Q:
    terms = [Q(**{key: value}) for key, value in draw(st.lists(CONDITIONS, min_size=1, max_size=2))]
    combined = terms[0]
    for term in terms[1:]:
        combined = combined | term if draw(st.booleans()) else combined & term
    return ~combined if draw(st.booleans()) and len(terms) == 1 else combined


ORDERINGS = st.sampled_from([
    (), ("title",), ("-price",), ("price", "-published"), ("author__name",), ("-author__publisher__name",),
    ("published",), ("-author__born", "title"),
])


@st.composite
def queries(draw):
    calls = draw(st.lists(st.tuples(st.sampled_from(["filter", "exclude"]), q_objects()), max_size=3))
    ordering = draw(ORDERINGS)
    window = draw(st.one_of(st.none(), st.tuples(st.integers(0, 10), st.integers(0, 15))))
    return calls, ordering, window


def apply(queryset, calls, ordering, window, *, distinct: bool):
    for method, q in calls:
        queryset = getattr(queryset, method)(q)
    if distinct:
        queryset = queryset.distinct()
    queryset = queryset.order_by(*ordering, "pk")
    if window:
        start, length = window
        queryset = queryset[start:start + length]
    return queryset


@pytest.fixture
def catalogue():
    return build(seed=11, books=60)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(query=queries())
def test_mongo_and_the_orm_agree(catalogue, query):
    calls, ordering, window = query
    expected = list(apply(Book.objects.all(), calls, ordering, window, distinct=True).values_list("pk", flat=True))
    # fallback=True: same-row conditions FerretDB v1 cannot evaluate run on PostgreSQL instead
    mongo = apply(Book.objects.mongo(fallback=True), calls, ordering, window, distinct=False)
    assert [book.pk for book in mongo] == expected
    assert mongo.count() == len(expected)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(query=queries())
def test_values_agree(catalogue, query):
    calls, ordering, window = query
    fields = ("pk", "title", "price", "published", "author__name", "author__publisher__name")
    expected = list(apply(Book.objects.all(), calls, ordering, window, distinct=True).values_list(*fields))
    mongo = apply(Book.objects.mongo(fallback=True), calls, ordering, window, distinct=False)
    assert list(mongo.values_list(*fields)) == expected
