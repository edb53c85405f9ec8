"""Mirror options become document shapes; invalid options are system-check errors."""

from __future__ import annotations

from django.core import checks

from dualdb.options import MirrorOptions
from dualdb.registries import registry
from dualdb.spec import build_shape
from querying.shape import mongo_path, orm_path
from tests.testapp.models import Author, Book, Category, Publisher, Tag


def options(**given) -> MirrorOptions:
    return MirrorOptions(**{"collection": "c", "embed": None, "exclude": (), "depth": 1, "indexes": (), **given})


def paths(shape) -> list[str]:
    return [orm_path(path) for path in shape.paths()]


def test_the_default_embeds_forward_relations_one_level_deep():
    built = build_shape(Book, options())
    assert paths(built.shape) == ["author", "editor", "tags"]
    assert built.problems == []


def test_depth_bounds_the_default_and_self_references():
    assert paths(build_shape(Category, options(depth=3)).shape) == ["parent", "parent__parent", "parent__parent__parent"]
    assert paths(build_shape(Category, options(depth=0)).shape) == []


def test_explicit_embed_takes_reverse_relations_by_accessor():
    shape = registry.shape(Book)
    assert paths(shape) == ["author", "author__publisher", "editor", "tags", "reviews"]
    assert [mongo_path(path) for path in shape.paths()][-1] == "reviews"
    assert [f.attname for f in shape.fields] == ["id", "title", "author_id", "editor_id", "price", "published"]


def test_registry_knows_who_embeds_whom():
    embedders = {(e.mirrored.__name__, e.orm_path, e.mongo_id_path) for e in registry.embeddings_of(Publisher)}
    assert embedders == {("Author", "publisher", "publisher._id"), ("Book", "author__publisher", "author.publisher._id"),
                         ("Specimen", "publisher", "publisher._id")}
    tags_field = Book._meta.get_field("tags")
    assert [e.mirrored for e in registry.link_embeddings(tags_field, True)] == [Book]
    assert [e.mirrored for e in registry.link_embeddings(tags_field, False)] == [Tag]
    assert registry.spec(Book).collection_name == "books"
    assert registry.spec(Author).collection_name == "testapp_author"


def test_invalid_options_are_reported_with_ids():
    built = build_shape(Book, options(embed=("author__nope", "title"), exclude=("missing", "author__ghost"),
                                      depth=-1, unknown=("embedd",)))
    found = sorted((p.check_id, p.message) for p in built.problems)
    assert [check_id for check_id, _ in found] == ["dualdb.E001", "dualdb.E001", "dualdb.E002", "dualdb.E002",
                                                   "dualdb.E003", "dualdb.E004"]
    messages = " | ".join(message for _, message in found)
    assert "testapp.Book.Mirror.embed path 'author__nope': testapp.Author has no relation 'nope'" in messages
    assert "testapp.Book.Mirror.exclude names 'author__ghost'" in messages
    assert "unknown option 'embedd'" in messages


def test_the_test_app_passes_the_checks():
    assert [m for m in checks.run_checks(tags=["dualdb"]) if m.id.startswith("dualdb.")] == []
