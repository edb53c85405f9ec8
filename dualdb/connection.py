"""The process-wide MongoDB client: created on first use, never at import time.

One ``MongoClient`` per process is what pymongo recommends (it pools and is
thread-safe). The same client is registered with mongoengine under
``DUALDB["MONGOENGINE_ALIAS"]`` so mongoengine documents share its pool.
"""

from __future__ import annotations

import re
from urllib.parse import quote, unquote
import threading
from typing import Any

import mongoengine
from pymongo import MongoClient
from pymongo.collection import Collection
from pymongo.database import Database
from pymongo.uri_parser import parse_uri

from .conf import dualdb_settings
from .exceptions import ImproperlyConfigured

DEFAULT_DATABASE = "dualdb"

_lock = threading.Lock()
_client: MongoClient | None = None
_database_name: str | None = None
_mongoengine_alias: str | None = None

_CREDENTIALS = re.compile(r"(?P<scheme>mongodb(?:\+srv)?://)(?P<userinfo>[^@/]*)@")


def redact_uri(uri: str) -> str:
    """Return *uri* with its password replaced by ``***`` (safe for logs and errors)."""

    def hide(match: re.Match[str]) -> str:
        user, sep, _password = match["userinfo"].partition(":")
        return f"{match['scheme']}{user}{':***' if sep else ''}@"

    return _CREDENTIALS.sub(hide, uri)


def configured_password(uri: str) -> str | None:
    """The password in *uri*, read from its text (no DNS lookup, unlike ``parse_uri`` on ``+srv``)."""
    match = _CREDENTIALS.match(uri)
    if not match or ":" not in match["userinfo"]:
        return None
    return unquote(match["userinfo"].partition(":")[2]) or None


def redact(text: str) -> str:
    """Remove credentials of the configured MongoDB URL from any message."""
    text = redact_uri(text)
    password = configured_password(dualdb_settings.MONGO_URL)
    if not password:
        return text
    for form in {password, quote(password, safe="")}:
        text = text.replace(form, "***")
    return text


def database_name_from_uri(uri: str) -> str:
    """The database named in the URL's path, as mongoengine's ``connect(host=...)`` reads it."""
    try:
        parsed = parse_uri(uri)
    except Exception as exc:  # pymongo's InvalidURI/ConfigurationError mention the URI
        raise ImproperlyConfigured(f"Invalid DUALDB['MONGO_URL'] {redact_uri(uri)!r}: {redact(str(exc))}") from None
    return parsed.get("database") or DEFAULT_DATABASE


def get_client() -> MongoClient:
    """Return the shared client, creating (but not connecting) it on first call."""
    global _client, _database_name, _mongoengine_alias
    if _client is not None:
        return _client
    with _lock:
        if _client is None:
            uri = dualdb_settings.MONGO_URL
            _database_name = database_name_from_uri(uri)
            options: dict[str, Any] = {
                "serverSelectionTimeoutMS": dualdb_settings.SERVER_SELECTION_TIMEOUT_MS,
                "connectTimeoutMS": dualdb_settings.CONNECT_TIMEOUT_MS,
                "socketTimeoutMS": dualdb_settings.SOCKET_TIMEOUT_MS,
                "uuidRepresentation": "standard",
                "tz_aware": True,
                "connect": False,
                **dualdb_settings.MONGO_CLIENT_OPTIONS,
            }
            client: MongoClient = MongoClient(uri, **options)
            _mongoengine_alias = dualdb_settings.MONGOENGINE_ALIAS
            mongoengine.register_connection(
                _mongoengine_alias,
                db=_database_name,
                uuidRepresentation="standard",
                mongo_client_class=lambda **_ignored: client,
            )
            _client = client
    return _client


def get_database() -> Database:
    """The mirror database (the URL's path, default ``dualdb``)."""
    client = get_client()
    assert _database_name is not None
    return client[_database_name]


def get_collection(name: str) -> Collection:
    return get_database()[name]


def close_client() -> None:
    """Close the shared client; the next :func:`get_client` builds a new one."""
    global _client, _database_name, _mongoengine_alias
    with _lock:
        if _client is None:
            return
        mongoengine.disconnect(_mongoengine_alias)
        _client.close()
        _client = _database_name = _mongoengine_alias = None


def is_open() -> bool:
    """Whether the shared client has been created in this process."""
    return _client is not None
