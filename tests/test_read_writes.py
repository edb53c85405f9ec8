""".mongo() after writes: hydrated instances save, reads see their own transaction, read-through."""

from __future__ import annotations

import pytest
from django.db import transaction

import dualdb
from tests.catalogue import build
from tests.helpers import stored
from tests.testapp.models import Author, Book, Tag

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def catalogue():
    return build(books=8)


def test_a_hydrated_instance_saves_and_is_mirrored(catalogue):
    book = Book.objects.mongo().order_by("pk").first()
    book.title = "Saved from a document"
    book.save()
    assert Book.objects.get(pk=book.pk).title == "Saved from a document"
    assert stored(Book, book.pk)["title"] == "Saved from a document"
    assert Book.objects.get(pk=book.pk).tags.count() == len(stored(Book, book.pk)["tags"])


def test_get_reads_through_a_missing_document_and_queues_it(catalogue):
    book = catalogue["books"][0]
    dualdb.collection_for(Book).delete_one({"_id": book.pk})
    found = Book.objects.mongo().get(pk=book.pk)
    assert found.title == book.title
    assert stored(Book, book.pk)["title"] == book.title  # queued and mirrored on commit


def test_reads_inside_a_writing_transaction_see_their_own_writes(catalogue):
    with transaction.atomic():
        Tag.objects.create(name="brand new")
        assert Tag.objects.mongo().filter(name="brand new").count() == 1
        book = catalogue["books"][0]
        Author.objects.filter(pk=book.author_id).update(name="Renamed in transaction")
        assert Book.objects.mongo().get(pk=book.pk).author.name == "Renamed in transaction"
    assert Book.objects.mongo().get(pk=book.pk).author.name == "Renamed in transaction"
