"""A deterministic bookstore for the benchmarks (and the example site): same seed, same rows.

Rows are loaded with ``bulk_create`` on a plain ``QuerySet``, so nothing is mirrored
while loading (as after a raw data import); ``dualdb sync`` then mirrors every
model, and its time and peak memory are what the report shows as the backfill.
Models are looked up by name in *app_label*, and only the fields below are set,
so any app with the same models and field names can be populated:

* ``Publisher(name, country)``
* ``Author(name, publisher FK null, born date null)``
* ``Tag(name unique)``
* ``Book(title, author FK, tags M2M, price Decimal(8,2) null, published date null)``
* ``Review(book FK, rating small int, text)``
"""

from __future__ import annotations

import datetime
import decimal
import random
import sys
import time
from dataclasses import dataclass, field
from typing import Any

from django.apps import apps
from django.db import DEFAULT_DB_ALIAS, models, transaction


@dataclass(frozen=True)
class Size:
    books: int
    authors: int
    publishers: int
    tags: int
    tags_per_book: tuple[int, int] = (1, 5)  # uniform: about 3 per book
    reviews_per_book: tuple[int, int] = (0, 5)


SIZES: dict[str, Size] = {
    "small": Size(books=120, authors=15, publishers=5, tags=20),
    "default": Size(books=20_000, authors=2_000, publishers=200, tags=500),
    "large": Size(books=200_000, authors=20_000, publishers=2_000, tags=5_000),
}

# Name parts: about one author in ten starts with "Le" (the filtered-list scenario).
FIRST = ["Le", "La", "Mo", "Ka", "Ro", "Sa", "Ti", "Ve", "No", "Be"]
SYLLABLES = ["ran", "tic", "o", "vin", "mer", "sha", "dor", "quin", "lu", "zé"]
LAST = ["Guin", "Okafor", "Šimek", "Nakamura", "Öztürk", "Smith", "Ibáñez", "Kowalski", "Ngata", "Lindqvist",
        "Moreau", "Haddad", "Petrov", "O'Neill", "Silva", "Chen"]
WORDS = ["The", "Left", "Hand", "of", "Darkness", "Solaris", "Dune", "Night", "River", "Glass", "Ωmega",
         "Stone", "Winter", "Garden", "City", "Machine", "Song", "Empire", "Lost", "Hour"]
COUNTRIES = ["US", "UK", "FR", "DE", "JP", "BR", "NG", "IN", ""]
NAMED_TAGS = ["sf", "fantasy", "classic", "mystery", "poetry", "history", "crime", "romance", "horror", "essay"]
REVIEW_TEXTS = ["", "great", "not for me", "a classic", "Ωk", "would read again"]


@dataclass
class GenerationReport:
    """What :func:`populate` created and how long loading and mirroring took."""

    size: str
    seed: int
    counts: dict[str, int] = field(default_factory=dict)
    load_seconds: float = 0.0
    sync_seconds: float = 0.0
    sync: dict[str, dict[str, float]] = field(default_factory=dict)  # per model: rows, seconds, rows_per_s
    sync_peak_rss_mb: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"size": self.size, "seed": self.seed, "counts": self.counts, "load_seconds": self.load_seconds,
                "sync_seconds": self.sync_seconds, "sync": self.sync, "sync_peak_rss_mb": self.sync_peak_rss_mb}


def populate(size: str = "small", *, app_label: str = "testapp", seed: int = 42,
             progress: bool = True) -> GenerationReport:
    """Create the bookstore at *size* (``small``, ``default`` or ``large``) and mirror it with ``dualdb sync``.

    The tables are expected to be empty. Same size and seed, same rows (primary
    keys depend only on the sequences of the tables).
    """
    if size not in SIZES:
        raise ValueError(f"size must be one of {', '.join(SIZES)}, not {size!r}")
    report = GenerationReport(size=size, seed=seed)
    say = _say if progress else (lambda message: None)
    started = time.perf_counter()
    with transaction.atomic():
        report.counts = _load(SIZES[size], app_label, random.Random(seed), say)
    _analyze()
    report.load_seconds = time.perf_counter() - started
    say(f"loaded {_describe(report.counts)} in {report.load_seconds:.1f}s")
    _sync(app_label, report, progress)
    say(f"dualdb sync took {report.sync_seconds:.1f}s")
    return report


def _analyze() -> None:
    """Fresh statistics after a bulk load, as after any import: without them PostgreSQL may pick a
    plan that takes minutes for the sync's prefetch queries (seen: a tag backfill going from 5 s to > 5 min)."""
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")


def _say(message: str) -> None:
    print(f"[generate] {message}", file=sys.stderr, flush=True)


def _describe(counts: dict[str, int]) -> str:
    return ", ".join(f"{count:,} {name}" for name, count in counts.items())


def _plain(model: type[models.Model]) -> models.QuerySet:
    """A plain ``QuerySet``: ``bulk_create`` without capture, since the sync mirrors everything afterwards."""
    return models.QuerySet(model=model, using=DEFAULT_DB_ALIAS)


def _load(size: Size, app_label: str, rng: random.Random, say) -> dict[str, int]:
    Publisher, Author, Tag, Book, Review = (apps.get_model(app_label, name)
                                            for name in ("Publisher", "Author", "Tag", "Book", "Review"))
    publishers = _plain(Publisher).bulk_create(
        [Publisher(name=f"{rng.choice(WORDS)} {rng.choice(LAST)} Press {index}", country=rng.choice(COUNTRIES))
         for index in range(size.publishers)], batch_size=2000)
    authors = _plain(Author).bulk_create(
        [Author(name=f"{rng.choice(FIRST)}{rng.choice(SYLLABLES)} {rng.choice(LAST)} {index}",
                publisher=None if rng.random() < 0.05 else rng.choice(publishers),
                born=None if rng.random() < 0.2 else datetime.date(1900, 1, 1) + datetime.timedelta(days=rng.randrange(36_000)))
         for index in range(size.authors)], batch_size=2000)
    tag_names = NAMED_TAGS[: size.tags] + [f"tag-{index:04d}" for index in range(size.tags - len(NAMED_TAGS))]
    tags = _plain(Tag).bulk_create([Tag(name=name) for name in tag_names], batch_size=2000)
    say(f"{len(publishers):,} publishers, {len(authors):,} authors, {len(tags):,} tags")
    books = []
    for index in range(size.books):
        books.append(Book(
            title=" ".join(rng.choice(WORDS) for _ in range(rng.randrange(1, 5))),
            author=rng.choice(authors),
            price=None if rng.random() < 0.05 else decimal.Decimal(rng.randrange(100, 10_000)) / 100,
            published=None if rng.random() < 0.05 else datetime.date(1950, 1, 1) + datetime.timedelta(days=rng.randrange(27_000)),
        ))
    books = _plain(Book).bulk_create(books, batch_size=2000)
    say(f"{len(books):,} books")
    Through = Book._meta.get_field("tags").remote_field.through
    links = []
    for book in books:
        for tag in rng.sample(tags, min(len(tags), rng.randint(*size.tags_per_book))):
            links.append(Through(book_id=book.pk, tag_id=tag.pk))
    _plain(Through).bulk_create(links, batch_size=5000)
    reviews = [Review(book_id=book.pk, rating=rng.randint(1, 5), text=rng.choice(REVIEW_TEXTS))
               for book in books for _ in range(rng.randint(*size.reviews_per_book))]
    _plain(Review).bulk_create(reviews, batch_size=5000)
    say(f"{len(links):,} book-tag links, {len(reviews):,} reviews")
    return {"publishers": len(publishers), "authors": len(authors), "tags": len(tags), "books": len(books),
            "book_tags": len(links), "reviews": len(reviews)}


def _sync(app_label: str, report: GenerationReport, progress: bool) -> None:
    """``dualdb sync`` of every mirrored model of the app, timed per model, peak memory measured."""
    from dualdb.operations import Progress, backfill
    from dualdb.registries import registry

    from .memory import PeakRSS

    chosen = [model for model in registry.models() if model._meta.app_label == app_label]
    started = time.perf_counter()
    with PeakRSS() as peak:
        for model in chosen:
            if not model._base_manager.exists():
                continue
            model_started = time.perf_counter()
            result = backfill(model, progress=Progress(sys.stderr, enabled=progress))
            seconds = time.perf_counter() - model_started
            report.sync[model._meta.label] = {"rows": result.rows, "seconds": seconds,
                                              "rows_per_s": result.rows / seconds if seconds else 0.0}
    report.sync_seconds = time.perf_counter() - started
    report.sync_peak_rss_mb = peak.megabytes
