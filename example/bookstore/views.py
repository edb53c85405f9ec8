"""The shop's pages. Every read goes through ``.mongo()``: one MongoDB query per list, no SQL.

The list views evaluate their querysets themselves, so the page can say which
store served them (``served_by``: "mongodb", or "postgresql" during an outage).
"""

from __future__ import annotations

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from .filters import ORDERINGS, BookFilters
from .models import Author, Book, Tag

PAGE_SIZE = 20


def book_list(request: HttpRequest) -> HttpResponse:
    filters = BookFilters.from_query(request.GET)
    page = Paginator(filters.apply(Book.objects.mongo()), PAGE_SIZE).get_page(request.GET.get("page"))
    tags = Tag.objects.mongo().order_by("name").values_list("name", flat=True)
    books = list(page.object_list)
    return render(request, "bookstore/book_list.html", {
        "page": page,
        "books": books,
        "filters": filters,
        "orderings": ORDERINGS,
        "tags": list(tags),
        "served_by": page.object_list.served_by,
    })


def book_detail(request: HttpRequest, pk: int) -> HttpResponse:
    # A missing document is looked up once in PostgreSQL before the 404 (and queued to be mirrored).
    book = get_object_or_404(Book.objects.mongo(), pk=pk)
    reviews = list(book.reviews.all())  # embedded: no query
    ratings = [review.rating for review in reviews]
    return render(request, "bookstore/book_detail.html", {
        "book": book,
        "reviews": reviews,
        "average_rating": sum(ratings) / len(ratings) if ratings else None,
    })


def author_detail(request: HttpRequest, pk: int) -> HttpResponse:
    author = get_object_or_404(Author.objects.mongo(), pk=pk)
    books = Book.objects.mongo().filter(author_id=pk).order_by("-published", "title")
    evaluated = list(books)
    return render(request, "bookstore/author_detail.html", {
        "author": author,
        "books": evaluated,
        "served_by": books.served_by,
    })
