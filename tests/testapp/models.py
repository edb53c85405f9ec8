"""The small bookstore graph the whole suite exercises."""

from __future__ import annotations

import uuid

from django.db import models

from dualdb.managers import MirrorManager, MirrorQuerySet
from dualdb.models import MirroredModel


class PublisherQuerySet(MirrorQuerySet):
    """A user's own queryset, built on dualdb's so its batch writes stay captured."""

    def in_country(self, country: str) -> "PublisherQuerySet":
        return self.filter(country=country)


class Publisher(MirroredModel):
    name = models.CharField(max_length=100)
    country = models.CharField(max_length=50, blank=True)

    objects = MirrorManager.from_queryset(PublisherQuerySet)()

    def __str__(self) -> str:
        return self.name


class Author(MirroredModel):
    name = models.CharField(max_length=100)
    publisher = models.ForeignKey(Publisher, null=True, blank=True, on_delete=models.SET_NULL)
    born = models.DateField(null=True, blank=True)

    class Mirror:
        embed = ["publisher", "books"]

    def __str__(self) -> str:
        return self.name


class Tag(MirroredModel):
    name = models.CharField(max_length=50, unique=True)

    class Mirror:
        embed = ["books"]

    def __str__(self) -> str:
        return self.name


class Editor(models.Model):
    """Embedded in books but not mirrored itself: watched through its signals."""

    name = models.CharField(max_length=100)


class Book(MirroredModel):
    title = models.CharField(max_length=200)
    author = models.ForeignKey(Author, on_delete=models.CASCADE, related_name="books")
    editor = models.ForeignKey(Editor, null=True, blank=True, on_delete=models.SET_NULL, related_name="books")
    tags = models.ManyToManyField(Tag, blank=True, related_name="books")
    price = models.DecimalField(max_digits=8, decimal_places=2, null=True, blank=True)
    published = models.DateField(null=True, blank=True)
    internal_notes = models.TextField(blank=True)

    class Meta:
        ordering = ["title"]

    class Mirror:
        collection = "books"
        embed = ["author", "author__publisher", "editor", "tags", "reviews"]
        exclude = ["internal_notes"]

    def __str__(self) -> str:
        return self.title


class Review(MirroredModel):
    book = models.ForeignKey(Book, on_delete=models.CASCADE, related_name="reviews")
    rating = models.PositiveSmallIntegerField()
    text = models.TextField(blank=True)


class Category(MirroredModel):
    name = models.CharField(max_length=100)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.CASCADE, related_name="children")

    class Mirror:
        depth = 2


class Specimen(MirroredModel):
    """One field of every kind whose storage the docs promise."""

    amount = models.DecimalField(max_digits=12, decimal_places=4, null=True)
    ratio = models.FloatField(null=True)
    flag = models.BooleanField(default=False)
    day = models.DateField(null=True)
    moment = models.DateTimeField(null=True)
    clock = models.TimeField(null=True)
    span = models.DurationField(null=True)
    token = models.UUIDField(default=uuid.uuid4)
    payload = models.JSONField(null=True)
    attachment = models.FileField(upload_to="specimens/", blank=True)
    blob = models.BinaryField(null=True)
    label = models.CharField(max_length=50, blank=True)
    # SET_DEFAULT rows are rewritten by the deletion collector with a raw batch update.
    publisher = models.ForeignKey(Publisher, null=True, blank=True, default=None,
                                  on_delete=models.SET_DEFAULT, related_name="+")


class Shelf(MirroredModel):
    """Books on a shelf through a model of the user's own (written directly, with signals)."""

    name = models.CharField(max_length=50)
    books = models.ManyToManyField(Book, through="ShelfEntry", related_name="shelves")

    class Mirror:
        embed = ["books"]


class ShelfEntry(models.Model):
    shelf = models.ForeignKey(Shelf, on_delete=models.CASCADE)
    book = models.ForeignKey(Book, on_delete=models.CASCADE)
    position = models.PositiveSmallIntegerField(default=0)


class Place(MirroredModel):
    """A multi-table inheritance parent with documents of its own."""

    name = models.CharField(max_length=100)


class Shop(Place):
    """Saving a shop writes two tables: each carries its outbox rows."""

    trade = models.CharField(max_length=50)
