"""A small, seeded bookstore with the awkward corners the read path must get right.

NULL prices, dates and publishers; non-ASCII and regex-special names; books with
no tags and books with several; equal titles to exercise tie-breaking.
"""

from __future__ import annotations

import datetime
import decimal
import random

from tests.testapp.models import Author, Book, Publisher, Review, Tag

NAMES = ["Le Guin", "Lem", "Šalamun", "Öztürk", "le carré", "Leckie", "Ishiguro", "O'Brien", "a.b*c", "Ngũgĩ"]
TAGS = ["sf", "SF", "classic", "ünïcode", "c++", "(paren)", "fantasy", "100%"]
WORDS = ["The", "Left", "Hand", "of", "Darkness", "Solaris", "ß", "Ωmega", "a+b", "[x]", "Dune", "Dune"]


def build(seed: int = 7, books: int = 40) -> dict[str, list]:
    """Create the catalogue, then mirror it with one relay run (faster than flushing every write)."""
    from django.conf import settings
    from django.test import override_settings

    from dualdb.relay import run_relay

    with override_settings(DUALDB={**settings.DUALDB, "MODE": "relay"}):
        data = _create(random.Random(seed), books)
    run_relay(once=True)
    return data


def _create(rng: random.Random, books: int) -> dict[str, list]:
    publishers = [Publisher.objects.create(name=name, country=country)
                  for name, country in [("Ace", "US"), ("Gollancz", "UK"), ("Éditions Ω", "FR")]]
    authors = [Author.objects.create(name=name, publisher=rng.choice([*publishers, None]),
                                     born=rng.choice([None, datetime.date(1900 + rng.randrange(100), 1 + rng.randrange(12), 1 + rng.randrange(28))]))
               for name in NAMES]
    tags = [Tag.objects.create(name=name) for name in TAGS]
    created = []
    for index in range(books):
        title = " ".join(rng.choice(WORDS) for _ in range(rng.randrange(1, 4)))
        book = Book.objects.create(
            title=title if index % 7 else "Dune",
            author=rng.choice(authors),
            price=rng.choice([None, decimal.Decimal(rng.randrange(0, 5000)) / 100]),
            published=rng.choice([None, datetime.date(1950 + rng.randrange(70), 1 + rng.randrange(12), 1 + rng.randrange(28))]),
        )
        book.tags.set(rng.sample(tags, rng.randrange(0, 4)))
        for _ in range(rng.randrange(0, 4)):
            Review.objects.create(book=book, rating=rng.randrange(1, 6), text=rng.choice(["", "great", "Ωk"]))
        created.append(book)
    return {"publishers": publishers, "authors": authors, "tags": tags, "books": created}
