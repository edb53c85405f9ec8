"""values()/values_list() ask the server only for the keys their rows read (found by the benchmarks)."""

from __future__ import annotations

from tests.testapp.models import Book


def test_values_project_only_the_keys_they_read():
    queryset = Book.objects.mongo().values("pk", "title", "author__name", "author__publisher__name", "tags__name")
    assert queryset.query.projection() == {
        "_id": 1, "author.name": 1, "author.publisher.name": 1, "tags.name": 1, "title": 1}


def test_a_key_inside_another_is_not_sent_twice():
    # MongoDB refuses a projection with both "author" and "author.name" (a path collision).
    queryset = Book.objects.mongo().values_list("author__name", "author")
    assert queryset.query.projection() == {"author.name": 1, "author_id": 1}
    assert Book.objects.mongo().values_list("author__publisher", "author__publisher__name").query.projection() == {
        "author.publisher.name": 1, "author.publisher_id": 1}


def test_instances_still_read_whole_documents():
    assert Book.objects.mongo().filter(title="x").query.projection() is None
    assert Book.objects.mongo().values("title").filter(title="x").query.projection() == {"title": 1}
