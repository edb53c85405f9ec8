"""The bridge from dualdb's write side to ``querying``: a ``MirrorSource`` per model."""

from __future__ import annotations

from collections.abc import Iterable
from functools import cached_property
from typing import Any

from django.db import models, transaction
from django.db.models import Prefetch
from pymongo.collection import Collection

from querying.shape import Shape
from querying.where import server_matches_elements

from .capture import content_changed, uncommitted_models
from .conf import dualdb_settings
from .aliases import collection_for
from .registries import registry
from .rendering import related_lookups


# Asked once per client: a server's abilities do not change under a connection.
_ELEM_MATCH_SUPPORT: dict[int, bool] = {}


class DualDBSource:
    """What ``MongoQuerySet`` asks of the mirror: collection, fallback queryset, freshness."""

    def __init__(self, model: type[models.Model], using: str) -> None:
        self.model = model
        self.using = using
        self.spec = registry.spec(model)
        self.shape: Shape = self.spec.shape

    def collection(self) -> Collection:
        return collection_for(self.model)

    def postgres_queryset(self) -> models.QuerySet:
        """The ORM query the fallback runs: a bounded number of SQL queries, like the documents."""
        select, _prefetch = related_lookups(self.shape)
        queryset = self.model._default_manager.using(self.using)
        if select:
            queryset = queryset.select_related(*select)
        prefetch: list[str | Prefetch] = []
        for path in self.shape.paths():
            lookup = "__".join(r.name for r in path)
            if path[-1].many:  # in primary-key order, as the documents' arrays hold them
                prefetch.append(Prefetch(lookup, queryset=path[-1].shape.model._base_manager.order_by("pk")))
            elif lookup not in select:
                prefetch.append(lookup)
        return queryset.prefetch_related(*prefetch) if prefetch else queryset

    @cached_property
    def _depends_on(self) -> set[type[models.Model]]:
        models_in_shape = {self.model}
        for path in self.shape.paths():
            models_in_shape.add(path[-1].shape.model)
        return models_in_shape

    def must_read_postgres(self) -> bool:
        written = uncommitted_models(self.using)
        return bool(written and written & self._depends_on)

    def supports_elem_match(self) -> bool:
        client = self.collection().database.client
        known = _ELEM_MATCH_SUPPORT.get(id(client))
        if known is None:
            known = _ELEM_MATCH_SUPPORT[id(client)] = server_matches_elements(client.server_info())
        return known

    def fallback_policy(self) -> str:
        return dualdb_settings.READ_FALLBACK

    def queue_missing(self, pks: Iterable[Any]) -> None:
        """Queue rows PostgreSQL has and MongoDB lacks; mirrored after this transaction commits."""
        with transaction.atomic(using=self.using):
            content_changed(self.model, list(pks), self.using)
