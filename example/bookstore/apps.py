from __future__ import annotations

from django.apps import AppConfig


class BookstoreConfig(AppConfig):
    """The example shop: mirrored models, admin, and pages that read through ``.mongo()``."""

    name = "bookstore"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from .stats import install_mongo_listener

        # Before the first MongoDB client exists: pymongo hands global listeners to clients created later.
        install_mongo_listener()
