"""What the read side needs from the write side, as an interface (``dualdb`` implements it).

``querying`` never imports ``dualdb``: the manager hands a source to every
``MongoQuerySet`` it creates.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol

from django.db import models
from pymongo.collection import Collection

from .shape import Shape


class MirrorSource(Protocol):
    """Where a mirrored model's documents live and how to fall back to PostgreSQL."""

    model: type[models.Model]
    shape: Shape
    using: str

    def collection(self) -> Collection:
        """The pymongo collection (resolved per query, never cached at import)."""

    def postgres_queryset(self) -> models.QuerySet:
        """The ORM queryset the fallback runs on, with the embedded relations preloaded."""

    def must_read_postgres(self) -> bool:
        """True inside a transaction with uncommitted writes this model's documents depend on."""

    def supports_elem_match(self) -> bool:
        """Whether the server evaluates ``$elemMatch`` over arrays of documents (MongoDB yes, FerretDB v1 no)."""

    def fallback_policy(self) -> str:
        """``"postgres"`` (read through) or ``"raise"`` when MongoDB cannot be reached."""

    def queue_missing(self, pks: Iterable[Any]) -> None:
        """Rows found in PostgreSQL but not in MongoDB: have them mirrored."""
