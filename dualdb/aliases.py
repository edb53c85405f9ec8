"""Logical collection names to physical collections, switchable by ``dualdb rebuild``.

The mapping lives in MongoDB itself (collection ``dualdb_aliases``, one document
per logical name, changed atomically by a single-document update), so resolving
it costs readers no SQL. Answers are cached for ``ALIAS_CACHE_SECONDS``; a rebuild
waits that long after a switch before it treats the old collection as idle.
"""

from __future__ import annotations

import datetime
import threading
import time

from django.db import models
from pymongo.collection import Collection
from pymongo.errors import PyMongoError

from .conf import dualdb_settings
from .connection import get_collection, get_database, redact
from .exceptions import MirrorUnavailable
from .registries import registry

ALIASES_COLLECTION = "dualdb_aliases"

_lock = threading.Lock()
_cache: dict[str, tuple[float, str]] = {}


def physical_name(logical: str, *, fresh: bool = False) -> str:
    """The collection that holds *logical* now (the logical name itself until a rebuild)."""
    now = time.monotonic()
    cached = _cache.get(logical)
    if cached and not fresh and now - cached[0] < dualdb_settings.ALIAS_CACHE_SECONDS:
        return cached[1]
    try:
        row = get_database()[ALIASES_COLLECTION].find_one({"_id": logical})
    except PyMongoError as exc:
        raise MirrorUnavailable(redact(f"cannot resolve the collection of {logical!r}: {exc}")) from exc
    name = row["physical"] if row else logical
    with _lock:
        _cache[logical] = (now, name)
    return name


def switch(logical: str, physical: str) -> None:
    """Point every reader and writer of *logical* at *physical* (atomic: one document)."""
    get_database()[ALIASES_COLLECTION].update_one(
        {"_id": logical},
        {"$set": {"physical": physical, "switched_at": datetime.datetime.now(datetime.timezone.utc)}},
        upsert=True)
    forget()


def collection_for(model: type[models.Model]) -> Collection:
    """The pymongo collection holding *model*'s documents now."""
    return get_collection(physical_name(registry.spec(model).collection_name))


def forget() -> None:
    """Drop cached answers (after a switch in this process, and between tests)."""
    with _lock:
        _cache.clear()
