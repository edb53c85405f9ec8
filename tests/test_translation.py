"""Django filters -> MongoDB filter documents: pure translation, no database touched.

Every test asserts the exact filter document. The NULL, join and negation rules they
pin down were checked against PostgreSQL through the ORM (see ``querying/where.py``).
"""

from __future__ import annotations

import datetime
import decimal
import re
import uuid
from typing import Any

import pytest
from django.db.models import F, Q, Value
from django.test import override_settings
from django.utils import timezone
from django.utils.translation import gettext_lazy

from dualdb.registries import registry
from querying.exceptions import UnsupportedLookup
from querying.lookups import NOTHING, FilterValueError
from querying.where import compile_exclude, compile_filter, server_matches_elements
from tests.helpers import operators_in
from tests.testapp.models import Author, Book, Review, Specimen, Tag

UTC = datetime.UTC


def book(*args: Q, elem_match: bool = False, **kwargs: Any) -> dict[str, Any]:
    """``Book.objects.filter(*args, **kwargs)`` as the compiler receives it."""
    return compile_filter(registry.shape(Book), Q(*args, **kwargs), elem_match=elem_match)


def book_exclude(*args: Q, **kwargs: Any) -> dict[str, Any]:
    return compile_exclude(registry.shape(Book), Q(*args, **kwargs))


def specimen(*args: Q, **kwargs: Any) -> dict[str, Any]:
    return compile_filter(registry.shape(Specimen), Q(*args, **kwargs))


def utc(*parts: int) -> datetime.datetime:
    return datetime.datetime(*parts, tzinfo=UTC)


# --- every lookup -------------------------------------------------------------------------


@pytest.mark.parametrize(("lookup", "value", "expected"), [
    ("exact", "Dune", {"$eq": "Dune"}),
    ("iexact", "Dune", {"$regex": r"\ADune\z", "$options": "i"}),
    ("contains", "un", {"$regex": "un"}),
    ("icontains", "un", {"$regex": "un", "$options": "i"}),
    ("startswith", "Du", {"$regex": r"\ADu"}),
    ("istartswith", "du", {"$regex": r"\Adu", "$options": "i"}),
    ("endswith", "ne", {"$regex": r"ne\z"}),
    ("iendswith", "NE", {"$regex": r"NE\z", "$options": "i"}),
    ("in", ["Dune", "Emma"], {"$in": ["Dune", "Emma"]}),
    ("gt", "M", {"$gt": "M"}),
    ("gte", "M", {"$gte": "M"}),
    ("lt", "M", {"$lt": "M"}),
    ("lte", "M", {"$lte": "M"}),
    ("range", ("A", "M"), {"$gte": "A", "$lte": "M"}),
    ("isnull", False, {"$ne": None}),
    ("regex", r"^Du.e$", {"$regex": r"^Du.e$", "$options": "s"}),
    ("iregex", r"^du", {"$regex": r"^du", "$options": "is"}),
])
def test_every_lookup_on_a_text_field(lookup, value, expected):
    assert book(**{f"title__{lookup}": value}) == {"title": expected}


def test_a_bare_field_means_exact():
    assert book(title="Dune") == {"title": {"$eq": "Dune"}}


def test_numeric_and_date_comparisons_use_the_stored_encoding():
    assert book(price__gt=decimal.Decimal("9.99")) == {"price": {"$gt": 9.99}}
    assert book(price__lte="10") == {"price": {"$lte": 10.0}}
    assert book(price__range=(1, 2)) == {"price": {"$gte": 1.0, "$lte": 2.0}}
    assert book(published__gte=datetime.date(2024, 1, 1)) == {"published": {"$gte": utc(2024, 1, 1)}}
    assert book(published="2024-05-01") == {"published": {"$eq": utc(2024, 5, 1)}}


def test_other_field_kinds_are_encoded_like_the_documents():
    token = uuid.UUID("12345678-1234-5678-1234-567812345678")
    assert specimen(token=str(token)) == {"token": {"$eq": token}}
    assert specimen(span=datetime.timedelta(seconds=1, microseconds=2)) == {"span": {"$eq": 1_000_002}}
    assert specimen(clock__lt=datetime.time(7, 5)) == {"clock": {"$lt": "07:05:00.000000"}}
    assert specimen(flag=1) == {"flag": {"$eq": True}}
    assert specimen(amount=decimal.Decimal("1.5")) == {"amount": {"$eq": 1.5}}
    assert specimen(blob=b"\x00\x01") == {"blob": {"$eq": b"\x00\x01"}}
    assert specimen(attachment="specimens/x.pdf") == {"attachment": {"$eq": "specimens/x.pdf"}}
    assert specimen(payload__isnull=True) == {"payload": {"$eq": None}}
    assert specimen(day__year=2000) == {"day": {"$gte": utc(2000, 1, 1), "$lte": utc(2000, 12, 31)}}


def test_lazy_strings_are_plain_values():
    assert book(title=gettext_lazy("Dune")) == {"title": {"$eq": "Dune"}}


# --- None and NULL -----------------------------------------------------------------------------


def test_none_means_is_null():
    assert book(price=None) == {"price": {"$eq": None}}
    assert book(title__iexact=None) == {"title": {"$eq": None}}
    assert book(price__isnull=True) == {"price": {"$eq": None}}
    assert book(price__isnull=False) == {"price": {"$ne": None}}


def test_a_null_relation_makes_everything_below_it_null():
    """``editor: null`` has no ``editor.name``: a missing key is NULL, never equal to a value."""
    assert book(editor__name__isnull=True) == {"editor.name": {"$eq": None}}
    assert book(editor__name="Ann") == {"editor.name": {"$eq": "Ann"}}
    assert book(editor=None) == {"editor_id": {"$eq": None}}
    assert book(author__publisher__country__isnull=True) == {"author.publisher.country": {"$eq": None}}


def test_none_cannot_be_compared():
    for lookup in ("gt", "contains", "in", "range", "regex", "year__gt"):
        field = "published" if lookup.startswith("year") else "title"
        with pytest.raises(FilterValueError, match="None"):
            book(**{f"{field}__{lookup}": None})


def test_in_drops_none_and_an_empty_list_matches_nothing():
    assert book(title__in=["Dune", None]) == {"title": {"$in": ["Dune"]}}
    assert book(title__in=[]) == NOTHING
    assert book(title__in=[None]) == NOTHING
    assert book_exclude(title__in=[]) == {}
    assert book(title__in=iter(["a", "b"])) == {"title": {"$in": ["a", "b"]}}


def test_isnull_takes_booleans_only():
    with pytest.raises(FilterValueError, match="True or False"):
        book(price__isnull="yes")


def test_range_takes_two_non_null_bounds():
    with pytest.raises(FilterValueError, match="pair"):
        book(price__range=(1, 2, 3))
    with pytest.raises(FilterValueError, match="None cannot be a range bound"):
        book(price__range=(None, 2))


# --- values are data -----------------------------------------------------------------------------


def test_unicode_passes_through():
    assert book(title="¡Anarres! ✓") == {"title": {"$eq": "¡Anarres! ✓"}}
    assert book(title__icontains="Ünï") == {"title": {"$regex": "Ünï", "$options": "i"}}


@pytest.mark.parametrize("text", ["a.b", "1+1=2", "(x)[y]{2}", "^$|?*", "back\\slash", "tab\there", "new\nline",
                                  "100%_off", "$where", "#-&~ "])
def test_pattern_lookups_escape_regex_metacharacters(text):
    pattern = book(title__contains=text)["title"]["$regex"]
    assert pattern == re.escape(text)
    anchored = book(title__iexact=text)["title"]["$regex"]
    assert re.fullmatch(anchored.replace(r"\z", r"\Z"), text)
    assert not re.search(anchored.replace(r"\z", r"\Z"), text + "x")


def test_a_dict_for_a_text_field_is_stringified_like_the_orm():
    assert book(title={"$ne": ""}) == {"title": {"$eq": "{'$ne': ''}"}}
    assert book(title__contains={"$ne": ""}) == {"title": {"$regex": re.escape("{'$ne': ''}")}}


def test_operator_looking_strings_stay_literal():
    assert book(title="$where") == {"title": {"$eq": "$where"}}
    assert book(title__in={"$ne": 1}) == {"title": {"$in": ["$ne"]}}  # iterated, as the ORM does


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"price": {"$ne": ""}}, "testapp.Book.price"),
    ({"price__gt": ["1"]}, "testapp.Book.price"),
    ({"author": {"$gt": 0}}, "testapp.Book.author"),
    ({"author_id__in": [{"$gt": 0}]}, "testapp.Book.author"),
    ({"published": {"$ne": None}}, "testapp.Book.published"),
    ({"reviews__rating": {"$gt": 0}}, "testapp.Review.rating"),
    ({"tags": "sf"}, "testapp.Tag.id"),
])
def test_structured_values_are_refused_where_a_scalar_belongs(kwargs, field):
    with pytest.raises(FilterValueError) as caught:
        book(**kwargs)
    assert isinstance(caught.value, (TypeError, ValueError))
    assert field in str(caught.value) and "testapp.Book.objects.mongo()" in str(caught.value)


def test_unstorable_values_are_refused():
    with pytest.raises(FilterValueError, match=r"Specimen\.ratio"):
        specimen(ratio=float("nan"))
    with pytest.raises(FilterValueError, match="regular expression must be a string"):
        book(title__regex={"$ne": 1})
    with pytest.raises(FilterValueError, match=r"Specimen\.span"):
        specimen(span=3600)


@pytest.mark.parametrize("path", ["$where", "title.$ne", "author.name", "title__$regex", "tags.0", ""])
def test_operator_or_dotted_paths_are_refused(path):
    with pytest.raises(UnsupportedLookup, match=r"may not contain|cannot express"):
        book(**{path: "x"})


FORBIDDEN = {"$where", "$function", "$accumulator", "$expr"}


@pytest.mark.parametrize("q", [
    Q(title={"$where": "1"}), Q(title__in=[{"$expr": 1}]), Q(title__contains="$function"),
    Q(tags__name={"$accumulator": 1}), ~Q(title="$where") | Q(author__name__iexact="$expr"),
])
def test_no_value_ever_becomes_an_operator(q):
    operators = operators_in(compile_filter(registry.shape(Book), q))
    assert not operators & FORBIDDEN
    assert operators <= {"$eq", "$in", "$regex", "$options", "$nor", "$or", "$and"}


# --- relations ------------------------------------------------------------------------------------


def test_a_relation_compares_by_primary_key():
    assert book(author=Author(pk=3)) == {"author_id": {"$eq": 3}}
    assert book(author_id=3) == {"author_id": {"$eq": 3}}
    assert book(author="3") == {"author_id": {"$eq": 3}}
    assert book(author__in=[Author(pk=1), 2]) == {"author_id": {"$in": [1, 2]}}
    assert book(author__id=3) == {"author._id": {"$eq": 3}}
    assert book(pk=5) == {"_id": {"$eq": 5}}
    assert book(id__in=[5, 6]) == {"_id": {"$in": [5, 6]}}
    assert book(author__publisher__name="Ace") == {"author.publisher.name": {"$eq": "Ace"}}


def test_many_valued_relations_compare_their_rows_keys():
    assert book(tags=Tag(pk=4)) == {"tags._id": {"$eq": 4}}
    assert book(tags__in=[Tag(pk=4), Tag(pk=5)]) == {"tags._id": {"$in": [4, 5]}}
    assert book(reviews=Review(pk=2)) == {"reviews._id": {"$eq": 2}}
    assert book(tags__name="sf") == {"tags.name": {"$eq": "sf"}}


def test_instances_of_another_model_or_unsaved_are_refused():
    with pytest.raises(FilterValueError, match=r"not a testapp\.Author instance"):
        book(author=Tag(pk=1))
    with pytest.raises(FilterValueError, match="unsaved"):
        book(author=Author())
    with pytest.raises(FilterValueError, match=r"not a testapp\.Tag instance"):
        book(tags__in=[Author(pk=1)])


# --- many-valued relations: one filter() call joins once ----------------------------------------------


def test_one_condition_on_an_array_is_a_dotted_key():
    assert book(reviews__rating__gte=4) == {"reviews.rating": {"$gte": 4}}
    assert book(tags__name__icontains="f") == {"tags.name": {"$regex": "f", "$options": "i"}}


def test_conditions_on_one_array_in_one_call_share_an_element():
    expected = {"tags": {"$elemMatch": {"_id": {"$eq": 3}, "name": {"$eq": "sf"}}}}
    assert book(tags__name="sf", tags__id=3, elem_match=True) == expected
    assert book(Q(tags__id=3) & Q(tags__name="sf"), elem_match=True) == expected
    assert book(reviews__rating__range=(2, 4), elem_match=True) == {
        "reviews": {"$elemMatch": {"rating": {"$gte": 2, "$lte": 4}}}}


def test_without_elem_match_a_shared_element_is_refused_not_answered_wrongly():
    """FerretDB v1 has no $elemMatch over embedded documents: refuse rather than drop the correlation."""
    with pytest.raises(UnsupportedLookup, match=r"same related row.*\$elemMatch.*FerretDB v1") as caught:
        book(tags__name="sf", tags__id=3)
    assert "tags__id, tags__name" in str(caught.value)
    with pytest.raises(UnsupportedLookup, match="same related row"):
        book(reviews__rating__range=(2, 4))


def test_or_on_one_array_is_an_or_of_elements():
    assert book(Q(tags__name="a") | Q(tags__name="b")) == {
        "$or": [{"tags.name": {"$eq": "a"}}, {"tags.name": {"$eq": "b"}}]}
    assert book(Q(tags__name="a") | Q(title="x")) == {"$or": [{"tags.name": {"$eq": "a"}}, {"title": {"$eq": "x"}}]}


def test_and_inside_or_inside_and_keeps_one_element_per_alternative():
    assert book(Q(tags__name="a") & (Q(tags__id=1) | Q(title="x")), elem_match=True) == {"$or": [
        {"tags": {"$elemMatch": {"name": {"$eq": "a"}, "_id": {"$eq": 1}}}},
        {"tags.name": {"$eq": "a"}, "title": {"$eq": "x"}},
    ]}
    assert book(Q(tags__name="a") & (Q(tags__id=1) | Q(tags__id=2)), elem_match=True) == {"tags": {"$elemMatch": {
        "name": {"$eq": "a"}, "$or": [{"_id": {"$eq": 1}}, {"_id": {"$eq": 2}}]}}}


def test_different_arrays_are_independent():
    assert book(tags__name="sf", reviews__rating=5) == {"reviews.rating": {"$eq": 5}, "tags.name": {"$eq": "sf"}}


def test_isnull_on_a_many_valued_relation_means_no_element():
    assert book(tags__isnull=True) == {"tags.0": {"$exists": False}}
    assert book(tags=None) == {"tags.0": {"$exists": False}}
    assert book(tags__isnull=False) == {"tags.0": {"$exists": True}}
    assert book(reviews__id__isnull=True) == {"reviews.0": {"$exists": False}}


def test_null_accepting_conditions_also_match_an_empty_array():
    """The ORM's LEFT JOIN gives a book without tags one all-NULL row."""
    assert book(tags__name=None) == {"$or": [{"tags.name": {"$eq": None}}, {"tags.0": {"$exists": False}}]}
    assert book(tags__name__isnull=False, elem_match=True) == {"tags": {"$elemMatch": {"name": {"$ne": None}}}}
    assert book(Q(tags__name="a") | Q(tags__name=None)) == {"$or": [
        {"tags.name": {"$eq": "a"}}, {"tags.name": {"$eq": None}}, {"tags.0": {"$exists": False}}]}


def test_integer_values_outside_the_column_match_all_or_nothing_like_the_orm():
    assert book(reviews__rating__gt=-1) == {"reviews.0": {"$exists": True}}  # every joined review
    assert book(reviews__rating=40000) == NOTHING
    assert book(id__gt=-10**30) == {}
    assert book(id__lt=10**30) == {}
    assert book(id__in=[1, 10**30]) == {"_id": {"$in": [1]}}
    assert book(id__range=(-10**30, 5)) == {"_id": {"$gte": -2**63, "$lte": 5}}


def test_float_bounds_on_integer_fields_round_like_the_orm():
    assert book(reviews__rating__gte=2.5) == {"reviews.rating": {"$gte": 3}}
    assert book(reviews__rating__lt=2.5) == {"reviews.rating": {"$lt": 3}}
    assert book(reviews__rating__gt=2.5) == {"reviews.rating": {"$gt": 2}}


# --- negation ----------------------------------------------------------------------------------------


def test_exclude_keeps_nulls():
    assert book_exclude(price__gt=5) == {"$nor": [{"price": {"$gt": 5.0}}]}
    assert book_exclude(price=None) == {"$nor": [{"price": {"$eq": None}}]}
    assert book_exclude(editor__name="Ann") == {"$nor": [{"editor.name": {"$eq": "Ann"}}]}
    assert book(~Q(price__gt=5)) == {"$nor": [{"price": {"$gt": 5.0}}]}


def test_exclude_on_an_array_means_no_element_matches():
    assert book_exclude(tags__name="sf") == {"$nor": [{"tags.name": {"$eq": "sf"}}]}
    assert book_exclude(tags__isnull=True) == {"$nor": [{"tags.0": {"$exists": False}}]}
    assert book(~Q(tags__name="sf")) == {"$nor": [{"tags.name": {"$eq": "sf"}}]}


def test_conditions_in_one_exclude_need_not_share_an_element():
    assert book_exclude(tags__name="sf", tags__id=3) == {"$nor": [{"tags._id": {"$eq": 3}, "tags.name": {"$eq": "sf"}}]}
    assert book(~Q(Q(tags__name="sf") | Q(tags__id=3))) == {
        "$nor": [{"tags.name": {"$eq": "sf"}}, {"tags._id": {"$eq": 3}}]}


def test_a_negation_after_a_join_in_the_same_call_is_about_the_joined_row():
    """As in the ORM, where the NOT EXISTS subquery is tied to the row already joined."""
    assert book(Q(tags__name="sf") & ~Q(tags__name="classic"), elem_match=True) == {
        "tags": {"$elemMatch": {"name": {"$eq": "sf"}, "$nor": [{"name": {"$eq": "classic"}}]}}}
    with pytest.raises(UnsupportedLookup, match="same related row"):
        book(Q(tags__name="sf") & ~Q(tags__name="classic"))


def test_a_negation_before_the_join_or_in_another_call_is_independent():
    assert book(~Q(tags__name="classic") & Q(tags__name="sf")) == {
        "$nor": [{"tags.name": {"$eq": "classic"}}], "tags.name": {"$eq": "sf"}}
    assert book(Q(tags__name="sf") & ~Q(tags__name=None)) == {
        "tags.name": {"$eq": "sf"}, "$nor": [{"tags.name": {"$eq": None}}, {"tags.0": {"$exists": False}}]}


def test_double_negation_and_empty_q():
    assert book(~~Q(price__gt=5)) == {"price": {"$gt": 5.0}}
    assert book(Q()) == {}
    assert book(~Q()) == {}
    assert book_exclude() == {}
    assert book(Q(Q(), title="x", _connector=Q.OR)) == {"title": {"$eq": "x"}}


def test_exclude_of_everything_is_nothing():
    assert book_exclude(id__gt=-10**30) == NOTHING


# --- dates and times ------------------------------------------------------------------------------------


def test_year_of_a_date_field_is_its_range():
    jan1, dec31 = utc(2024, 1, 1), utc(2024, 12, 31)
    assert book(published__year=2024) == {"published": {"$gte": jan1, "$lte": dec31}}
    assert book(published__year__gt=2024) == {"published": {"$gt": dec31}}
    assert book(published__year__gte="2024") == {"published": {"$gte": jan1}}
    assert book(published__year__lt=2024) == {"published": {"$lt": jan1}}
    assert book(published__year__lte=2024) == {"published": {"$lte": dec31}}
    assert book(published__year__range=(2023, 2024)) == {"published": {"$gte": utc(2023, 1, 1), "$lte": dec31}}
    assert book(published__year__in=[2023, None]) == {"published": {"$gte": utc(2023, 1, 1), "$lte": utc(2023, 12, 31)}}
    assert book(published__year__in=[]) == NOTHING
    assert book(published__year=None) == {"published": {"$eq": None}}
    assert book(published__year__isnull=False) == {"published": {"$ne": None}}


def test_year_of_a_datetime_uses_the_current_time_zone():
    with timezone.override("Europe/Paris"):
        assert specimen(moment__year=2024) == {"moment": {
            "$gte": utc(2023, 12, 31, 23), "$lte": datetime.datetime(2024, 12, 31, 22, 59, 59, 999000, tzinfo=UTC)}}
    assert specimen(moment__year__gt=2024) == {"moment": {
        "$gt": datetime.datetime(2024, 12, 31, 23, 59, 59, 999000, tzinfo=UTC)}}


def test_date_of_a_datetime_is_from_local_midnight_to_the_next():
    day = datetime.date(2024, 3, 1)
    assert specimen(moment__date=day) == {"moment": {"$gte": utc(2024, 3, 1), "$lt": utc(2024, 3, 2)}}
    with timezone.override("America/New_York"):
        assert specimen(moment__date=day) == {"moment": {"$gte": utc(2024, 3, 1, 5), "$lt": utc(2024, 3, 2, 5)}}
        assert specimen(moment__date__gt=day) == {"moment": {"$gte": utc(2024, 3, 2, 5)}}
        assert specimen(moment__date__lte=day) == {"moment": {"$lt": utc(2024, 3, 2, 5)}}
    assert specimen(moment__date__lt="2024-03-01") == {"moment": {"$lt": utc(2024, 3, 1)}}
    assert specimen(moment__date__range=(day, day)) == {"moment": {"$gte": utc(2024, 3, 1), "$lt": utc(2024, 3, 2)}}
    assert specimen(moment__date__in=[day, datetime.date(2024, 3, 5)]) == {"$or": [
        {"moment": {"$gte": utc(2024, 3, 1), "$lt": utc(2024, 3, 2)}},
        {"moment": {"$gte": utc(2024, 3, 5), "$lt": utc(2024, 3, 6)}}]}
    assert specimen(moment__date__lte=datetime.date.max) == {"moment": {"$ne": None}}
    assert specimen(moment__date__gt=datetime.date.max) == NOTHING


def test_recurring_parts_of_a_date_are_refused_with_a_reason():
    with pytest.raises(UnsupportedLookup, match=r"'published__month'.*recurs.*\$expr"):
        book(published__month=5)
    with pytest.raises(UnsupportedLookup, match=r"'published__day__gt'.*recurs"):
        book(published__day__gt=5)
    with pytest.raises(UnsupportedLookup, match="date applies to DateTimeField"):
        book(published__date=datetime.date(2024, 1, 1))
    with pytest.raises(UnsupportedLookup, match="year applies to DateField and DateTimeField"):
        book(title__year=2024)
    with pytest.raises(UnsupportedLookup, match="year supports"):
        book(published__year__contains=2)
    with pytest.raises(FilterValueError, match="year 0 is out of range"):
        book(published__year=0)


MOMENT = datetime.datetime(2024, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)
MS = datetime.datetime(2024, 3, 1, 12, 0, 0, 123000, tzinfo=UTC)


@pytest.mark.parametrize(("lookup", "expected"), [
    ("exact", {"moment": {"$eq": MS}, "_us.moment": {"$eq": 456}}),
    ("gt", {"$or": [{"moment": {"$gt": MS}}, {"moment": {"$eq": MS}, "_us.moment": {"$gt": 456}}]}),
    ("gte", {"$or": [{"moment": {"$gt": MS}}, {"moment": {"$eq": MS}, "_us.moment": {"$gte": 456}}]}),
    ("lt", {"$or": [{"moment": {"$lt": MS}}, {"moment": {"$eq": MS}, "_us.moment": {"$not": {"$gte": 456}}}]}),
    ("lte", {"$or": [{"moment": {"$lt": MS}}, {"moment": {"$eq": MS}, "_us.moment": {"$not": {"$gt": 456}}}]}),
])
def test_datetimes_compare_to_the_microsecond(lookup, expected):
    """The sub-millisecond digits live in ``_us.<attname>``; missing means 0 (hence ``$not`` below)."""
    assert specimen(**{f"moment__{lookup}": MOMENT}) == expected


def test_whole_milliseconds_need_no_companion_where_it_cannot_matter():
    whole = MOMENT.replace(microsecond=123000)
    assert specimen(moment=whole) == {"moment": {"$eq": MS}, "_us.moment": {"$in": [None, 0]}}
    assert specimen(moment__gte=whole) == {"moment": {"$gte": MS}}
    assert specimen(moment__lt=whole) == {"moment": {"$lt": MS}}
    top = MOMENT.replace(microsecond=123999)
    assert specimen(moment__lte=top) == {"moment": {"$lte": MS}}
    assert specimen(moment__gt=top) == {"moment": {"$gt": MS}}


def test_datetime_in_and_range_are_exact_too():
    whole = MOMENT.replace(microsecond=5000)
    assert specimen(moment__in=[whole, MOMENT, None]) == {"$or": [
        {"moment": {"$in": [utc(2024, 3, 1, 12, 0, 0).replace(microsecond=5000)]}, "_us.moment": {"$in": [None, 0]}},
        {"moment": {"$eq": MS}, "_us.moment": {"$eq": 456}}]}
    assert specimen(moment__range=(MOMENT.replace(microsecond=0), MOMENT)) == {
        "moment": {"$gte": utc(2024, 3, 1, 12)},
        "$or": [{"moment": {"$lt": MS}}, {"moment": {"$eq": MS}, "_us.moment": {"$not": {"$gt": 456}}}]}


def test_a_datetime_in_another_zone_is_compared_in_utc():
    paris = datetime.datetime(2024, 3, 1, 13, 0, 0, 123456, tzinfo=datetime.timezone(datetime.timedelta(hours=1)))
    assert specimen(moment=paris) == {"moment": {"$eq": MS}, "_us.moment": {"$eq": 456}}


@override_settings(USE_TZ=False)
def test_naive_datetimes_without_time_zone_support():
    naive = datetime.datetime(2024, 3, 1, 12, 0, 0, 123456)
    assert specimen(moment=naive) == {"moment": {"$eq": naive.replace(microsecond=123000)}, "_us.moment": {"$eq": 456}}
    assert specimen(moment__date=datetime.date(2024, 3, 1)) == {"moment": {
        "$gte": datetime.datetime(2024, 3, 1), "$lt": datetime.datetime(2024, 3, 2)}}


# --- what cannot be translated ----------------------------------------------------------------------------


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"title__foo": 1}, r"'title__foo'.*unknown lookup"),
    ({"title__exact__gt": 1}, r"'title__exact__gt'.*unknown lookup"),
    ({"nope": 1}, r"'nope'.*no stored field or embedded relation 'nope'"),
    ({"internal_notes": "x"}, r"'internal_notes'.*no stored field"),
    ({"tags__nope": 1}, r"'tags__nope'.*testapp.Tag has no stored field"),
    ({"editor__books__title": "x"}, r"'editor__books'"),
    ({"price__contains": "1"}, r"'price__contains'.*text fields.*DecimalField"),
    ({"author__icontains": "a"}, r"'author__icontains'.*text fields"),
    ({"price": F("title")}, r"'price__exact'.*F, an expression or queryset"),
    ({"title__in": ["a", F("title")]}, r"'title__in'.*expression"),
    ({"author__in": Author.objects.all()}, r"'author__in'.*QuerySet, an expression or queryset"),
    ({"tags__name__month": 1}, r"recurs"),
])
def test_unsupported_lookups_name_model_path_and_lookup(kwargs, message):
    with pytest.raises(UnsupportedLookup, match=message) as caught:
        book(**kwargs)
    assert str(caught.value).startswith("testapp.Book.objects.mongo() cannot express")


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"blob__gt": b"a"}, r"'blob__gt'.*BinaryField values are not ordered"),
    ({"payload": {"a": 1}}, r"'payload__exact'.*JSONField supports only isnull"),
    ({"payload": None}, r"JSONField"),
    ({"payload__a": 1}, r"'payload__a'.*unknown lookup"),
    ({"token__contains": "12"}, r"text fields.*UUIDField"),
])
def test_lookups_the_stored_encoding_cannot_answer(kwargs, message):
    with pytest.raises(UnsupportedLookup, match=message):
        specimen(**kwargs)


def test_xor_and_expressions_in_q_are_refused():
    with pytest.raises(UnsupportedLookup, match="XOR"):
        book(Q(title="a") ^ Q(title="b"))
    with pytest.raises(UnsupportedLookup, match="only keyword lookups"):
        book(Q(Value(True)))


def test_server_capability_from_build_info():
    assert server_matches_elements({"version": "7.0.14"})
    assert not server_matches_elements({"version": "7.0.42", "ferretdbVersion": "v1.24.2"})
