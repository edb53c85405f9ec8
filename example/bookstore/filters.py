"""The book list's filters, read from the query string and applied to a ``.mongo()`` queryset."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.http import QueryDict

from querying.queryset import MongoQuerySet

#: ?order= values the list accepts, with their labels; anything else falls back to the first.
ORDERINGS: dict[str, str] = {
    "-published": "newest first",
    "published": "oldest first",
    "title": "title",
    "price": "price, low to high",
    "-price": "price, high to low",
    "author__name": "author",
}


def _price(value: str | None) -> Decimal | None:
    """A price bound from the query string; anything unparsable is ignored, not an error page."""
    if not value:
        return None
    try:
        price = Decimal(value)
    except InvalidOperation:
        return None
    return price if price.is_finite() else None


@dataclass(frozen=True)
class BookFilters:
    author: str = ""
    tag: str = ""
    min_price: Decimal | None = None
    max_price: Decimal | None = None
    order: str = "-published"

    @classmethod
    def from_query(cls, query: QueryDict) -> "BookFilters":
        order = query.get("order", "")
        return cls(
            author=query.get("author", "").strip(),
            tag=query.get("tag", "").strip(),
            min_price=_price(query.get("min_price")),
            max_price=_price(query.get("max_price")),
            order=order if order in ORDERINGS else next(iter(ORDERINGS)),
        )

    def apply(self, books: MongoQuerySet) -> MongoQuerySet:
        """The same filters the ORM would take; dualdb runs them as one MongoDB find()."""
        if self.author:
            books = books.filter(author__name__icontains=self.author)
        if self.tag:
            books = books.filter(tags__name=self.tag)
        if self.min_price is not None:
            books = books.filter(price__gte=self.min_price)
        if self.max_price is not None:
            books = books.filter(price__lte=self.max_price)
        return books.order_by(self.order, "title")
