"""The monitoring signals: what receivers are told after each flush, and that they cannot break it."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from django.db import connection as pg_connection
from django.db import transaction
from django.test import override_settings

from dualdb import signals
from dualdb.models import OutboxEntry
from dualdb.relay import run_relay
from tests.helpers import stored
from tests.testapp.models import Author, Book, Specimen, Tag

pytestmark = pytest.mark.django_db(transaction=True)


class Received:
    """Every dualdb signal sent while connected, as (signal name, sender, arguments)."""

    def __init__(self) -> None:
        self.events: list[tuple[str, Any, dict[str, Any]]] = []
        self.in_transaction: list[bool] = []

    def receiver(self, name: str):
        def receive(sender: Any, **kwargs: Any) -> None:
            kwargs.pop("signal")
            self.events.append((name, sender, kwargs))
            self.in_transaction.append(pg_connection.in_atomic_block)
        return receive

    def of(self, name: str, sender: Any = None) -> list[dict[str, Any]]:
        return [kwargs for event, event_sender, kwargs in self.events
                if event == name and (sender is None or event_sender is sender)]

    def pks(self, name: str, sender: Any) -> set[Any]:
        return {pk for kwargs in self.of(name, sender) for pk in kwargs["pks"]}


@pytest.fixture
def received():
    log = Received()
    connected = [(signal, log.receiver(name)) for name, signal in
                 (("mirrored", signals.mirrored), ("mirror_failed", signals.mirror_failed),
                  ("dead_lettered", signals.dead_lettered))]
    for signal, receiver in connected:
        signal.connect(receiver)
    yield log
    for signal, receiver in connected:
        signal.disconnect(receiver)


def test_writes_announce_the_documents_they_mirrored(received):
    author = Author.objects.create(name="Le Guin")
    book = Book.objects.create(title="Lathe", author=author)
    tags = Tag.objects.bulk_create([Tag(name="sf"), Tag(name="classic")])

    assert received.pks("mirrored", Author) == {author.pk}  # again when the book embedded in it changed
    assert received.pks("mirrored", Book) == {book.pk}
    assert received.of("mirrored", Tag) == [{"pks": [tags[0].pk, tags[1].pk]}]
    assert received.of("mirror_failed") == [] and received.of("dead_lettered") == []
    assert not any(received.in_transaction), "sent after the flush committed"


def test_a_delete_announces_the_tombstone_and_the_documents_that_embedded_the_row(received):
    author = Author.objects.create(name="Le Guin")
    book = Book.objects.create(title="Lathe", author=author)
    received.events.clear()
    pk = book.pk

    book.delete()

    assert received.pks("mirrored", Book) == {pk}
    assert received.pks("mirrored", Author) == {author.pk}


def test_a_bad_value_fails_then_dead_letters_and_the_rest_of_the_batch_is_mirrored(received, settings):
    with override_settings(DUALDB={**settings.DUALDB, "MAX_ATTEMPTS": 1}):
        with transaction.atomic():
            bad = Specimen.objects.create(payload={"$bad": 1})
            good = Specimen.objects.create(payload={"good": 1})

    assert received.of("mirrored", Specimen) == [{"pks": [good.pk]}]
    [failed] = received.of("mirror_failed", Specimen)
    [dead] = received.of("dead_lettered", Specimen)
    assert failed["pks"] == dead["pks"] == [bad.pk]
    assert "testapp.Specimen.payload" in failed["error"] and "'$bad'" in failed["error"]
    assert dead["error"] == OutboxEntry.objects.get(state="dead").last_error
    assert stored(Specimen, good.pk)["payload"] == {"good": 1}


def test_an_outage_fails_rows_without_dead_lettering_them(received, mongo_through_proxy):
    mongo_through_proxy.cut()  # the fixture also sets MAX_ATTEMPTS=1
    tag = Tag.objects.create(name="during the outage")

    [failed] = received.of("mirror_failed", Tag)
    assert failed["pks"] == [tag.pk] and "MirrorUnavailable" in failed["error"]
    assert received.of("dead_lettered") == [] and received.of("mirrored") == []
    assert OutboxEntry.objects.get(kind="sync", object_pk=str(tag.pk)).state == "pending"


def test_a_row_whose_model_is_gone_is_announced_with_no_sender(received, settings):
    OutboxEntry.objects.create(model_label="vanished.model", object_pk="7")
    with override_settings(DUALDB={**settings.DUALDB, "MAX_ATTEMPTS": 1}):
        run_relay(once=True)

    assert [(sender, kwargs["pks"]) for name, sender, kwargs in received.events if name != "mirrored"] == [
        (None, ["7"]), (None, ["7"])]
    assert "vanished.model" in received.of("dead_lettered")[0]["error"]


def test_the_relay_and_sync_announce_too(received, settings):
    with override_settings(DUALDB={**settings.DUALDB, "MODE": "relay"}):
        tag = Tag.objects.create(name="queued")
        assert received.events == []
        run_relay(once=True)
    assert received.of("mirrored", Tag) == [{"pks": [tag.pk]}]

    received.events.clear()
    import dualdb

    dualdb.sync(Tag, [tag.pk])
    assert received.of("mirrored", Tag) == [{"pks": [tag.pk]}]


def test_a_receiver_that_raises_is_logged_and_breaks_nothing(received, caplog):
    def broken(sender: Any, **kwargs: Any) -> None:
        raise RuntimeError("receiver bug")

    signals.mirrored.connect(broken)
    try:
        with caplog.at_level(logging.ERROR, logger="dualdb"):
            tag = Tag.objects.create(name="still mirrored")
    finally:
        signals.mirrored.disconnect(broken)

    assert stored(Tag, tag.pk)["name"] == "still mirrored"
    assert not OutboxEntry.objects.exists()
    assert received.pks("mirrored", Tag) == {tag.pk}, "the other receivers still ran"
    [record] = [r for r in caplog.records if r.name == "dualdb"]
    assert "broken" in record.getMessage() and "RuntimeError: receiver bug" in record.getMessage()
