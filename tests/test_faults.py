"""Faults against real processes: a writer killed after commit, a server hung or crashed,
an acknowledgement lost, a relay killed or cut off from PostgreSQL.

Each test ends the same way: the relay runs, and every document equals its
PostgreSQL row, with none missing and none left over (:func:`assert_converged`).
"""

from __future__ import annotations

import signal
import subprocess
import time

import psycopg
import pytest
from django.db import connection as pg_connection
from django.db import connections, transaction
from django.db.models import Value
from django.db.models.functions import Concat
from django.test import override_settings

import dualdb
from dualdb.models import OutboxEntry
from dualdb.relay import run_relay
from tests.helpers import run_dualdb, stored
from tests.invariants import assert_converged, drain, wait_until
from tests.processes import child_env, django_command, worker
from tests.testapp.models import Author, Book, Tag

pytestmark = pytest.mark.django_db(transaction=True)


def _session() -> psycopg.Connection:
    """A second PostgreSQL session of the test's own (to hold locks, to terminate backends)."""
    params = {k: v for k, v in pg_connection.get_connection_params().items() if k != "cursor_factory"}
    return psycopg.connect(**params, autocommit=True)


def _hold_document_lock(session: psycopg.Connection, model: type, pk: int) -> None:
    """Take the advisory lock dualdb takes per document: a relay that claims it waits mid-batch."""
    session.execute("SELECT pg_advisory_lock(hashtextextended(%s, 0))", [f"{model._meta.label_lower}:{pk}"])


def _backends_waiting_on_a_document_lock(session: psycopg.Connection) -> list[int]:
    return [pid for (pid,) in session.execute(
        "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' "
        "AND query LIKE '%pg_advisory_xact_lock%'")]


def _stop(process: subprocess.Popen) -> str:
    """SIGTERM a relay and return its stderr; it must exit cleanly."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=60)
    return err or ""


# 2. The process dies between commit and flush ---------------------------------------------


def test_a_writer_killed_between_commit_and_flush_leaves_the_row_for_the_relay():
    writer = worker("commit-then-die", "committed, then killed", env=child_env())
    assert writer.wait(timeout=60) == -signal.SIGKILL

    tag = Tag.objects.get(name="committed, then killed")
    assert stored(Tag, tag.pk) is None, "the kill came before the on-commit flush"
    assert OutboxEntry.objects.filter(model_label="testapp.tag", object_pk=str(tag.pk)).exists()

    drain()
    assert stored(Tag, tag.pk)["name"] == "committed, then killed"
    assert_converged()


def test_a_crashing_flush_never_fails_the_write_and_the_relay_repairs(monkeypatch, caplog):
    def crash(*args, **kwargs):
        raise RuntimeError("flush crashed")

    monkeypatch.setattr("dualdb.flush.flush", crash)
    author = Author.objects.create(name="Crash")
    book = Book.objects.create(title="Still committed", author=author)
    monkeypatch.undo()

    assert stored(Book, book.pk) is None
    assert "left for the relay" in caplog.text
    drain()
    assert stored(Book, book.pk)["author"]["name"] == "Crash"
    assert_converged()


# 3. The server is hung (SIGSTOP) or crashes (SIGKILL) under a stream of writes -------------


def _write(i: int, tags: list[Tag], author: Author) -> float:
    """One commit of the stream (a tag rename, a new book, a link); how long until it returned."""
    started = time.monotonic()
    with transaction.atomic():
        tag = tags[i % len(tags)]
        tag.name = f"tag {i}"
        tag.save()
        Book.objects.create(title=f"stream {i}", author=author).tags.add(tag)
    return time.monotonic() - started


@pytest.mark.parametrize("fault", ["hang", "crash"])
def test_writes_outlive_a_hung_or_crashed_server_and_the_relay_converges(private_mongo, settings, fault):
    author = Author.objects.create(name="Streamer")
    tags = [Tag.objects.create(name=f"tag {i}") for i in range(3)]
    durations = [_write(i, tags, author) for i in range(5)]

    private_mongo.pause() if fault == "hang" else private_mongo.kill()
    during = [_write(i, tags, author) for i in range(5, 15)]
    # A read during the outage comes from PostgreSQL, with the ORM's answer.
    def latest(manager):
        return [book.title for book in manager.filter(title__startswith="stream").order_by("-pk")[:5]]

    assert latest(Book.objects.mongo()) == latest(Book.objects) == [f"stream {i}" for i in range(14, 9, -1)]

    private_mongo.resume() if fault == "hang" else private_mongo.start()
    durations += [_write(i, tags, author) for i in range(15, 20)]

    # The on-commit flush gives up after REALTIME_TIMEOUT_MS, whatever the server does.
    bound = (settings.DUALDB["REALTIME_TIMEOUT_MS"] + settings.DUALDB["SERVER_SELECTION_TIMEOUT_MS"]) / 1000 + 0.5
    assert max(during) < bound, f"writes during the outage took {[round(d, 2) for d in during]}s"
    assert not OutboxEntry.objects.filter(state="dead").exists(), "an outage never dead-letters"
    drain()
    code, output = run_dualdb("check", "--full")
    assert code == 0 and "0 missing, 0 orphan, 0 stale" in output, output
    assert_converged()


# 4. The acknowledgement is lost after the server applied the write -------------------------


@pytest.mark.parametrize("command", ["insert", "update"])
def test_a_lost_acknowledgement_is_retried_harmlessly(mongo_through_proxy, command):
    tag = Tag.objects.create(name="acknowledged")
    mongo_through_proxy.drop_reply_to(command)
    if command == "insert":
        tag = Tag.objects.create(name="applied, never acknowledged")
    else:
        tag.name = "applied, never acknowledged"
        tag.save()

    assert mongo_through_proxy.dropped == [command]
    assert OutboxEntry.objects.filter(object_pk=str(tag.pk)).exists(), "unacknowledged: still queued"
    document = dualdb.collection_for(Tag).find_one({"_id": tag.pk})
    assert document["name"] == "applied, never acknowledged", "the server did apply it"

    drain()
    assert dualdb.collection_for(Tag).count_documents({"_id": tag.pk}) == 1
    assert stored(Tag, tag.pk) == dualdb.render(tag)
    assert_converged()


def test_a_batch_acknowledged_too_late_waits_instead_of_blaming_its_documents(mongo_through_proxy, settings):
    slow = {**settings.DUALDB, "MODE": "relay", "SOCKET_TIMEOUT_MS": 1500, "RETRY_BACKOFF_SECONDS": 0.05}
    with override_settings(DUALDB=slow):
        pks = [tag.pk for tag in Tag.objects.bulk_create(Tag(name=f"slow {i}") for i in range(4))]
        drain()
        Tag.objects.filter(pk__in=pks).update(name=Concat("name", Value(" renamed")))
        mongo_through_proxy.drop_reply_to("update", withhold=True)  # four replaces in one command, acknowledged never
        run_relay(once=True)

        assert mongo_through_proxy.dropped == ["update"]
        rows = list(OutboxEntry.objects.all())
        assert len(rows) == 8, "a timeout is an outage: the whole batch (sync and content rows) waits"
        assert all(row.state == "pending" and "did not answer in time" in row.last_error for row in rows), rows
        drain()
    assert sorted(stored(Tag, pk)["name"] for pk in pks) == [f"slow {i} renamed" for i in range(4)]
    assert_converged()


# 6. Four relays and the on-commit path; one relay SIGKILLed mid-batch ---------------------


def test_four_relays_and_live_writers_converge_after_one_relay_is_killed_mid_batch(private_mongo, settings):
    with override_settings(DUALDB={**settings.DUALDB, "MODE": "relay"}):
        Tag.objects.bulk_create(Tag(name=f"row {i}") for i in range(1000))
    pks = sorted(Tag.objects.values_list("pk", flat=True))
    env = child_env(BATCH_SIZE=50, RELAY_POLL_SECONDS=0.1)

    session = _session()
    _hold_document_lock(session, Tag, pks[0])
    victim = django_command("dualdb", "relay", env=env, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    others: list[subprocess.Popen] = []
    try:
        # The first relay claims the oldest batch and waits, mid-batch, on the held lock.
        wait_until(lambda: _backends_waiting_on_a_document_lock(session), 60, "the relay never reached the lock")
        others = [django_command("dualdb", "relay", env=env, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                 text=True) for _ in range(3)]
        # Live writers on the on-commit path, racing the relays on the same rows (the stuck
        # relay's 50 rows apart: a writer would wait REALTIME_TIMEOUT_MS for each, then leave it queued).
        for round_ in range(3):
            for pk in pks[100::7]:
                Tag.objects.filter(pk=pk).update(name=f"row {pk} round {round_}")
        victim.send_signal(signal.SIGKILL)
        victim.wait(timeout=30)
        session.close()  # the lock goes; the victim's claimed rows were released by its dead transaction

        wait_until(lambda: not OutboxEntry.objects.exists(), 240, "the surviving relays did not drain the outbox")
        errors = [_stop(relay) for relay in others]
    finally:
        for relay in [victim, *others]:
            if relay.poll() is None:
                relay.kill()
        if not session.closed:
            session.close()
    assert all(relay.returncode == 0 for relay in others), errors
    assert_converged()
    assert stored(Tag, pks[100])["name"] == f"row {pks[100]} round 2"


# 7. A relay's PostgreSQL connection is terminated mid-batch --------------------------------


def test_a_relay_whose_postgres_backend_is_terminated_reconnects_and_continues(settings):
    with override_settings(DUALDB={**settings.DUALDB, "MODE": "relay"}):
        tags = Tag.objects.bulk_create(Tag(name=f"t{i}") for i in range(20))
    session = _session()
    _hold_document_lock(session, Tag, tags[0].pk)
    relay = django_command("dualdb", "relay", env=child_env(RELAY_POLL_SECONDS=0.1),
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        wait_until(lambda: _backends_waiting_on_a_document_lock(session), 60, "the relay never reached the lock")
        (backend,) = _backends_waiting_on_a_document_lock(session)
        session.execute("SELECT pg_terminate_backend(%s)", [backend])
        session.close()
        wait_until(lambda: not OutboxEntry.objects.exists(), 60, "the relay did not come back after losing PostgreSQL")
        assert relay.poll() is None, "the relay survived"
        err = _stop(relay)
    finally:
        if relay.poll() is None:
            relay.kill()
    assert "PostgreSQL connection lost, reconnecting" in err
    assert relay.returncode == 0, err
    assert_converged()


# 10. Raw SQL: the documented contract ------------------------------------------------------


def test_raw_sql_writes_are_reported_by_check_and_fixed_by_repair():
    author = Author.objects.create(name="Before")
    book = Book.objects.create(title="Raw", author=author)
    with connections["default"].cursor() as cursor:
        cursor.execute("UPDATE testapp_author SET name = 'After' WHERE id = %s", [author.pk])
        cursor.execute("INSERT INTO testapp_tag (name) VALUES ('inserted by SQL')")

    code, report = run_dualdb("check", "--full")
    assert "testapp.author: 1 checked, 0 missing, 0 orphan, 1 stale" in report
    assert "testapp.book: 1 checked, 0 missing, 0 orphan, 1 stale" in report
    assert "testapp.tag: 1 checked, 1 missing" in report
    assert code == 1

    run_dualdb("check", "--full", "--repair")
    assert stored(Book, book.pk)["author"]["name"] == "After"
    assert_converged()


# FerretDB v1 hangs server-wide on an update command of more than 100 statements ------------


def test_re_mirroring_hundreds_of_existing_documents_in_one_batch(private_mongo, settings):
    """Run on a private server: were replaces sent in one command again, only it would hang."""
    Tag.objects.bulk_create(Tag(name=f"t{i}") for i in range(250))
    with override_settings(DUALDB={**settings.DUALDB, "BATCH_SIZE": 500}):
        first = dualdb.sync(Tag, Tag.objects.values_list("pk", flat=True))
        with override_settings(DUALDB={**settings.DUALDB, "MODE": "relay"}):
            Tag.objects.update(name=Concat("name", Value(" renamed")))
        drain()  # 250 documents to replace in one relay batch
        assert dualdb.collection_for(Tag).count_documents({"name": {"$regex": " renamed$"}}) == 250
    assert first.documents == 250
    assert_converged()
