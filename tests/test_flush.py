"""Flush, relay and versioning: nothing lost, nothing phantom, nothing stale wins."""

from __future__ import annotations

import datetime
import decimal
import os
import signal
import subprocess
import sys
import threading
import time
import uuid

import pytest
from django.core.management import call_command
from django.db import connection as pg_connection
from django.db import connections
from django.test import override_settings

import dualdb
from dualdb import connection
from dualdb.models import OutboxEntry
from dualdb.versioned import VersionedWrite, write_versioned
from querying.codecs import from_bson
from tests.helpers import assert_mirrored, stored, version
from tests.testapp.models import Author, Book, Review, Specimen, Tag

pytestmark = pytest.mark.django_db(transaction=True)


def drain() -> None:
    call_command("dualdb", "relay", "--once", verbosity=0)


def test_every_field_type_round_trips():
    moment = datetime.datetime(2024, 2, 29, 23, 59, 58, 123456, tzinfo=datetime.timezone.utc)
    specimen = Specimen.objects.create(
        amount=decimal.Decimal("12345678.1234"), ratio=-0.5, flag=True, day=datetime.date(1999, 12, 31),
        moment=moment, clock=datetime.time(7, 5, 3, 250), span=datetime.timedelta(days=2, microseconds=7),
        token=uuid.UUID("12345678-1234-5678-1234-567812345678"), payload={"a": [1, {"b": None}], "ü": "ß"},
        attachment="specimens/x.pdf", blob=b"\x00\x01", label="ünïcödé ✓")

    document = stored(Specimen, specimen.pk)
    assert document["amount"] == 12345678.1234
    assert document["day"] == datetime.datetime(1999, 12, 31, tzinfo=datetime.timezone.utc)
    assert document["moment"] == datetime.datetime(2024, 2, 29, 23, 59, 58, 123000, tzinfo=datetime.timezone.utc)
    assert document["_us"] == {"moment": 456}
    assert document["clock"] == "07:05:03.000250"
    assert document["span"] == 2 * 86_400_000_000 + 7
    assert document["token"] == uuid.UUID("12345678-1234-5678-1234-567812345678")
    assert document["payload"] == {"a": [1, {"b": None}], "ü": "ß"}
    assert document["attachment"] == "specimens/x.pdf"
    assert document["label"] == "ünïcödé ✓"

    fresh = Specimen.objects.get(pk=specimen.pk)
    for field in Specimen._meta.concrete_fields:
        if field.primary_key:
            continue
        value = from_bson(field, document[field.attname])
        if field.name == "moment":
            from querying.codecs import datetime_from_bson

            value = datetime_from_bson(field, document["moment"], document["_us"]["moment"])
        orm = getattr(fresh, field.attname)
        orm = bytes(orm) if isinstance(orm, memoryview) else getattr(orm, "name", orm)
        assert value == orm, field.name


def test_versions_applied_out_of_order_keep_the_newest(mongo_db):
    collection = mongo_db["versions"]
    write_versioned(collection, [VersionedWrite(1, 3, {"_id": 1, "state": "v3"})])
    outcome = write_versioned(collection, [VersionedWrite(1, 2, {"_id": 1, "state": "v2"})])
    assert outcome.superseded == {1}
    write_versioned(collection, [VersionedWrite(1, 3, {"_id": 1, "state": "v3 again"})])
    assert collection.find_one({"_id": 1}) == {"_id": 1, "state": "v3", "_v": 3}

    write_versioned(collection, [VersionedWrite(1, 5, None)])
    write_versioned(collection, [VersionedWrite(1, 4, {"_id": 1, "state": "late"})])  # stale, after the delete
    assert collection.find_one({"_id": 1})["_deleted"] is True
    write_versioned(collection, [VersionedWrite(1, 6, {"_id": 1, "state": "re-created"})])
    assert collection.find_one({"_id": 1}) == {"_id": 1, "state": "re-created", "_v": 6}


def test_a_wrong_guess_about_new_documents_still_keeps_the_newest(mongo_db):
    collection = mongo_db["guesses"]
    write_versioned(collection, [VersionedWrite(1, 5, {"_id": 1, "state": "v5"})])
    # Said to be new but stored: the insert fails, the version read decides.
    write_versioned(collection, [VersionedWrite(1, 7, {"_id": 1, "state": "v7"}, new=True),
                                 VersionedWrite(2, 1, {"_id": 2, "state": "fresh"}, new=True)])
    # Said to be stored but missing: the replace matches nothing, the document is inserted.
    write_versioned(collection, [VersionedWrite(3, 2, {"_id": 3, "state": "missing"})])
    # Stale, either way.
    stale = write_versioned(collection, [VersionedWrite(1, 6, {"_id": 1, "state": "v6"}),
                                         VersionedWrite(2, 1, {"_id": 2, "state": "again"}, new=True)])
    assert stale.superseded == {1, 2}
    assert sorted(collection.find(), key=lambda d: d["_id"]) == [
        {"_id": 1, "state": "v7", "_v": 7}, {"_id": 2, "state": "fresh", "_v": 1}, {"_id": 3, "state": "missing", "_v": 2}]


def test_creating_and_updating_read_no_versions_first(recorder):
    author = Author.objects.create(name="New")  # created: inserted
    book = Book.objects.create(title="New", author=author)
    book.title = "Updated"  # stored: replaced where older
    book.save()
    author.name = "Renamed"
    author.save()

    version_reads = [f for f in recorder.filters if set(f or {}) == {"_id"} and "$in" in f["_id"]]
    assert version_reads == []
    assert_mirrored(author, book)
    assert stored(Book, book.pk)["author"]["name"] == "Renamed"


def test_outage_writes_succeed_rows_wait_and_the_relay_converges(mongo_through_proxy):
    tag = Tag.objects.create(name="before")
    assert stored(Tag, tag.pk)["name"] == "before"

    mongo_through_proxy.cut()
    started = time.monotonic()
    author = Author.objects.create(name="Written during the outage")
    books = [Book.objects.create(title=f"Outage {i}", author=author) for i in range(3)]
    tag.name = "renamed during the outage"
    tag.save()
    books[0].tags.add(tag)
    elapsed = time.monotonic() - started

    assert elapsed < 10, "each write waits at most the 300 ms server-selection timeout"
    assert OutboxEntry.objects.filter(state="pending").count() >= 6
    assert OutboxEntry.objects.filter(attempts__gte=1).exists()
    assert not OutboxEntry.objects.filter(state="dead").exists(), "an outage never dead-letters"

    mongo_through_proxy.start()
    drain()

    assert OutboxEntry.objects.count() == 0
    assert_mirrored(tag, author, *books)
    assert stored(Tag, tag.pk)["books"][0]["title"] == "Outage 0"


def test_relay_mode_leaves_everything_to_the_relay(settings):
    with override_settings(DUALDB={**settings.DUALDB, "MODE": "relay"}):
        tag = Tag.objects.create(name="queued")
        assert stored(Tag, tag.pk) is None
        assert OutboxEntry.objects.filter(kind="sync", object_pk=str(tag.pk)).count() == 1
        drain()
    assert stored(Tag, tag.pk)["name"] == "queued"


def test_a_large_fan_out_is_left_to_the_relay(settings):
    author = Author.objects.create(name="Prolific")
    books = Book.objects.bulk_create([Book(title=f"B{i}", author=author) for i in range(4)])
    with override_settings(DUALDB={**settings.DUALDB, "REALTIME_FANOUT_LIMIT": 2}):
        author.name = "Renamed"
        author.save()
        assert {stored(Book, b.pk)["author"]["name"] for b in books} == {"Prolific"}
        assert OutboxEntry.objects.filter(kind="sync", model_label="testapp.book").count() == 4
        drain()
    assert {stored(Book, b.pk)["author"]["name"] for b in books} == {"Renamed"}


def test_an_unmirrorable_value_dead_letters_without_blocking_others(settings):
    with override_settings(DUALDB={**settings.DUALDB, "MAX_ATTEMPTS": 2}):
        bad = Specimen.objects.create(payload={"$where": "sleep(1)"})
        good = Specimen.objects.create(payload={"fine": True})
        entry = OutboxEntry.objects.get(model_label="testapp.specimen", object_pk=str(bad.pk))
        assert entry.attempts == 1 and entry.state == "pending"
        assert "testapp.Specimen.payload" in entry.last_error and "'$where'" in entry.last_error
        drain()
    entry.refresh_from_db()
    assert entry.state == "dead" and entry.attempts == 2
    assert stored(Specimen, bad.pk) is None
    assert stored(Specimen, good.pk)["payload"] == {"fine": True}


def test_a_document_over_16_mb_dead_letters_without_blocking_others(settings):
    book = Book.objects.create(title="Huge", author=Author.objects.create(name="A"))
    with override_settings(DUALDB={**settings.DUALDB, "MAX_ATTEMPTS": 1}):
        Review.objects.create(book=book, rating=1, text="x" * (17 * 1024 * 1024))
        small = Tag.objects.create(name="small")
    assert stored(Tag, small.pk)["name"] == "small"
    dead = OutboxEntry.objects.filter(state="dead")
    assert dead.exists() and all("over MongoDB's" in e.last_error for e in dead)


def test_a_batch_looks_up_each_embedding_once_not_once_per_row(settings, recorder):
    authors = [Author.objects.create(name=f"A{i}") for i in range(2)]
    with override_settings(DUALDB={**settings.DUALDB, "MODE": "relay"}):
        books = [Book.objects.create(title=f"B{i}", author=authors[i % 2]) for i in range(6)]
        books[0].author = authors[1]  # moved: the old author's document must drop it
        books[0].save()
        sent = len(recorder.filters)
        drain()
    lookups = [f for f in recorder.filters[sent:] if "books._id" in (f or {})]
    assert len(lookups) == 3, lookups  # authors, tags and shelves embed books: one $in each
    assert all(set(f["books._id"]["$in"]) == {b.pk for b in books} for f in lookups)
    assert OutboxEntry.objects.count() == 0
    assert_mirrored(*authors, *books)
    assert books[0].pk not in [b["_id"] for b in stored(Author, authors[0].pk)["books"]]


def test_a_failing_document_keeps_only_the_rows_that_asked_for_it(settings):
    huge_book = Book.objects.create(title="Huge", author=Author.objects.create(name="A"))
    fine_book = Book.objects.create(title="Fine", author=huge_book.author)
    with override_settings(DUALDB={**settings.DUALDB, "MODE": "relay", "MAX_ATTEMPTS": 5}):
        huge = Review.objects.create(book=huge_book, rating=1, text="x" * (17 * 1024 * 1024))
        fine = Review.objects.create(book=fine_book, rating=5, text="ok")
        drain()
    left = OutboxEntry.objects.all()
    assert {(e.model_label, e.object_pk) for e in left} == {("testapp.review", str(huge.pk))}, list(left)
    assert all(e.state == "pending" and "over MongoDB's" in e.last_error for e in left)
    assert [r["_id"] for r in stored(Book, fine_book.pk)["reviews"]] == [fine.pk]


def test_sync_repairs_a_raw_sql_change():
    tag = Tag.objects.create(name="orm")
    with pg_connection.cursor() as cursor:
        cursor.execute("UPDATE testapp_tag SET name = 'raw' WHERE id = %s", [tag.pk])
    assert stored(Tag, tag.pk)["name"] == "orm"

    report = dualdb.sync(Tag, [tag.pk])

    assert report.documents >= 1
    assert stored(Tag, tag.pk)["name"] == "raw"


def test_concurrent_book_and_author_updates_converge():
    author = Author.objects.create(name="a0")
    book = Book.objects.create(title="t0", author=author)
    errors = []

    def loop(update):
        try:
            for i in range(25):
                update(i)
        except Exception as exc:  # surfaced below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [
        threading.Thread(target=loop, args=(lambda i: Book.objects.filter(pk=book.pk).update(title=f"t{i}"),)),
        threading.Thread(target=loop, args=(lambda i: Author.objects.filter(pk=author.pk).update(name=f"a{i}"),)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    drain()
    assert_mirrored(book, author)
    assert stored(Book, book.pk)["author"]["name"] == "a24"
    assert stored(Book, book.pk)["title"] == "t24"


def test_the_relay_process_drains_and_stops_on_sigterm():
    tag = Tag.objects.create(name="x")
    OutboxEntry.objects.create(model_label="testapp.tag", object_pk=str(tag.pk))
    before = version(Tag, tag.pk)
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings",
           "DUALDB_TEST_MONGO_DATABASE": connection.get_database().name,
           "DUALDB_TEST_POSTGRES_NAME": pg_connection.settings_dict["NAME"]}
    relay = subprocess.Popen([sys.executable, "-m", "django", "dualdb", "relay"], env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while OutboxEntry.objects.exists() and time.monotonic() < deadline and relay.poll() is None:
            time.sleep(0.1)
        relay.send_signal(signal.SIGTERM)
        out, err = relay.communicate(timeout=30)
        assert not OutboxEntry.objects.exists(), err
    finally:
        if relay.poll() is None:
            relay.kill()
    assert relay.returncode == 0, err
    assert "1 outbox rows" in out
    assert version(Tag, tag.pk) > before
