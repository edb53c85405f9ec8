"""The manager and queryset that capture every batch write of a mirrored model."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from django.db import models, transaction

if TYPE_CHECKING:
    from querying.queryset import MongoQuerySet

logger = logging.getLogger("dualdb")


class MirrorQuerySet(models.QuerySet):
    """A ``QuerySet`` whose batch writes leave outbox rows in the same transaction.

    ``save()`` and ``delete()`` are captured on the model and by delete signals;
    this class covers what bypasses them: ``update()``, ``bulk_create()`` and
    ``bulk_update()``. Subclass it for your own queryset methods.
    """

    def update(self, **kwargs: Any) -> int:
        """``QuerySet.update()`` that records the primary keys of the rows it changed."""
        from .capture import content_changed

        with transaction.atomic(using=self.db, savepoint=False):
            # Lock the rows first, then update exactly those: a row that starts to
            # match in between is left alone rather than changed unseen.
            locked = list(
                self.model._base_manager.using(self.db)
                .filter(pk__in=self.order_by().values("pk"))
                .select_for_update(of=("self",))
                .values_list("pk", flat=True)
            )
            if not locked:
                return 0
            rows = super(MirrorQuerySet, self.filter(pk__in=locked)).update(**kwargs)
            content_changed(self.model, locked, self.db)
        return rows

    update.alters_data = True

    def bulk_create(self, objs: Iterable[models.Model], *args: Any, **kwargs: Any) -> list[models.Model]:
        """``QuerySet.bulk_create()`` that records the new rows (not those ``ignore_conflicts`` skips)."""
        from .capture import content_changed

        with transaction.atomic(using=self.db, savepoint=False):
            created = super().bulk_create(objs, *args, **kwargs)
            pks = [obj.pk for obj in created if obj.pk is not None]
            if len(pks) < len(created):
                logger.warning(
                    "%s.bulk_create() could not report the primary keys of %d rows (ignore_conflicts?): "
                    "call dualdb.sync() with their primary keys to mirror them.",
                    self.model._meta.label, len(created) - len(pks))
            content_changed(self.model, pks, self.db, created=True)
        return created

    bulk_create.alters_data = True

    def bulk_update(self, objs: Sequence[models.Model], fields: Sequence[str], *args: Any, **kwargs: Any) -> int:
        """``QuerySet.bulk_update()`` that records the objects passed in."""
        from .capture import content_changed

        objs = list(objs)
        with transaction.atomic(using=self.db, savepoint=False):
            rows = super().bulk_update(objs, fields, *args, **kwargs)
            content_changed(self.model, [obj.pk for obj in objs], self.db)
        return rows

    bulk_update.alters_data = True

    # save() of a mirrored model: Django compiles the row's UPDATE or INSERT, dualdb.saving adds the outbox rows.
    def _update(self, values: list[tuple]) -> int:
        from .saving import current_save

        capture = current_save(self.model, self.db)
        if capture is None or self.query.is_sliced:
            return super()._update(values)
        self._result_cache = None
        return capture.update(self, values)

    _update.alters_data = True
    _update.queryset_only = False

    def _insert(self, objs: list[models.Model], fields: list[models.Field], returning_fields: Any = None,
                raw: bool = False, using: str | None = None, on_conflict: Any = None, **kwargs: Any) -> list[tuple]:
        from .saving import current_save

        capture = current_save(self.model, using or self.db)
        if capture is None or len(objs) != 1 or on_conflict is not None:
            return super()._insert(objs, fields, returning_fields, raw=raw, using=using, on_conflict=on_conflict,
                                   **kwargs)
        return capture.insert(objs[0], fields, returning_fields, raw)

    _insert.alters_data = True
    _insert.queryset_only = False

    def mongo(self, *, fallback: bool | None = None) -> "MongoQuerySet":
        """Read this model's documents from MongoDB with the same query syntax.

        ``fallback=True`` runs on PostgreSQL what the documents cannot answer
        instead of raising ``UnsupportedLookup`` (default: ``DUALDB["UNSUPPORTED_FALLBACK"]``).
        """
        from querying.queryset import MongoQuerySet

        from .conf import dualdb_settings
        from .reading import DualDBSource

        if self.query.has_filters() or self.query.order_by or self.query.is_sliced:
            raise TypeError("Call .mongo() on the manager (Model.objects.mongo().filter(...)), "
                            "not on a filtered, ordered or sliced QuerySet.")
        allowed = dualdb_settings.UNSUPPORTED_FALLBACK if fallback is None else fallback
        return MongoQuerySet(self.model, DualDBSource(self.model, self.db), fallback_allowed=allowed)


class MirrorManager(models.Manager.from_queryset(MirrorQuerySet)):  # type: ignore[misc]
    """The default (and base) manager of every ``MirroredModel``."""
