"""The bookstore example (example/): its pages, read through ``.mongo()`` without SQL, its admin, and its fallback."""

from __future__ import annotations

import datetime
import decimal
import re
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from bookstore.models import Author, Book, Publisher, Review, Tag
from tests.helpers import admin_form_data

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def example_site(settings):
    """The example project's URLs and footer middleware, on the suite's databases."""
    settings.ROOT_URLCONF = "bookstore_site.urls"
    settings.MIDDLEWARE = ["bookstore.middleware.QueryStatsMiddleware", *settings.MIDDLEWARE]


@pytest.fixture
def shop() -> dict[str, Any]:
    """Two authors, three tags, 23 books (so the list has two pages) with reviews; mirrored on commit."""
    ace = Publisher.objects.create(name="Ace Books", country="US")
    le_guin = Author.objects.create(name="Ursula K. Le Guin", publisher=ace, born=datetime.date(1929, 10, 21))
    lem = Author.objects.create(name="Stanisław Lem")
    sf, classic, utopia = (Tag.objects.create(name=name) for name in ("sf", "classic", "utopia"))
    dispossessed = Book.objects.create(title="The Dispossessed", author=le_guin, price=decimal.Decimal("12.50"),
                                       published=datetime.date(1974, 5, 1))
    dispossessed.tags.set([sf, utopia])
    Review.objects.create(book=dispossessed, rating=5, text="An ambiguous utopia.")
    Review.objects.create(book=dispossessed, rating=4, text="Anarres!")
    solaris = Book.objects.create(title="Solaris", author=lem, price=decimal.Decimal("9.99"),
                                  published=datetime.date(1961, 1, 1))
    solaris.tags.set([sf, classic])
    for number in range(21):
        Book.objects.create(title=f"Lem volume {number:02d}", author=lem, price=decimal.Decimal(20 + number),
                            published=datetime.date(1980 + number, 1, 1))
    return {"le_guin": le_guin, "lem": lem, "dispossessed": dispossessed, "solaris": solaris}


def get(client, url: str, **params: Any):
    """GET a page, asserting it ran no SQL at all: every read went to the documents."""
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, params)
    assert response.status_code == 200, response
    assert [query["sql"] for query in queries] == []
    return response


def titles(response) -> list[str]:
    return [book.title for book in response.context["books"]]


def footer(response) -> str:
    return re.search(r'<footer id="request-stats">([^<]*)</footer>', response.content.decode())[1]


def test_list_page_reads_one_page_of_documents_with_their_relations(client, shop):
    response = get(client, "/", order="title")
    page = response.context["page"]
    assert page.paginator.count == 23 and page.paginator.num_pages == 2
    assert titles(response)[:3] == ["Lem volume 00", "Lem volume 01", "Lem volume 02"]
    assert "Served by mongodb · 0 SQL queries · " in footer(response)
    assert re.match(r"sql=0; mongodb=\d+; ms=", response["X-Queries"])

    second = get(client, "/", order="title", page=2)
    assert titles(second) == ["Lem volume 20", "Solaris", "The Dispossessed"]
    html = second.content.decode()
    assert "page 2 of 2" in html
    # The template touches embedded relations: author, the author's publisher, tags, reviews.
    assert re.search(r"The Dispossessed</a></td>\s*<td><a [^>]*>Ursula K. Le Guin</a></td>\s*<td>Ace Books</td>", html)
    assert '<a class="tag" href="?tag=utopia">utopia</a>' in html


@pytest.mark.parametrize(("params", "expected"), [
    ({"author": "le gu"}, ["The Dispossessed"]),
    ({"tag": "classic"}, ["Solaris"]),
    ({"min_price": "9", "max_price": "13", "order": "price"}, ["Solaris", "The Dispossessed"]),
    ({"min_price": "20.5", "max_price": "22", "order": "-price"}, ["Lem volume 02", "Lem volume 01"]),
    ({"tag": "sf", "author": "LEM"}, ["Solaris"]),
    ({"tag": "sf", "order": "published"}, ["Solaris", "The Dispossessed"]),
    ({"tag": "nothing"}, []),
    ({"min_price": "not a number", "tag": "utopia"}, ["The Dispossessed"]),  # a bad bound is ignored
])
def test_list_filters_from_the_query_string(client, shop, params, expected):
    assert titles(get(client, "/", **params)) == expected


def test_unknown_ordering_falls_back_to_newest_first(client, shop):
    assert titles(get(client, "/", order="internal_notes"))[0] == "Lem volume 20"


def test_book_page_shows_the_embedded_author_tags_and_reviews(client, shop):
    response = get(client, f"/books/{shop['dispossessed'].pk}/")
    html = response.content.decode()
    assert "<h1>The Dispossessed</h1>" in html
    assert f'<a href="/authors/{shop["le_guin"].pk}/">Ursula K. Le Guin</a>, published by Ace Books (US)' in html
    assert ">sf</a>" in html and ">utopia</a>" in html
    assert "Reviews (average 4.5/5)" in html and "5/5 — An ambiguous utopia." in html
    assert footer(response).startswith("0 SQL queries · ")


def test_missing_book_is_a_404(client, shop):
    assert client.get("/books/999999/").status_code == 404


def test_author_page_lists_only_their_books(client, shop):
    response = get(client, f"/authors/{shop['le_guin'].pk}/")
    assert titles(response) == ["The Dispossessed"]
    assert "Born Oct. 21, 1929. Published by Ace Books." in response.content.decode()
    assert len(get(client, f"/authors/{shop['lem'].pk}/").context["books"]) == 22


def test_editing_a_book_in_the_admin_changes_the_list_page(admin_client, client, shop):
    book = shop["solaris"]
    url = f"/admin/bookstore/book/{book.pk}/change/"
    page = admin_client.get(url)
    data = admin_form_data(page)
    data.update({"title": "Solaris (new translation)", "price": "14.00"})
    response = admin_client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else response

    listed = get(client, "/", tag="classic")
    assert titles(listed) == ["Solaris (new translation)"]
    assert "<td>14.00</td>" in listed.content.decode()
    changelist = admin_client.get("/admin/bookstore/book/")
    assert '<td class="field-mirror_status">in sync</td>' in changelist.content.decode()


def test_pages_render_from_postgresql_when_mongodb_is_unreachable(client, shop, mongo_through_proxy):
    mongo_through_proxy.cut()
    listed = client.get("/", {"tag": "sf", "order": "title"})
    assert listed.status_code == 200
    assert titles(listed) == ["Solaris", "The Dispossessed"]
    assert "Served by postgresql · " in footer(listed) and "Ace Books" in listed.content.decode()

    detail = client.get(f"/books/{shop['dispossessed'].pk}/")
    assert detail.status_code == 200 and "Reviews (average 4.5/5)" in detail.content.decode()
    author = client.get(f"/authors/{shop['lem'].pk}/")
    assert author.status_code == 200 and len(author.context["books"]) == 22


