#!/usr/bin/env python3
"""`make demo`: what runs where, then a few mirrored objects and their documents.

Uses the test suite's bookstore models on the development databases; the
example site (a real Django project) grows out of this.
"""

from __future__ import annotations

import datetime
import decimal
import os
import sys
from pathlib import Path
from pprint import pprint

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def configure() -> None:
    import django
    from django.conf import settings

    from tests.settings import _database_from_url

    settings.configure(
        INSTALLED_APPS=["django.contrib.auth", "django.contrib.contenttypes", "dualdb", "tests.testapp"],
        DATABASES={"default": _database_from_url(os.environ["DUALDB_DATABASE_URL"])},
        DUALDB={"MONGO_URL": os.environ["DUALDB_MONGO_URL"]},
        USE_TZ=True,
        DEFAULT_AUTO_FIELD="django.db.models.BigAutoField",
    )
    django.setup()


def show_servers() -> None:
    from django.db import connection

    from dualdb.connection import get_client, redact_uri

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        postgres_version = cursor.fetchone()[0]
    info = get_client().server_info()
    server = f"FerretDB {info['ferretdbVersion']}" if "ferretdbVersion" in info else f"MongoDB {info['version']}"
    print(f"PostgreSQL {postgres_version:<10} {redact_uri(os.environ['DUALDB_DATABASE_URL'])}")
    print(f"{server:<21} {redact_uri(os.environ['DUALDB_MONGO_URL'])}  (MongoDB {info['version']} wire protocol)")


def mirror_a_few_books() -> None:
    from django.core.management import call_command

    import dualdb
    from tests.testapp.models import Author, Book, Publisher, Review, Tag

    call_command("migrate", verbosity=0)
    Book.objects.all().delete()
    publisher, _ = Publisher.objects.get_or_create(name="Ace Books", country="US")
    author, _ = Author.objects.update_or_create(name="Ursula K. Le Guin", defaults={"publisher": publisher})
    sf, _ = Tag.objects.get_or_create(name="sf")
    utopia, _ = Tag.objects.get_or_create(name="utopia")
    book = Book.objects.create(title="The Dispossessed", author=author, price=decimal.Decimal("12.50"),
                               published=datetime.date(1974, 5, 1))
    book.tags.set([sf, utopia])
    Review.objects.create(book=book, rating=5, text="An ambiguous utopia.")

    print("\nBook.objects.create(...) + book.tags.set(...) + Review.objects.create(...) mirrored this document:")
    pprint(dualdb.collection_for(Book).find_one({"_id": book.pk}), sort_dicts=False)

    author.name = "U. K. Le Guin"
    author.save()
    print("\nauthor.save() after a rename re-rendered the book that embeds the author:")
    pprint(dualdb.collection_for(Book).find_one({"_id": book.pk}, {"author": 1, "_v": 1}), sort_dicts=False)

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        books = Book.objects.mongo().filter(author__name__icontains="le guin", tags__name="utopia").order_by("-published")
        rows = [(b.title, b.author.name, b.author.publisher.name, [t.name for t in b.tags.all()]) for b in books]
    print(f"\nBook.objects.mongo().filter(author__name__icontains='le guin', tags__name='utopia'): {rows}")
    print(f"SQL queries for that read, relations included: {len(queries)}")


if __name__ == "__main__":
    configure()
    show_servers()
    mirror_a_few_books()
