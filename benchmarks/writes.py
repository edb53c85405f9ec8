"""Write scenarios: what mirroring adds to a write, a fan-out rename, and backfill against raw inserts.

The plain model is built at run time with the same columns as the mirrored
``Book`` (no capture, no outbox) and dropped afterwards, so the comparison is the
same ``save()`` on the same table shape with and without dualdb.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from django.apps import apps
from django.conf import settings
from django.db import connection, models, transaction

from .timing import QueryCounter, Samples, interleave

MODES = ("plain", "realtime", "relay")


@contextlib.contextmanager
def mirror_mode(mode: str) -> Iterator[None]:
    """Switch ``DUALDB["MODE"]`` without ``setting_changed`` (which would reconnect to MongoDB)."""
    from dualdb.conf import dualdb_settings

    before = settings.DUALDB
    settings.DUALDB = {**before, "MODE": mode}
    dualdb_settings.reload()
    try:
        yield
    finally:
        settings.DUALDB = before
        dualdb_settings.reload()


def set_mode(mode: str) -> None:
    from dualdb.conf import dualdb_settings

    settings.DUALDB = {**settings.DUALDB, "MODE": mode}
    dualdb_settings.reload()


def plain_book_model(app_label: str) -> type[models.Model]:
    """An unmirrored model with the mirrored Book's columns (its FKs point at the same tables)."""
    Book = apps.get_model(app_label, "Book")
    Author = apps.get_model(app_label, "Author")
    attrs = {
        "__module__": __name__,
        "Meta": type("Meta", (), {"app_label": "dualdb_benchmarks", "db_table": "dualdb_bench_plain_book"}),
        "title": models.CharField(max_length=200),
        "author": models.ForeignKey(Author, on_delete=models.CASCADE, related_name="+"),
        "price": models.DecimalField(max_digits=8, decimal_places=2, null=True, blank=True),
        "published": models.DateField(null=True, blank=True),
    }
    for name in ("editor", "internal_notes"):  # the test app's Book has these too
        try:
            source = Book._meta.get_field(name)
        except Exception:
            continue
        if isinstance(source, models.ForeignKey):
            attrs[name] = models.ForeignKey(source.related_model, null=True, blank=True, on_delete=models.SET_NULL,
                                            related_name="+")
        else:
            attrs[name] = models.TextField(blank=True)
    try:
        return apps.get_registered_model("dualdb_benchmarks", "plainbook")
    except LookupError:
        return type("PlainBook", (models.Model,), attrs)


@dataclass
class WriteResults:
    save: dict[str, Samples] = field(default_factory=dict)
    save_realtime: dict[str, Samples] = field(default_factory=dict)
    save_in_transaction: dict[str, Samples] = field(default_factory=dict)
    bulk_create: dict[str, Samples] = field(default_factory=dict)
    rename: dict[str, Samples] = field(default_factory=dict)
    rename_books: int = 0
    backfill: dict[str, Samples] = field(default_factory=dict)
    backfill_documents: int = 0
    save_queries: dict[str, int] = field(default_factory=dict)


def _book_kwargs(book: models.Model) -> dict[str, Any]:
    return {"title": book.title, "author_id": book.author_id, "price": book.price, "published": book.published}


class SaveRounds(NamedTuple):
    """How many ``save()`` calls a comparison times: per repetition, repetitions, untimed warm-up rounds."""

    saves: int
    repetitions: int
    warmup: int


def run_writes(app_label: str, *, saves: int, bulk: int, rename_books: int, repetitions: int, warmup: int,
               backfill_repetitions: int, relay_rounds: SaveRounds, say: Callable[[str], None]) -> WriteResults:
    """Every write scenario; *warmup* untimed rounds first (0 where each round costs server scans).

    *relay_rounds* sizes the plain-against-relay comparisons, which send no MongoDB
    command and so need no scaling on a server that scans (*saves* sizes realtime's).
    """
    results = WriteResults()
    Book = apps.get_model(app_label, "Book")
    Plain = plain_book_model(app_label)
    with connection.schema_editor() as editor:
        editor.create_model(Plain)
    try:
        books = list(Book.objects.order_by("pk")[:max(saves, relay_rounds.saves)])
        plains = list(models.QuerySet(Plain).bulk_create([Plain(**_book_kwargs(b)) for b in books]))
        counter = iter(range(10**9))

        def edit(objects: list[models.Model], *, in_transaction: bool = False) -> Callable[[], None]:
            def run() -> None:
                n = next(counter)
                for obj in objects:
                    obj.title = f"{obj.title.split(' #')[0]} #{n}"
                    with transaction.atomic() if in_transaction else contextlib.nullcontext():
                        obj.save()
            return run

        # save(): switching the mode is a dict assignment; what relay mode queued is discarded between rounds.
        for mode, objects in (("plain", plains[:1]), ("realtime", books[:1]), ("relay", books[:1])):
            queries = QueryCounter()
            with mirror_mode("realtime" if mode == "plain" else mode), connection.execute_wrapper(queries):
                edit(objects)()
            results.save_queries[mode] = queries.count
            _discard_outbox()
        relay_plains, relay_books = plains[:relay_rounds.saves], books[:relay_rounds.saves]
        say(f"writes: save() x{relay_rounds.saves} per repetition, plain / relay, and each in a transaction")
        with mirror_mode("relay"):
            results.save = interleave({"plain": edit(relay_plains), "relay": edit(relay_books)},
                                      repetitions=relay_rounds.repetitions, warmup=relay_rounds.warmup,
                                      ops=relay_rounds.saves, on_repetition=lambda _r: _discard_outbox())
            # The same saves, each in a transaction of its own, as under ATOMIC_REQUESTS or atomic().
            results.save_in_transaction = interleave(
                {"plain": edit(relay_plains, in_transaction=True), "relay": edit(relay_books, in_transaction=True)},
                repetitions=relay_rounds.repetitions, warmup=relay_rounds.warmup, ops=relay_rounds.saves,
                on_repetition=lambda _r: _discard_outbox())
        say(f"writes: save() x{saves} per repetition, plain / realtime")
        with mirror_mode("realtime"):
            results.save_realtime = interleave({"plain": edit(plains[:saves]), "realtime": edit(books[:saves])},
                                               repetitions=repetitions, warmup=warmup, ops=saves,
                                               on_repetition=lambda _r: _discard_outbox())

        say(f"writes: bulk_create({bulk}) plain / realtime / relay")
        results.bulk_create = _bulk_create(app_label, Plain, bulk, repetitions, warmup)
    finally:
        with connection.schema_editor() as editor:
            editor.delete_model(Plain)

    say(f"writes: rename an author embedded in {rename_books:,} book{'' if rename_books == 1 else 's'}")
    results.rename_books = rename_books
    results.rename = _rename(app_label, rename_books, repetitions=max(2 if repetitions >= 3 else 1, repetitions // 2),
                             warmup=warmup)
    say("writes: backfill vs raw insert_many of the same documents")
    results.backfill, results.backfill_documents = _backfill_vs_insert_many(app_label, backfill_repetitions)
    return results


def _bulk_create(app_label: str, Plain: type[models.Model], bulk: int, repetitions: int,
                 warmup: int) -> dict[str, Samples]:
    """``bulk_create(bulk)`` of new books; each mode's books get an author of their own, removed after each round."""
    Author, Book = apps.get_model(app_label, "Author"), apps.get_model(app_label, "Book")
    with mirror_mode("relay"):
        authors = {mode: Author.objects.create(name=f"Bulk {mode}") for mode in ("realtime", "relay")}
    _drain()
    import dualdb

    def create(mode: str, model: type[models.Model], queryset: Callable[[], models.QuerySet]) -> Callable[[], None]:
        author = authors["realtime" if mode == "plain" else mode]

        def run() -> None:
            set_mode("realtime" if mode == "plain" else mode)
            queryset().bulk_create([model(title=f"bulk {i}", author=author, price=None, published=None)
                                    for i in range(bulk)])
        return run

    removed: list[Any] = []

    def clean(_repetition: int) -> None:
        """Same table sizes every round; the documents go at the end (on a scanning server, a delete is a scan)."""
        _discard_outbox()
        doomed = list(Book._base_manager.filter(author__in=authors.values()).values_list("pk", flat=True))
        models.QuerySet(Book).filter(pk__in=doomed)._raw_delete(connection.alias)  # uncaptured, as it was created
        models.QuerySet(Plain).all()._raw_delete(connection.alias)
        removed.extend(doomed)

    with mirror_mode("realtime"):
        samples = interleave({"plain": create("plain", Plain, lambda: models.QuerySet(Plain)),
                              "realtime": create("realtime", Book, lambda: Book.objects.all()),
                              "relay": create("relay", Book, lambda: Book.objects.all())},
                             repetitions=repetitions, warmup=warmup, on_repetition=clean)
    clean(0)
    dualdb.collection_for(Book).delete_many({"_id": {"$in": removed}})
    _mirror(Author, [a.pk for a in authors.values()])
    return samples


def _discard_outbox() -> None:
    """Drop what relay-mode writes queued: the relay's work is measured by the lag scenario, not here."""
    from dualdb.models import OutboxEntry

    OutboxEntry.objects.all().delete()


def _drain() -> None:
    """Mirror everything queued, as the relay's loop does (without its periodic tombstone purge)."""
    from dualdb.flush import flush

    while flush(ignore_backoff=True).claimed:
        pass


def _mirror(model: type[models.Model], pks: list[Any]) -> None:
    """Write these documents directly (no fan-out to the documents embedding them)."""
    from dualdb.mirroring import mirror_documents

    with transaction.atomic():
        mirror_documents(model, pks, connection.alias)


def _rename(app_label: str, count: int, *, repetitions: int, warmup: int) -> dict[str, Samples]:
    """Time from the rename's save() until every embedding document shows the new name (relay drained at once)."""
    import dualdb

    Author, Book = apps.get_model(app_label, "Author"), apps.get_model(app_label, "Book")
    template = Book.objects.order_by("pk").first()
    with mirror_mode("relay"):
        author = Author.objects.create(name="Prolific Writer", publisher_id=template.author.publisher_id)
        pks = [b.pk for b in models.QuerySet(Book).bulk_create(
            [Book(title=f"Prolific {i}", author=author, price=template.price, published=template.published)
             for i in range(count)])]
    _mirror(Book, pks)  # as a backfill would: this setup is not what is measured
    _mirror(Author, [author.pk])
    collection = dualdb.collection_for(Book)
    counter = iter(range(10**9))

    def rename(mode: str) -> Callable[[], None]:
        def run() -> None:
            with mirror_mode(mode):
                author.name = f"Prolific Writer {next(counter)}"
                author.save()  # realtime: flushed on commit (or deferred to the relay past REALTIME_FANOUT_LIMIT)
                _drain()  # the relay, starting at once: when it returns, the documents are written
        return run

    def verify(_repetition: int) -> None:
        """Untimed: every document shows the latest name (a count is a scan on FerretDB)."""
        shown = collection.count_documents({"author._id": author.pk, "author.name": author.name})
        if shown != count:
            raise AssertionError(f"rename: {shown} of {count} documents show the new name")

    return interleave({"realtime": rename("realtime"), "relay": rename("relay")},
                      repetitions=repetitions, warmup=warmup, on_repetition=verify)


def _backfill_vs_insert_many(app_label: str, repetitions: int) -> tuple[dict[str, Samples], int]:
    """``backfill()`` of every Book into an empty, indexed collection against ``insert_many`` of the same
    documents into one like it."""
    from dualdb.aliases import collection_for
    from dualdb.connection import get_database
    from dualdb.operations import backfill, ensure_indexes
    from dualdb.registries import registry
    from dualdb.rendering import render_documents

    Book = apps.get_model(app_label, "Book")
    shape = registry.spec(Book).shape
    pks = list(Book._base_manager.order_by("pk").values_list("pk", flat=True))
    documents = []
    for start in range(0, len(pks), 1000):
        rendered = render_documents(shape, pks[start:start + 1000], "default")
        documents += [{**rendered[pk], "_v": 1} for pk in pks[start:start + 1000]]
    scratch = get_database()["dualdb_bench_insert_many"]

    def run_backfill() -> None:
        collection_for(Book).drop()
        backfill(Book, batch_size=1000)

    def run_insert_many() -> None:
        scratch.drop()
        ensure_indexes(Book, scratch)  # the backfill's collection has them too: the server maintains them on insert
        for start in range(0, len(documents), 1000):
            scratch.insert_many([dict(d) for d in documents[start:start + 1000]], ordered=False)

    try:
        samples = interleave({"backfill": run_backfill, "insert_many": run_insert_many},
                             repetitions=repetitions, warmup=0, ops=len(documents))
    finally:
        scratch.drop()
    return samples, len(documents)
