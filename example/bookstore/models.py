"""A small bookstore, mirrored into MongoDB: each book's document embeds its author, publisher, tags and reviews.

The field names are the ones ``benchmarks/generate.py`` fills, so the sample data
of ``make demo`` comes from the benchmark generator.
"""

from __future__ import annotations

from django.db import models
from django.urls import reverse

from dualdb import MirroredModel


class Publisher(MirroredModel):
    name = models.CharField(max_length=100)
    country = models.CharField(max_length=50, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Author(MirroredModel):
    name = models.CharField(max_length=100)
    publisher = models.ForeignKey(Publisher, null=True, blank=True, on_delete=models.SET_NULL, related_name="authors")
    born = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["name"]

    # No Mirror class: the default embeds the forward FK `publisher`, one level deep.

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("bookstore:author", args=[self.pk])


class Tag(MirroredModel):
    name = models.CharField(max_length=50, unique=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Book(MirroredModel):
    title = models.CharField(max_length=200)
    author = models.ForeignKey(Author, on_delete=models.CASCADE, related_name="books")
    tags = models.ManyToManyField(Tag, blank=True, related_name="books")
    price = models.DecimalField(max_digits=8, decimal_places=2, null=True, blank=True)
    published = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["title"]

    class Mirror:
        # A list page and a detail page read one document each: everything they show is in it.
        embed = ["author", "author__publisher", "tags", "reviews"]
        indexes = ["published", "price", "tags.name"]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("bookstore:book", args=[self.pk])


class Review(MirroredModel):
    book = models.ForeignKey(Book, on_delete=models.CASCADE, related_name="reviews")
    rating = models.PositiveSmallIntegerField()
    text = models.TextField(blank=True)

    def __str__(self) -> str:
        return f"{self.rating}/5 on {self.book_id}"
