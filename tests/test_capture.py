"""Every way Django writes leaves the exact document behind in MongoDB."""

from __future__ import annotations

import datetime
import decimal

import pytest
from django.db import transaction

import dualdb
from dualdb.models import OutboxEntry
from tests.helpers import assert_mirrored, pending, stored, version
from tests.testapp.models import Author, Book, Category, Editor, Publisher, Review, Specimen, Tag

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def library():
    publisher = Publisher.objects.create(name="Ace", country="US")
    author = Author.objects.create(name="Ursula K. Le Guin", publisher=publisher, born=datetime.date(1929, 10, 21))
    sf, classic = Tag.objects.create(name="sf"), Tag.objects.create(name="classic")
    book = Book.objects.create(title="The Dispossessed", author=author, price=decimal.Decimal("12.50"),
                               published=datetime.date(1974, 5, 1), internal_notes="not for the mirror")
    book.tags.set([classic, sf])
    return {"publisher": publisher, "author": author, "sf": sf, "classic": classic, "book": book}


def test_create_writes_the_nested_document(library):
    book, author, publisher = library["book"], library["author"], library["publisher"]
    review = Review.objects.create(book=book, rating=5, text="¡Anarres!")

    assert stored(Book, book.pk) == {
        "_id": book.pk,
        "title": "The Dispossessed",
        "author_id": author.pk,
        "editor_id": None,
        "price": 12.5,
        "published": datetime.datetime(1974, 5, 1, tzinfo=datetime.timezone.utc),
        "author": {
            "_id": author.pk, "name": "Ursula K. Le Guin", "publisher_id": publisher.pk,
            "born": datetime.datetime(1929, 10, 21, tzinfo=datetime.timezone.utc),
            "publisher": {"_id": publisher.pk, "name": "Ace", "country": "US"},
        },
        "editor": None,
        "tags": [{"_id": library["sf"].pk, "name": "sf"}, {"_id": library["classic"].pk, "name": "classic"}],
        "reviews": [{"_id": review.pk, "book_id": book.pk, "rating": 5, "text": "¡Anarres!"}],
        "_null": {"editor_id": True, "editor": True},  # sort companions: NULLs sort last, as in PostgreSQL
    }
    assert pending() == []


def test_excluded_fields_stay_out_even_where_the_model_is_embedded(library):
    assert "internal_notes" not in stored(Book, library["book"].pk)
    assert all("internal_notes" not in embedded for embedded in stored(Author, library["author"].pk)["books"])


def test_save_update_raises_the_version(library):
    book = library["book"]
    before = version(Book, book.pk)
    book.title = "The Dispossessed: An Ambiguous Utopia"
    book.save(update_fields=["title"])

    assert stored(Book, book.pk)["title"] == "The Dispossessed: An Ambiguous Utopia"
    assert version(Book, book.pk) > before


def test_delete_leaves_a_tombstone_that_readers_skip(library):
    book = library["book"]
    pk = book.pk
    book.delete()

    raw = dualdb.collection_for(Book).find_one({"_id": pk})
    assert raw["_deleted"] is True and set(raw) == {"_id", "_v", "_deleted", "_deleted_at"}
    assert stored(Book, pk) is None
    assert [b["_id"] for b in stored(Author, library["author"].pk)["books"]] == []
    assert stored(Tag, library["sf"].pk)["books"] == []


def test_queryset_update_mirrors_every_matched_row(library):
    other = Book.objects.create(title="Lathe", author=library["author"])
    Book.objects.create(title="Untouched", author=Author.objects.create(name="Else"))

    changed = Book.objects.filter(author=library["author"]).update(price=decimal.Decimal("3.10"))

    assert changed == 2
    assert stored(Book, library["book"].pk)["price"] == 3.1
    assert stored(Book, other.pk)["price"] == 3.1
    assert stored(Book, Book.objects.get(title="Untouched").pk)["price"] is None


def test_queryset_delete_cascades_into_documents(library):
    book = library["book"]
    review = Review.objects.create(book=book, rating=3)

    Author.objects.filter(pk=library["author"].pk).delete()

    assert stored(Author, library["author"].pk) is None
    assert stored(Book, book.pk) is None
    assert stored(Review, review.pk) is None
    assert stored(Tag, library["sf"].pk)["books"] == []


def test_a_bulk_create_larger_than_one_batch_is_flushed_whole(library, settings):
    settings.DUALDB = {**settings.DUALDB, "BATCH_SIZE": 4}
    tags = Tag.objects.bulk_create([Tag(name=f"t{i}") for i in range(10)])
    assert [stored(Tag, t.pk)["name"] for t in tags] == [f"t{i}" for i in range(10)]
    assert pending() == []


def test_bulk_create_and_bulk_update(library):
    author = library["author"]
    books = Book.objects.bulk_create([Book(title=f"Bulk {i}", author=author) for i in range(3)])
    assert [stored(Book, b.pk)["title"] for b in books] == ["Bulk 0", "Bulk 1", "Bulk 2"]
    assert len(stored(Author, author.pk)["books"]) == 4

    for book in books:
        book.title = book.title.upper()
    Book.objects.bulk_update(books, ["title"])
    assert [stored(Book, b.pk)["title"] for b in books] == ["BULK 0", "BULK 1", "BULK 2"]


def test_a_custom_queryset_built_on_dualdbs_stays_captured(library):
    Publisher.objects.in_country("US").update(name="Ace (US)")
    assert stored(Publisher, library["publisher"].pk)["name"] == "Ace (US)"
    assert stored(Book, library["book"].pk)["author"]["publisher"]["name"] == "Ace (US)"


def test_get_or_create_and_update_or_create(library):
    tag, created = Tag.objects.get_or_create(name="utopia")
    assert created and stored(Tag, tag.pk)["name"] == "utopia"

    book, created = Book.objects.update_or_create(
        title="The Dispossessed", defaults={"price": decimal.Decimal("99.00")})
    assert not created and stored(Book, book.pk)["price"] == 99.0


def test_m2m_changes_from_both_sides_update_both_documents(library):
    book, sf, classic = library["book"], library["sf"], library["classic"]
    utopia = Tag.objects.create(name="utopia")

    book.tags.remove(classic)
    assert [t["name"] for t in stored(Book, book.pk)["tags"]] == ["sf"]
    assert stored(Tag, classic.pk)["books"] == []

    utopia.books.add(book)  # from the other side
    assert [t["name"] for t in stored(Book, book.pk)["tags"]] == ["sf", "utopia"]
    assert [b["_id"] for b in stored(Tag, utopia.pk)["books"]] == [book.pk]

    book.tags.add(sf)  # already a member: no change, no harm
    sf.books.clear()
    assert [t["name"] for t in stored(Book, book.pk)["tags"]] == ["utopia"]
    assert stored(Tag, sf.pk)["books"] == []

    book.tags.set([classic])
    assert [t["name"] for t in stored(Book, book.pk)["tags"]] == ["classic"]
    assert stored(Tag, utopia.pk)["books"] == []
    assert_mirrored(book, sf, classic, utopia)


def test_renaming_an_embedded_author_updates_all_their_books(library):
    author = library["author"]
    more = Book.objects.bulk_create([Book(title=f"Vol {i}", author=author) for i in range(5)])

    author.name = "U. K. Le Guin"
    author.save()

    for book in [library["book"], *more]:
        assert stored(Book, book.pk)["author"]["name"] == "U. K. Le Guin"


def test_a_publisher_change_reaches_books_two_levels_down(library):
    Publisher.objects.filter(pk=library["publisher"].pk).update(name="Ace Books")
    assert stored(Book, library["book"].pk)["author"]["publisher"]["name"] == "Ace Books"
    assert stored(Author, library["author"].pk)["publisher"]["name"] == "Ace Books"


def test_deleting_a_tag_removes_it_from_every_book(library):
    second = Book.objects.create(title="Left Hand", author=library["author"])
    second.tags.add(library["sf"])

    library["sf"].delete()

    assert [t["name"] for t in stored(Book, library["book"].pk)["tags"]] == ["classic"]
    assert stored(Book, second.pk)["tags"] == []


def test_set_null_parents_are_re_rendered(library):
    library["publisher"].delete()

    author_doc = stored(Author, library["author"].pk)
    assert author_doc["publisher_id"] is None and author_doc["publisher"] is None
    assert stored(Book, library["book"].pk)["author"]["publisher"] is None


def test_set_default_rows_are_captured_from_the_deleting_side(library):
    specimen = Specimen.objects.create(publisher=library["publisher"])
    assert stored(Specimen, specimen.pk)["publisher"]["name"] == "Ace"

    library["publisher"].delete()

    document = stored(Specimen, specimen.pk)
    assert document["publisher_id"] is None and document["publisher"] is None


def test_fk_reverse_add_goes_through_the_base_manager(library):
    book = library["book"]
    other = Author.objects.create(name="Other")

    other.books.add(book)  # Django runs _base_manager.filter(...).update(author=other)

    assert stored(Book, book.pk)["author"]["name"] == "Other"
    assert [b["_id"] for b in stored(Author, other.pk)["books"]] == [book.pk]
    assert stored(Author, library["author"].pk)["books"] == []


def test_reverse_fk_embedding_follows_new_children(library):
    review = Review.objects.create(book=library["book"], rating=4)
    review.rating = 2
    review.save()
    assert [r["rating"] for r in stored(Book, library["book"].pk)["reviews"]] == [2]
    assert stored(Review, review.pk)["book"]["title"] == "The Dispossessed"


def test_an_embedded_model_that_is_not_mirrored_is_watched_through_signals(library):
    editor = Editor.objects.create(name="Virginia")
    book = library["book"]
    book.editor = editor
    book.save()

    editor.name = "Virginia K."
    editor.save()
    assert stored(Book, book.pk)["editor"] == {"_id": editor.pk, "name": "Virginia K."}

    editor.delete()  # SET_NULL on the book
    assert stored(Book, book.pk)["editor"] is None


def test_self_reference_stops_at_the_depth_bound():
    root = Category.objects.create(name="root")
    child = Category.objects.create(name="child", parent=root)
    leaf = Category.objects.create(name="leaf", parent=child)
    loop = Category.objects.create(name="loop")
    loop.parent = loop
    loop.save()

    assert stored(Category, leaf.pk)["parent"]["parent"] == {
        "_id": root.pk, "name": "root", "parent_id": None, "_null": {"parent_id": True}}
    assert stored(Category, loop.pk)["parent"]["parent"]["_id"] == loop.pk
    root.name = "ROOT"
    root.save()
    assert stored(Category, leaf.pk)["parent"]["parent"]["name"] == "ROOT"


def test_rollback_leaves_no_row_and_no_document():
    with pytest.raises(RuntimeError), transaction.atomic():
        tag = Tag.objects.create(name="phantom")
        raise RuntimeError("boom")

    assert stored(Tag, tag.pk) is None
    assert OutboxEntry.objects.count() == 0


def test_a_rolled_back_savepoint_keeps_only_the_outer_change():
    with transaction.atomic():
        kept = Tag.objects.create(name="kept")
        try:
            with transaction.atomic():
                lost = Tag.objects.create(name="lost")
                raise RuntimeError("inner")
        except RuntimeError:
            pass

    assert stored(Tag, kept.pk)["name"] == "kept"
    assert stored(Tag, lost.pk) is None
    assert OutboxEntry.objects.count() == 0
