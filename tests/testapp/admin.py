"""The test app's models in the admin, with dualdb's mixin, as a project would register them."""

from __future__ import annotations

from django.contrib import admin

from dualdb.admin import MirroredAdminMixin

from .models import Author, Book, Category, Editor, Publisher, Review, Specimen, Tag


class MirroredAdmin(MirroredAdminMixin, admin.ModelAdmin):
    pass


class BookTagInline(admin.TabularInline):
    """The links themselves, rows of the auto-created through model (no M2M signals for these)."""

    model = Book.tags.through
    extra = 0


class ReviewInline(admin.TabularInline):
    model = Review
    extra = 0


@admin.register(Book)
class BookAdmin(MirroredAdmin):
    list_display = ["title", "author", "price"]
    exclude = ["tags"]  # edited through BookTagInline
    inlines = [BookTagInline, ReviewInline]


@admin.register(Author)
class AuthorAdmin(MirroredAdmin):
    list_display = ["name", "publisher"]


admin.site.register([Publisher, Tag, Review, Category, Specimen], MirroredAdmin)
admin.site.register(Editor)
