"""The admin, through its real URLs: every write it makes is mirrored, and it shows where each row stands."""

from __future__ import annotations

import datetime
import decimal
import re

import pytest
from django.db import connection as pg_connection
from django.forms.models import inlineformset_factory
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from pymongo import monitoring

import dualdb
from dualdb.admin import record_through_inline
from dualdb.models import OutboxEntry
from dualdb.relay import run_relay
from tests.helpers import admin_form_data, assert_mirrored, stored
from tests.testapp.models import Author, Book, Tag

pytestmark = pytest.mark.django_db(transaction=True)

BOOKS = "/admin/testapp/book/"


@pytest.fixture
def library():
    author = Author.objects.create(name="Ursula K. Le Guin")
    sf, classic, utopia = (Tag.objects.create(name=name) for name in ("sf", "classic", "utopia"))
    return {"author": author, "sf": sf, "classic": classic, "utopia": utopia}


def tags_prefix(response) -> str:
    [prefix] = [inline.formset.prefix for inline in response.context["inline_admin_formsets"]
                if inline.formset.model is Book.tags.through]
    return prefix


def statuses(response) -> dict[int, str]:
    """The "mirror status" column of a changelist page, by primary key."""
    html = response.content.decode()
    rows = re.findall(r'name="_selected_action" value="(\d+)".*?<td class="field-mirror_status">([^<]*)</td>', html, re.S)
    return {int(pk): status for pk, status in rows}


def tag_names(book_pk: int) -> list[str]:
    return [tag["name"] for tag in stored(Book, book_pk)["tags"]]


def test_add_change_and_delete_a_book_with_its_tags_inline(admin_client, library):
    author, sf, classic, utopia = library["author"], library["sf"], library["classic"], library["utopia"]

    page = admin_client.get(f"{BOOKS}add/")
    prefix = tags_prefix(page)
    data = admin_form_data(page)
    data.update({"title": "The Dispossessed", "author": author.pk, "price": "12.50", "published": "1974-05-01",
                 f"{prefix}-TOTAL_FORMS": 2, f"{prefix}-0-tag": sf.pk, f"{prefix}-1-tag": classic.pk})
    response = admin_client.post(f"{BOOKS}add/", data)
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else response

    book = Book.objects.get(title="The Dispossessed")
    assert_mirrored(book, author, sf, classic)
    assert stored(Book, book.pk)["price"] == 12.5
    assert tag_names(book.pk) == ["sf", "classic"]
    assert [b["title"] for b in stored(Tag, sf.pk)["books"]] == ["The Dispossessed"]

    # Change: the title, one link re-pointed (sf -> utopia), one removed (classic).
    page = admin_client.get(f"{BOOKS}{book.pk}/change/")
    data = admin_form_data(page)
    rows = {data[f"{prefix}-{i}-tag"]: i for i in range(2)}
    data.update({"title": "The Dispossessed: An Ambiguous Utopia",
                 f"{prefix}-{rows[sf.pk]}-tag": utopia.pk, f"{prefix}-{rows[classic.pk]}-DELETE": "on"})
    response = admin_client.post(f"{BOOKS}{book.pk}/change/", data)
    assert response.status_code == 302

    book.refresh_from_db()
    assert list(book.tags.values_list("name", flat=True)) == ["utopia"]
    assert_mirrored(book, author, sf, classic, utopia)
    assert tag_names(book.pk) == ["utopia"]
    assert stored(Tag, sf.pk)["books"] == [] and stored(Tag, classic.pk)["books"] == []
    assert [b["title"] for b in stored(Tag, utopia.pk)["books"]] == ["The Dispossessed: An Ambiguous Utopia"]

    # Delete.
    response = admin_client.post(f"{BOOKS}{book.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert stored(Book, book.pk) is None
    assert stored(Tag, utopia.pk)["books"] == [] and stored(Author, author.pk)["books"] == []
    assert not OutboxEntry.objects.exists()


def test_bulk_delete_from_the_changelist(admin_client, library):
    author = library["author"]
    books = [Book.objects.create(title=f"Book {i}", author=author) for i in range(3)]
    books[0].tags.add(library["sf"])

    response = admin_client.post(BOOKS, {"action": "delete_selected", "post": "yes", "index": 0,
                                         "_selected_action": [books[0].pk, books[1].pk]})
    assert response.status_code == 302

    assert stored(Book, books[0].pk) is None and stored(Book, books[1].pk) is None
    assert_mirrored(books[2])
    assert [b["_id"] for b in stored(Author, author.pk)["books"]] == [books[2].pk]
    assert stored(Tag, library["sf"].pk)["books"] == []


def test_the_status_column_tells_in_sync_from_missing(admin_client, library):
    books = [Book.objects.create(title=f"Book {i}", author=library["author"]) for i in range(3)]
    assert statuses(admin_client.get(BOOKS)) == {book.pk: "in sync" for book in books}

    collection = dualdb.collection_for(Book)
    collection.delete_one({"_id": books[0].pk})  # behind dualdb's back
    collection.update_one({"_id": books[1].pk}, {"$set": {"_deleted": True}})  # a tombstone is no document

    assert statuses(admin_client.get(BOOKS)) == {books[0].pk: "missing", books[1].pk: "missing",
                                                 books[2].pk: "in sync"}


def test_the_status_column_and_filter_show_queued_and_dead_rows(admin_client, library, settings):
    synced = Book.objects.create(title="Synced", author=library["author"])
    with override_settings(DUALDB={**settings.DUALDB, "MODE": "relay"}):
        queued = Book.objects.create(title="Queued", author=library["author"])
    dead = Book.objects.create(title="Given up", author=library["author"])
    OutboxEntry.objects.create(model_label="testapp.book", object_pk=str(dead.pk), state="dead", attempts=8)

    assert statuses(admin_client.get(BOOKS)) == {synced.pk: "in sync", queued.pk: "pending", dead.pk: "failed"}
    assert statuses(admin_client.get(BOOKS, {"mirror": "pending"})) == {queued.pk: "pending"}
    assert statuses(admin_client.get(BOOKS, {"mirror": "failed"})) == {dead.pk: "failed"}

    run_relay(once=True)
    assert statuses(admin_client.get(BOOKS))[queued.pk] == "in sync"


def test_a_page_costs_one_outbox_query_and_one_mongodb_find(admin_client, library, settings):
    for i in range(5):
        Book.objects.create(title=f"Book {i}", author=library["author"])
    finds = FindCounter()
    with override_settings(DUALDB={**settings.DUALDB, "MONGO_CLIENT_OPTIONS": {"event_listeners": [finds]}}):
        with CaptureQueriesContext(pg_connection) as queries:
            response = admin_client.get(BOOKS)

    assert set(statuses(response).values()) == {"in sync"} and len(statuses(response)) == 5
    assert len([q for q in queries.captured_queries if "dualdb_outbox" in q["sql"]]) == 1
    assert finds.collections.count("books") == 1


def test_the_page_renders_when_mongodb_is_unreachable(admin_client, library, settings, caplog):
    book = Book.objects.create(title="Offline", author=library["author"])
    with override_settings(DUALDB={**settings.DUALDB, "MONGO_URL": "mongodb://127.0.0.1:1/x",
                                   "SERVER_SELECTION_TIMEOUT_MS": 200}):
        response = admin_client.get(BOOKS)

    assert response.status_code == 200
    assert statuses(response) == {book.pk: "unknown"}
    assert any("mirror status of 1 testapp.Book rows unknown" in r.getMessage() for r in caplog.records)


def test_the_remirror_action_repairs_a_document_deleted_behind_dualdbs_back(admin_client, library):
    books = [Book.objects.create(title=f"Book {i}", author=library["author"], price=decimal.Decimal("1.50"),
                                 published=datetime.date(2000, 1, i + 1)) for i in range(2)]
    dualdb.collection_for(Book).delete_many({})
    assert stored(Book, books[0].pk) is None

    response = admin_client.post(BOOKS, {"action": "remirror_selected", "index": 0,
                                         "_selected_action": [book.pk for book in books]}, follow=True)

    assert_mirrored(*books)
    assert statuses(response) == {book.pk: "in sync" for book in books}
    [message] = [str(m) for m in response.context["messages"]]
    assert message.startswith("Re-mirrored 2 books:")


def test_the_remirror_action_says_so_when_mongodb_is_unreachable(admin_client, library, settings):
    book = Book.objects.create(title="Offline", author=library["author"])
    with override_settings(DUALDB={**settings.DUALDB, "MONGO_URL": "mongodb://127.0.0.1:1/x",
                                   "SERVER_SELECTION_TIMEOUT_MS": 200}):
        response = admin_client.post(BOOKS, {"action": "remirror_selected", "index": 0,
                                             "_selected_action": [book.pk]}, follow=True)

    [message] = list(response.context["messages"])
    assert message.level_tag == "warning"
    assert str(message).startswith("Re-mirrored 1 book: 0 documents written,") and "stay queued" in str(message)
    assert OutboxEntry.objects.filter(kind="sync", object_pk=str(book.pk), state="pending").exists()


def test_an_inline_of_an_auto_created_through_model_is_recorded_even_if_the_parent_is_not_saved(library):
    """Django sends no signal for auto-created through rows; the admin's own save of the parent hides that."""
    book = Book.objects.create(title="Links only", author=library["author"])
    TagLinks = inlineformset_factory(Book, Book.tags.through, fields=["tag"], extra=1)
    prefix = TagLinks.get_default_prefix()
    formset = TagLinks({f"{prefix}-TOTAL_FORMS": "1", f"{prefix}-INITIAL_FORMS": "0",
                        f"{prefix}-0-tag": str(library["sf"].pk)}, instance=book)
    assert formset.is_valid(), formset.errors

    from django.db import transaction

    with transaction.atomic():
        formset.save()
        record_through_inline(formset)

    assert tag_names(book.pk) == ["sf"]
    assert [b["title"] for b in stored(Tag, library["sf"].pk)["books"]] == ["Links only"]


class FindCounter(monitoring.CommandListener):
    """Which collections ``find`` commands went to (pymongo's own command monitoring)."""

    def __init__(self) -> None:
        self.collections: list[str] = []

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        if event.command_name == "find":
            self.collections.append(event.command["find"])

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass
