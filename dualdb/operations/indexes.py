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
    """Create the wanted indexes if missing (idempotent); returns their names."""
    target = collection if collection is not None else collection_for(model)
    return [target.create_index([(key, 1)]) for key in wanted_indexes(model)]
