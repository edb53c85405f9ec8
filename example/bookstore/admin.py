"""Every bookstore model in the admin, with dualdb's mixin: a mirror status column, filter and re-mirror action."""

from __future__ import annotations

from django.contrib import admin

from dualdb.admin import MirroredAdminMixin

from .models import Author, Book, Publisher, Review, Tag


class ReviewInline(admin.TabularInline):
    model = Review
    extra = 0


@admin.register(Book)
class BookAdmin(MirroredAdminMixin, admin.ModelAdmin):
    list_display = ["title", "author", "price", "published"]
    list_select_related = ["author"]
    search_fields = ["title", "author__name"]
    filter_horizontal = ["tags"]  # saved with tags.set(): captured like any M2M write
    inlines = [ReviewInline]


@admin.register(Author)
class AuthorAdmin(MirroredAdminMixin, admin.ModelAdmin):
    list_display = ["name", "publisher", "born"]
    list_select_related = ["publisher"]
    search_fields = ["name"]


@admin.register(Publisher)
class PublisherAdmin(MirroredAdminMixin, admin.ModelAdmin):
    list_display = ["name", "country"]


@admin.register(Tag)
class TagAdmin(MirroredAdminMixin, admin.ModelAdmin):
    list_display = ["name"]


@admin.register(Review)
class ReviewAdmin(MirroredAdminMixin, admin.ModelAdmin):
    list_display = ["book", "rating"]
    list_select_related = ["book"]
    raw_id_fields = ["book"]
