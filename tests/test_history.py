"""Randomized histories, checked like a replication system's: after any sequence of writes,
rollbacks, relay runs and server crashes, MongoDB holds exactly what PostgreSQL committed.

A Hypothesis state machine drives the real servers. After every step it checks that no
document's ``_v`` went backwards; at each quiescent point (server up, relay drained) it
checks every document against a fresh render of its row, that no document outlives its
row, and that ``.mongo()`` answers a few queries exactly as the ORM does.

``DUALDB_SOAK=1`` runs many more and longer histories (``make soak``).
"""

from __future__ import annotations

import os

import pytest
from django.conf import settings as django_settings
from django.db import transaction
from django.test import override_settings
from hypothesis import HealthCheck, settings, strategies as st
from hypothesis.stateful import (RuleBasedStateMachine, initialize, invariant, precondition, rule,
                                 run_state_machine_as_test)

import dualdb
from dualdb import connection
from dualdb.models import OutboxEntry
from dualdb.registries import registry
from dualdb.relay import run_relay
from tests.invariants import assert_converged
from tests.testapp.models import Author, Book, Publisher, Review, Tag

pytestmark = pytest.mark.django_db(transaction=True)

SOAK = bool(os.environ.get("DUALDB_SOAK"))
NAMES = st.sampled_from(["Le Guin", "Lem", "Ωmega", "a.b*c", "$ne", "O'Brien", ""])


class Rollback(Exception):
    pass


class MirrorHistory(RuleBasedStateMachine):
    server = None  # the test's private server, set before the run

    def __init__(self) -> None:
        super().__init__()
        self.server_up = True
        self.versions: dict[tuple[str, object], int] = {}

    @initialize()
    def seed(self):
        """A few rows of each kind, so every rule has something to work on from the first step."""
        publisher = Publisher.objects.create(name="Ace")
        authors = [Author.objects.create(name=name, publisher=publisher if i else None)
                   for i, name in enumerate(["Le Guin", "Lem"])]
        tags = [Tag.objects.create(name=name) for name in ("sf", "classic", "$ne")]
        for i in range(3):
            Book.objects.create(title=f"seed {i}", author=authors[i % 2]).tags.set(tags[: i + 1])

    # --- writes ------------------------------------------------------------------

    @rule(name=NAMES, with_publisher=st.booleans())
    def create_author(self, name, with_publisher):
        publisher = Publisher.objects.create(name=f"P {name}") if with_publisher else None
        Author.objects.create(name=name, publisher=publisher)

    @precondition(lambda self: Author.objects.exists())
    @rule(title=NAMES, data=st.data())
    def create_book(self, title, data):
        author = data.draw(st.sampled_from(list(Author.objects.order_by("pk"))))
        book = Book.objects.create(title=title, author=author)
        if data.draw(st.booleans()):
            Review.objects.create(book=book, rating=data.draw(st.integers(1, 5)))

    @rule(name=NAMES)
    def create_tag(self, name):
        Tag.objects.get_or_create(name=name)

    @precondition(lambda self: Author.objects.exists())
    @rule(count=st.integers(1, 5), data=st.data())
    def bulk_create_books(self, count, data):
        author = data.draw(st.sampled_from(list(Author.objects.order_by("pk"))))
        Book.objects.bulk_create(Book(title=f"bulk {i}", author=author) for i in range(count))

    @precondition(lambda self: Author.objects.exists())
    @rule(name=NAMES, data=st.data())
    def rename_author(self, name, data):
        author = data.draw(st.sampled_from(list(Author.objects.order_by("pk"))))
        author.name = name
        author.save()

    @precondition(lambda self: Book.objects.exists())
    @rule(suffix=NAMES)
    def queryset_update(self, suffix):
        Book.objects.filter(pk__in=Book.objects.order_by("pk").values("pk")[:3]).update(title=f"updated {suffix}")

    @precondition(lambda self: Book.objects.exists())
    @rule(suffix=NAMES)
    def bulk_update(self, suffix):
        books = list(Book.objects.order_by("-pk")[:3])
        for book in books:
            book.title = f"bulk-updated {suffix}"
        Book.objects.bulk_update(books, ["title"])

    @precondition(lambda self: Book.objects.exists() and Tag.objects.exists())
    @rule(data=st.data(), action=st.sampled_from(["add", "remove", "set", "clear", "reverse-add"]))
    def change_links(self, data, action):
        book = data.draw(st.sampled_from(list(Book.objects.order_by("pk"))))
        tags = data.draw(st.lists(st.sampled_from(list(Tag.objects.order_by("pk"))), max_size=3))
        if action == "add":
            book.tags.add(*tags)
        elif action == "remove":
            book.tags.remove(*tags)
        elif action == "set":
            book.tags.set(tags)
        elif action == "clear":
            book.tags.clear()
        else:
            for tag in tags:
                tag.books.add(book)

    @precondition(lambda self: Book.objects.exists() or Tag.objects.exists() or Author.objects.exists())
    @rule(data=st.data(), model=st.sampled_from([Book, Tag, Author, Publisher]))
    def delete(self, data, model):
        rows = list(model.objects.order_by("pk"))
        if rows:
            data.draw(st.sampled_from(rows)).delete()  # an author cascades to books, reviews, links

    @rule(name=NAMES)
    def rolled_back_transaction(self, name):
        with pytest.raises(Rollback), transaction.atomic():
            author = Author.objects.create(name=f"phantom {name}")
            Book.objects.create(title="phantom", author=author)
            Tag.objects.filter(pk__in=Tag.objects.values("pk")[:1]).update(name=f"phantom {name}")
            raise Rollback

    @rule(name=NAMES)
    def write_in_relay_mode(self, name):
        """A write left to the relay alone (another process's writes, as far as this one knows)."""
        with override_settings(DUALDB={**django_settings.DUALDB, "MODE": "relay"}):
            Tag.objects.update_or_create(name=f"relay {name}")

    # --- the world ---------------------------------------------------------------

    @precondition(lambda self: self.server_up)
    @rule()
    def crash_server(self):
        self.server.kill()
        self.server_up = False

    @precondition(lambda self: not self.server_up)
    @rule()
    def restart_server(self):
        self.server.start()
        self.server_up = True

    @precondition(lambda self: self.server_up)
    @rule()
    def relay_once(self):
        run_relay(once=True)

    @rule()
    def quiesce(self):
        """Bring the server back, drain the outbox, and check everything."""
        if not self.server_up:
            self.restart_server()
        run_relay(once=True)
        assert not OutboxEntry.objects.filter(state=OutboxEntry.State.DEAD).exists()
        assert_converged()
        self._reads_agree()

    # --- checks ------------------------------------------------------------------

    @invariant()
    def versions_never_go_back(self):
        if not self.server_up:
            return
        for model in registry.models():
            for document in dualdb.collection_for(model).find({}, {"_v": 1}):
                key = (model._meta.label, document["_id"])
                assert document["_v"] >= self.versions.get(key, 0), f"{key} went back to _v {document['_v']}"
                self.versions[key] = document["_v"]

    @staticmethod
    def _reads_agree():
        queries = [
            lambda m: list(m.filter(author__name__icontains="le").order_by("title", "pk").values_list("pk", flat=True)),
            lambda m: list(m.filter(tags__name="$ne").order_by("pk").values_list("pk", flat=True).distinct()),
            lambda m: list(m.exclude(title__startswith="bulk").order_by("-pk").values_list("title", "author__name")),
            lambda m: m.filter(author__publisher__isnull=True).count(),
        ]
        for query in queries:
            assert query(Book.objects.mongo()) == query(Book.objects)

    def teardown(self):
        try:
            self.quiesce()  # every history ends at a quiescent point, checked
        finally:
            self._reset()

    def _reset(self):
        if not self.server_up:
            self.restart_server()
        for model in (Publisher, Author, Tag, OutboxEntry):
            model._base_manager.all().delete()
        OutboxEntry.objects.all().delete()
        for name in connection.get_database().list_collection_names():
            connection.get_database().drop_collection(name)


def test_random_histories_converge(private_mongo):
    MirrorHistory.server = private_mongo
    run_state_machine_as_test(MirrorHistory, settings=settings(
        max_examples=40 if SOAK else 15,
        stateful_step_count=60 if SOAK else 30,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    ))
