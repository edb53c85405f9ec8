"""MongoDB indexes: the ones ``Mirror.indexes`` declares and the ones dualdb's fan-out needs."""

from __future__ import annotations

from django.db import models
from pymongo.collection import Collection

from ..aliases import collection_for
from ..registries import registry


def wanted_indexes(model: type[models.Model]) -> list[str]:
    """Declared keys plus ``<path>._id`` of every embedded relation (the fan-out looks documents up by it)."""
    from querying.shape import mongo_path

    spec = registry.spec(model)
    keys = list(spec.options.indexes)
    keys += [f"{mongo_path(path)}._id" for path in spec.shape.paths()]
    return list(dict.fromkeys(keys))


def ensure_indexes(model: type[models.Model], collection: Collection | None = None) -> list[str]:
    """Create the wanted indexes that are missing; returns the names of all of them.

    Existing ones are not sent again: FerretDB v1 takes a server-wide lock for every
    ``createIndexes`` and can deadlock against concurrent writes while holding it.
    """
    target = collection if collection is not None else collection_for(model)
    existing = {tuple(info["key"]): name for name, info in target.index_information().items()}
    return [existing.get(((key, 1),)) or target.create_index([(key, 1)]) for key in wanted_indexes(model)]
