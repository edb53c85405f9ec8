"""One settings object for dualdb, read from the ``DUALDB`` Django setting.

Values are looked up on every attribute access (and cached until Django sends
``setting_changed``), so ``override_settings(DUALDB=...)`` reaches every part of
the library — nothing copies a setting into a class attribute at import time.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver

from .exceptions import ImproperlyConfigured

DEFAULTS: dict[str, Any] = {
    # Where the mirror lives; the database is the URL's path (default "dualdb").
    "MONGO_URL": "mongodb://127.0.0.1:27017/dualdb",
    # Extra keyword arguments for pymongo.MongoClient (TLS, pool sizes, ...).
    "MONGO_CLIENT_OPTIONS": {},
    # How long a request may wait for MongoDB before giving up; keeps writes fast
    # during an outage (pymongo's own default is 30 s).
    "SERVER_SELECTION_TIMEOUT_MS": 2000,
    # How long opening a connection (TCP and the handshake) may take: pymongo's own
    # 20 s would let a hung server (accepting, never answering) stall each write.
    "CONNECT_TIMEOUT_MS": 2000,
    # How long one MongoDB operation may wait for its answer: a server that accepts
    # a request and never answers must not hang a request or a relay forever.
    "SOCKET_TIMEOUT_MS": 30000,
    # Alias under which the same client is registered with mongoengine.
    "MONGOENGINE_ALIAS": "dualdb",
    # "realtime": flush on commit, relay as safety net; "relay": outbox only.
    "MODE": "realtime",
    # Outbox rows claimed per relay batch / per flush transaction.
    "BATCH_SIZE": 500,
    # The most one commit waits for its on-commit flush (every MongoDB round trip of
    # it, pymongo's client-side operation timeout); past it the rows wait for the relay.
    "REALTIME_TIMEOUT_MS": 3000,
    # A fan-out larger than this is left to the relay instead of the writer's request.
    "REALTIME_FANOUT_LIMIT": 1000,
    # Attempts before an outbox row is dead-lettered.
    "MAX_ATTEMPTS": 8,
    # Exponential backoff between attempts: base * 2**(attempts-1), capped.
    "RETRY_BACKOFF_SECONDS": 1.0,
    "RETRY_BACKOFF_MAX_SECONDS": 300.0,
    # How long the relay sleeps when the outbox is empty.
    "RELAY_POLL_SECONDS": 0.5,
    # How long a process trusts its answer to "which collection is live" (see rebuild).
    "ALIAS_CACHE_SECONDS": 2.0,
    # Tombstones (left by deletes) older than this are purged by the relay.
    "TOMBSTONE_TTL_SECONDS": 3600,
    # .mongo() when MongoDB is unreachable: "postgres" (read through) or "raise".
    "READ_FALLBACK": "postgres",
    # .mongo() on a lookup the documents cannot answer: False raises UnsupportedLookup,
    # True runs that query on PostgreSQL (per query: .mongo(fallback=True)).
    "UNSUPPORTED_FALLBACK": False,
}

_VALID_MODES = ("realtime", "relay")


class DualDBSettings:
    """Attribute access to the ``DUALDB`` setting with defaults and validation."""

    def __init__(self, defaults: dict[str, Any] | None = None) -> None:
        self._defaults = defaults or DEFAULTS
        self._cache: dict[str, Any] | None = None

    def _load(self) -> dict[str, Any]:
        user = getattr(settings, "DUALDB", {}) or {}
        if not isinstance(user, dict):
            raise ImproperlyConfigured(f"settings.DUALDB must be a dict, not {type(user).__name__}.")
        unknown = sorted(set(user) - set(self._defaults))
        if unknown:
            raise ImproperlyConfigured(
                f"Unknown key(s) in settings.DUALDB: {', '.join(unknown)}. "
                f"Valid keys: {', '.join(sorted(self._defaults))}."
            )
        merged = {**self._defaults, **user}
        if merged["READ_FALLBACK"] not in ("postgres", "raise"):
            raise ImproperlyConfigured(
                f"settings.DUALDB['READ_FALLBACK'] must be 'postgres' or 'raise', not {merged['READ_FALLBACK']!r}."
            )
        if merged["MODE"] not in _VALID_MODES:
            raise ImproperlyConfigured(
                f"settings.DUALDB['MODE'] must be one of {_VALID_MODES}, not {merged['MODE']!r}."
            )
        return merged

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        if self._cache is None:
            self._cache = self._load()
        try:
            return self._cache[name]
        except KeyError:
            raise AttributeError(f"Unknown dualdb setting {name!r}.") from None

    def reload(self) -> None:
        """Forget cached values; the next access reads ``settings.DUALDB`` again."""
        self._cache = None


dualdb_settings = DualDBSettings()


@receiver(setting_changed)
def _reload_on_setting_changed(*, setting: str, **kwargs: Any) -> None:
    if setting == "DUALDB":
        dualdb_settings.reload()
        from .connection import close_client

        close_client()
