"""``save()`` writes the row and its outbox rows in one statement, with Django's save semantics intact."""

from __future__ import annotations

import datetime
import decimal
import json

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.db.models.signals import post_save
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

from dualdb.models import OutboxEntry
from tests.helpers import assert_mirrored, pending, stored
from tests.testapp.models import Author, Book, Place, Publisher, Shop, Tag

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def book():
    author = Author.objects.create(name="Octavia E. Butler", publisher=Publisher.objects.create(name="Warner"))
    return Book.objects.create(title="Kindred", author=author, price=decimal.Decimal("9.99"),
                               published=datetime.date(1979, 6, 1))


@pytest.fixture
def relay_mode():
    with override_settings(DUALDB={**settings.DUALDB, "MODE": "relay"}):
        OutboxEntry.objects.all().delete()
        yield


def test_a_save_outside_a_transaction_is_one_statement_with_its_outbox_rows(book, relay_mode):
    book.title = "Kindred (25th anniversary)"
    with CaptureQueriesContext(connection) as queries:
        book.save()

    assert len(queries) == 1, [q["sql"] for q in queries]
    assert sorted(pending()) == [("content", "testapp.book", str(book.pk)), ("sync", "testapp.book", str(book.pk))]
    assert not OutboxEntry.objects.get(kind="sync").created


def test_a_create_is_one_statement_and_its_rows_name_the_primary_key_the_database_assigned(book, relay_mode):
    with CaptureQueriesContext(connection) as queries:
        tag = Tag.objects.create(name="neo-slave narrative")

    assert len(queries) == 1, [q["sql"] for q in queries]
    assert tag.pk is not None and Tag.objects.get(pk=tag.pk).name == "neo-slave narrative"
    assert sorted(pending()) == [("content", "testapp.tag", str(tag.pk)), ("sync", "testapp.tag", str(tag.pk))]
    assert OutboxEntry.objects.get(kind="sync").created


def test_a_create_with_an_explicit_primary_key_queues_that_key(relay_mode):
    Tag.objects.create(pk=4242, name="explicit")
    assert sorted(pending()) == [("content", "testapp.tag", "4242"), ("sync", "testapp.tag", "4242")]


def test_inside_a_transaction_the_save_adds_no_statement(book, relay_mode):
    book.title = "Kindred, again"
    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        book.save()
    assert len(queries) == 1, [q["sql"] for q in queries]


def test_an_expression_saved_through_f_is_mirrored_as_the_database_computed_it(book):
    book.price = F("price") + 1
    book.save()
    book.refresh_from_db()

    assert book.price == decimal.Decimal("10.99")
    assert stored(Book, book.pk)["price"] == 10.99


def test_update_fields_saves_only_those_columns_and_mirrors_the_row(book):
    Book.objects.filter(pk=book.pk).update(title="Changed elsewhere")
    book.price = decimal.Decimal("1.00")
    book.save(update_fields=["price"])

    assert Book.objects.values_list("title", "price").get(pk=book.pk) == ("Changed elsewhere", decimal.Decimal("1.00"))
    assert_mirrored(Book.objects.get(pk=book.pk))


def test_a_statement_that_fails_queues_nothing(relay_mode):
    Tag.objects.create(name="unique")
    OutboxEntry.objects.all().delete()

    with pytest.raises(IntegrityError):
        Tag.objects.create(name="unique")

    assert OutboxEntry.objects.count() == 0
    assert Tag.objects.count() == 1


def test_a_row_deleted_behind_the_objects_back_is_inserted_again_as_django_does(book):
    tag = Tag.objects.create(name="vanishing")
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM testapp_tag WHERE id = %s", [tag.pk])  # raw SQL: not captured
    tag.name = "back again"
    tag.save()  # the UPDATE matches nothing, so Django inserts

    assert Tag.objects.get(pk=tag.pk).name == "back again"
    assert stored(Tag, tag.pk)["name"] == "back again"


def test_select_on_save_keeps_djangos_check_for_the_row(book, monkeypatch):
    monkeypatch.setattr(Book._meta, "select_on_save", True)
    book.title = "Parable of the Sower"
    with CaptureQueriesContext(connection) as queries:
        book.save()

    assert any("SELECT 1 AS" in q["sql"] for q in queries)  # Django's exists() before the UPDATE
    assert stored(Book, book.pk)["title"] == "Parable of the Sower"


def test_a_receiver_that_raises_after_an_autocommit_save_leaves_the_row_and_its_rows_committed(book, relay_mode):
    def fail(**kwargs):
        raise RuntimeError("receiver")

    post_save.connect(fail, sender=Book, dispatch_uid="test-fail")
    try:
        book.title = "Fledgling"
        with pytest.raises(RuntimeError):
            book.save()
    finally:
        post_save.disconnect(dispatch_uid="test-fail", sender=Book)

    # As for a plain model outside a transaction, the row is saved; here its outbox rows are too.
    assert Book.objects.get(pk=book.pk).title == "Fledgling"
    assert ("sync", "testapp.book", str(book.pk)) in pending()


def test_fixtures_loaded_with_loaddata_are_mirrored(tmp_path):
    fixture = tmp_path / "tags.json"
    fixture.write_text(json.dumps([
        {"model": "testapp.tag", "pk": 7001, "fields": {"name": "from a fixture"}},
        {"model": "testapp.publisher", "pk": 7002, "fields": {"name": "Fixture House", "country": "UK"}},
    ]))
    call_command("loaddata", str(fixture), verbosity=0)

    assert stored(Tag, 7001)["name"] == "from a fixture"
    assert stored(Publisher, 7002)["name"] == "Fixture House"


def test_a_multi_table_save_mirrors_the_parents_document_and_the_childs():
    shop = Shop.objects.create(name="Kepler's", trade="books")
    shop.name, shop.trade = "Kepler's Books", "books and magazines"
    shop.save()

    assert stored(Place, shop.pk)["name"] == "Kepler's Books"
    assert stored(Shop, shop.pk)["trade"] == "books and magazines"
    assert_mirrored(Place.objects.get(pk=shop.pk), Shop.objects.get(pk=shop.pk))
