"""Many-to-many edges and shared children under concurrent writers: every affected document ends right."""

from __future__ import annotations

import threading

import pytest
from django.db import connections

from dualdb.operations import check
from dualdb.registries import registry
from tests.helpers import stored
from tests.invariants import assert_converged, drain, drift_summary
from tests.testapp.models import Author, Book, Shelf, ShelfEntry, Tag

pytestmark = pytest.mark.django_db(transaction=True)


def tag_names(book: Book) -> list[str]:
    return [tag["name"] for tag in stored(Book, book.pk)["tags"]]


def book_ids(tag: Tag) -> list[int]:
    return [book["_id"] for book in stored(Tag, tag.pk)["books"]]


@pytest.fixture
def shelf():
    author = Author.objects.create(name="Shelf")
    books = [Book.objects.create(title=f"b{i}", author=author) for i in range(3)]
    tags = [Tag.objects.create(name=name) for name in ("x", "y", "z")]
    return books, tags


def test_m2m_edge_cases_from_both_sides(shelf):
    (b0, b1, b2), (x, y, z) = shelf
    b0.tags.add(x, y)
    b0.tags.add(x)  # already a member
    b0.tags.remove(z)  # not a member
    y.books.add(b1, b2)  # from the other side
    assert tag_names(b0) == ["x", "y"] and book_ids(y) == [b0.pk, b1.pk, b2.pk]

    y.books.clear()
    assert tag_names(b0) == ["x"] and tag_names(b1) == [] and book_ids(y) == []
    b2.tags.set([z, x])
    assert tag_names(b2) == ["x", "z"] and book_ids(x) == [b0.pk, b2.pk]
    assert_converged()


def test_rows_written_directly_in_a_through_model(shelf):
    (b0, b1, _), _ = shelf
    shelf_ = Shelf.objects.create(name="top")
    entry = ShelfEntry.objects.create(shelf=shelf_, book=b0, position=1)
    ShelfEntry.objects.create(shelf=shelf_, book=b1, position=2)
    assert [b["_id"] for b in stored(Shelf, shelf_.pk)["books"]] == [b0.pk, b1.pk]
    entry.delete()
    ShelfEntry.objects.filter(book=b1).delete()
    assert stored(Shelf, shelf_.pk)["books"] == []
    assert_converged()


def test_auto_created_through_rows_written_directly_follow_the_raw_sql_contract(shelf):
    """Django sends no signals for auto-created through models: ``check --repair`` is the way back."""
    (b0, _, _), (x, _, _) = shelf
    Book.tags.through.objects.create(book=b0, tag=x)
    assert tag_names(b0) == []
    assert "testapp.book: 3 checked, 0 missing, 0 orphan, 1 stale" in drift_summary()
    for model in registry.models():
        check(model, repair=True)
    assert tag_names(b0) == ["x"] and book_ids(x) == [b0.pk]
    assert_converged()


def test_cascade_delete_of_an_object_with_m2m_links(shelf):
    (b0, b1, _), (x, y, _) = shelf
    b0.tags.add(x, y)
    b1.tags.add(x)
    b0.author.delete()  # cascades to every book, and through them to their links

    assert stored(Book, b0.pk) is None and stored(Book, b1.pk) is None
    assert book_ids(x) == [] and book_ids(y) == []
    x.delete()
    assert stored(Tag, x.pk) is None
    assert_converged()


def test_a_shared_child_changing_while_its_parents_are_updated_concurrently():
    author = Author.objects.create(name="v0")
    books = Book.objects.bulk_create(Book(title=f"p{i} v0", author=author) for i in range(30))
    errors: list[BaseException] = []

    def rename_author() -> None:
        for version in range(1, 16):
            Author.objects.filter(pk=author.pk).update(name=f"v{version}")

    def retitle_books(offset: int) -> None:
        for version in range(1, 6):
            for book in books[offset::2]:
                book.title = f"p{books.index(book)} v{version}"
                book.save(update_fields=["title"])

    def run(work, *args) -> None:
        try:
            work(*args)
        except BaseException as exc:  # surfaced by the assertion below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(rename_author,)),
               threading.Thread(target=run, args=(retitle_books, 0)),
               threading.Thread(target=run, args=(retitle_books, 1))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []

    drain()  # what an on-commit flush left behind (a lock held past REALTIME_TIMEOUT_MS)
    for index, book in enumerate(books):
        document = stored(Book, book.pk)
        assert document["author"]["name"] == "v15" and document["title"] == f"p{index} v5"
    assert [b["title"] for b in stored(Author, author.pk)["books"]] == [f"p{i} v5" for i in range(30)]
    assert_converged()
