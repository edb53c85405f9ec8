"""Operating the mirror: backfill, check and repair, rebuild, status, dead letters, indexes."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import threading
import time

import psycopg
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection as pg_connection
from django.db import connections
from django.test import override_settings

import dualdb
from dualdb import connection
from dualdb.models import OutboxEntry, SyncCheckpoint
from dualdb.operations import backfill, check, rebuild, status
from dualdb.operations.consistency import _repair
from dualdb.operations.pipelined import mirror_batches
from dualdb.registries import registry
from tests.helpers import run_dualdb, stored
from tests.testapp.models import Author, Book, Publisher, Tag

pytestmark = pytest.mark.django_db(transaction=True)


def make_books(count: int, settings) -> list[int]:
    """Rows with nested relations, written without mirroring them (as on a database adopting dualdb)."""
    with override_settings(DUALDB={**settings.DUALDB, "MODE": "relay"}):
        publishers = Publisher.objects.bulk_create([Publisher(name=f"P{i}") for i in range(5)])
        authors = Author.objects.bulk_create([Author(name=f"A{i}", publisher=publishers[i % 5]) for i in range(50)])
        tags = Tag.objects.bulk_create([Tag(name=f"t{i}") for i in range(20)])
        books = Book.objects.bulk_create([Book(title=f"B{i}", author=authors[i % 50]) for i in range(count)],
                                         batch_size=2000)
        Book.tags.through.objects.bulk_create(
            [Book.tags.through(book_id=b.pk, tag_id=tags[(b.pk + k) % 20].pk) for b in books for k in range(2)],
            batch_size=5000)
    OutboxEntry.objects.all().delete()
    return [b.pk for b in books]


def test_sync_backfills_20k_rows_and_check_reports_no_drift(settings):
    pks = make_books(20_000, settings)
    assert dualdb.collection_for(Book).count_documents({}) == 0

    code, output = run_dualdb("sync", "testapp.Book", "--batch-size", "2000")

    assert code == 0 and "testapp.book: 20000 rows mirrored" in output
    assert dualdb.collection_for(Book).count_documents({}) == 20_000
    document = stored(Book, pks[123])
    assert len(document["tags"]) == 2 and document["author"]["publisher"]["name"].startswith("P")
    code, output = run_dualdb("check", "testapp.Book", "--full")
    assert code == 0, output
    assert "20000 checked, 0 missing, 0 orphan, 0 stale" in output
    assert not SyncCheckpoint.objects.exists()


def test_a_killed_sync_resumes_without_redoing_or_duplicating(settings):
    pks = make_books(3_000, settings)
    blocker = pks[1_200]
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings",
           "DUALDB_TEST_MONGO_DATABASE": connection.get_database().name,
           "DUALDB_TEST_POSTGRES_NAME": pg_connection.settings_dict["NAME"]}
    # Hold one document's advisory lock from another session, so the sync is killed while it
    # waits in PostgreSQL (kill -9 in the middle of a FerretDB write can wedge FerretDB v1).
    other = psycopg.connect(**{k: v for k, v in pg_connection.get_connection_params().items() if k != "cursor_factory"},
                            autocommit=True)
    other.execute("SELECT pg_advisory_lock(hashtextextended(%s, 0))", [f"testapp.book:{blocker}"])
    worker = subprocess.Popen([sys.executable, "-m", "django", "dualdb", "sync", "testapp.Book", "--batch-size", "100"],
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        # The batch from row 1,200 waits for the lock before its transaction writes the batch before it
        # (a batch is written while the next one is read): the checkpoint stops at 1,100 rows written.
        while time.monotonic() < deadline and not SyncCheckpoint.objects.filter(rows_done__gte=1_100).exists():
            time.sleep(0.05)
        time.sleep(0.5)  # now blocked on the lock
        worker.send_signal(signal.SIGKILL)
        worker.wait()
    finally:
        other.close()
    checkpoint = SyncCheckpoint.objects.get(model_label="testapp.book")
    assert checkpoint.rows_done == 1_100
    assert dualdb.collection_for(Book).count_documents({}) == 1_100

    report = backfill(Book, batch_size=500)

    assert report.resumed_after == checkpoint.last_pk
    assert report.rows == 3_000 - 1_100
    assert dualdb.collection_for(Book).count_documents({}) == 3_000
    assert check(Book).drift == 0


def test_a_save_between_a_batch_being_read_and_being_written_is_not_overwritten(settings):
    """``sync`` writes a batch while it reads the next one: a live write landing in between wins."""
    pks = make_books(4, settings)

    def batches():
        yield pks[:2]
        # The first batch is read and rendered, its write not sent yet: a live update commits and flushes now.
        Book.objects.filter(pk=pks[0]).update(title="edited live")
        assert stored(Book, pks[0])["title"] == "edited live"
        yield pks[2:]

    done = []
    mirror_batches(Book, batches(), "default", lambda batch, errors: done.append((batch, errors)))

    assert done == [(pks[:2], {}), (pks[2:], {})]
    assert stored(Book, pks[0])["title"] == "edited live"
    assert [stored(Book, pk)["title"] for pk in pks[1:]] == ["B1", "B2", "B3"]
    assert check(Book).drift == 0


def test_check_finds_each_kind_of_drift_and_repair_fixes_it(settings):
    make_books(30, settings)
    backfill(Book)
    books = dualdb.collection_for(Book)
    corrupted, deleted = list(Book.objects.order_by("pk").values_list("pk", flat=True)[:2])
    books.update_one({"_id": corrupted}, {"$set": {"title": "corrupted"}})
    books.delete_one({"_id": deleted})
    books.insert_one({"_id": 10**9, "_v": 1, "title": "orphan"})

    code, output = run_dualdb("check", "testapp.Book")
    assert code == 1
    assert "30 checked, 1 missing, 1 orphan, 1 stale" in output and str(10**9) in output

    code, output = run_dualdb("check", "testapp.Book", "--repair")
    assert "repaired 3" in output
    assert stored(Book, corrupted)["title"] == Book.objects.get(pk=corrupted).title
    assert stored(Book, deleted) is not None and stored(Book, 10**9) is None
    assert run_dualdb("check", "testapp.Book")[0] == 0


def test_repair_leaves_a_document_that_live_traffic_rewrote(settings):
    make_books(5, settings)
    backfill(Book)
    pk = Book.objects.order_by("pk").values_list("pk", flat=True).first()
    dualdb.collection_for(Book).update_one({"_id": pk}, {"$set": {"title": "drifted"}})
    report = check(Book)
    assert report.stale == [pk]

    Book.objects.filter(pk=pk).update(title="written live")  # flushes a newer _v meanwhile
    _repair(Book, report, 100, "default")

    assert report.skipped == 1 and report.repaired == 0
    assert stored(Book, pk)["title"] == "written live"


def test_sample_check(settings):
    make_books(50, settings)
    backfill(Book)
    report = check(Book, sample=10)
    assert report.checked == 10 and report.drift == 0


def test_rebuild_switches_to_the_new_shape_and_readers_never_see_fewer(settings, monkeypatch):
    make_books(600, settings)
    backfill(Book)
    before = Book.objects.mongo().count()
    seen, stop = [], threading.Event()

    def poll() -> None:
        try:
            while not stop.is_set():
                seen.append(Book.objects.mongo().count())
        finally:
            connections.close_all()

    reader = threading.Thread(target=poll)
    monkeypatch.setattr(Book.Mirror, "embed", ["author", "tags"])
    registry.reset()
    try:
        reader.start()
        with override_settings(DUALDB={**settings.DUALDB, "ALIAS_CACHE_SECONDS": 0.2}):
            report = rebuild(Book, batch_size=200)
        stop.set()
        reader.join()
        document = stored(Book, Book.objects.order_by("pk").first().pk)
        assert "reviews" not in document and "editor" not in document and "tags" in document
        assert report.rows == 600 and report.new_collection.startswith("books__r")
        assert report.old_collection not in connection.get_database().list_collection_names()
        assert seen and min(seen) >= before
        assert check(Book).drift == 0
    finally:
        monkeypatch.undo()
        registry.reset()


def test_rebuild_queues_a_document_it_cannot_write_and_copies_the_rest(settings):
    from tests.testapp.models import Specimen

    good = Specimen.objects.create(payload={"fine": True})
    with override_settings(DUALDB={**settings.DUALDB, "MODE": "relay"}):
        bad = Specimen.objects.create(payload={"$where": "sleep(1)"})
    OutboxEntry.objects.all().delete()  # as if the row predates dualdb: nothing queued it yet

    with override_settings(DUALDB={**settings.DUALDB, "ALIAS_CACHE_SECONDS": 0.2}):
        report = rebuild(Specimen)

    assert report.rows == 2 and report.failed == 1
    assert stored(Specimen, good.pk) is not None and stored(Specimen, bad.pk) is None
    entry = OutboxEntry.objects.get()
    assert (entry.kind, entry.object_pk, entry.state) == ("sync", str(bad.pk), "pending")
    assert "testapp.Specimen.payload" in entry.last_error and "'$where'" in entry.last_error


def test_status_follows_an_outage(mongo_through_proxy):
    Tag.objects.create(name="ok")
    assert status(Tag).pending == 0

    mongo_through_proxy.cut()
    for i in range(3):
        Tag.objects.create(name=f"during outage {i}")
    during = status(Tag)
    assert during.pending >= 3 and during.oldest_pending_seconds is not None
    assert during.mongo_documents is None and during.postgres_rows == 4

    mongo_through_proxy.start()
    run_dualdb("relay", "--once")
    after = status(Tag)
    assert after.pending == 0 and after.mongo_documents == 4 and after.oldest_pending_seconds is None
    code, output = run_dualdb("status", "testapp.Tag", "--json")
    assert '"pending": 0' in output


def test_retry_dead_requeues(settings):
    with override_settings(DUALDB={**settings.DUALDB, "MAX_ATTEMPTS": 1}):
        from tests.testapp.models import Specimen

        Specimen.objects.create(payload={"$bad": 1})
    assert status(Specimen).dead == 1 and "payload" in status(Specimen).last_error
    assert run_dualdb("retry-dead")[1].startswith("1 dead-lettered")
    assert OutboxEntry.objects.filter(state="pending", attempts=0).count() == 1


def test_indexes_are_created_idempotently():
    first = run_dualdb("indexes", "testapp.Book")[1]
    second = run_dualdb("indexes", "testapp.Book")[1]
    assert first == second and "tags._id_1" in first and "author.publisher._id_1" in first


def test_bad_arguments_are_command_errors():
    for args in (["sync", "nope"], ["sync", "testapp.Nope"], ["sync", "auth.User"], ["check", "--batch-size", "0"],
                 ["sync", "testapp.Book", "--since", "yesterday"]):
        with pytest.raises(CommandError):
            call_command("dualdb", *args, stdout=io.StringIO(), stderr=io.StringIO())


@pytest.mark.django_db(transaction=False)
def test_help_needs_no_server():
    env = {**os.environ, "DUALDB_DATABASE_URL": "postgres://nobody@127.0.0.1:1/none",
           "DUALDB_MONGO_URL": "mongodb://127.0.0.1:1/none"}
    result = subprocess.run([sys.executable, "-m", "django", "dualdb", "sync", "--help"], env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and "--batch-size" in result.stdout
