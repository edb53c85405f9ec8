"""System checks: invalid ``Mirror`` options are errors; risky deployments are warnings.

* ``E001``–``E005``: ``Mirror`` options (each names the model and the path).
* ``E006``: the ``DUALDB`` setting itself is invalid.
* ``W001``: MongoDB does not answer. Only when the check is asked to look at
  databases (``check --database``, ``migrate``, the test runner) or with
  ``--deploy``, so plain ``manage.py`` commands never wait on the network.
* ``W002``: TLS options that switch certificate verification off.
* ``W003``: the outbox table is missing (``migrate`` not run). A warning, not an
  error: an error would stop the very ``migrate`` that creates the table.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qsl

import pymongo
from django.core import checks
from django.db import connections, router
from pymongo.common import validate
from pymongo.errors import OperationFailure, PyMongoError

from .conf import dualdb_settings
from .connection import redact, redact_uri
from .exceptions import ImproperlyConfigured
from .registries import registry

INSECURE_TLS_OPTIONS = ("tlsInsecure", "tlsAllowInvalidCertificates", "tlsAllowInvalidHostnames")


@checks.register("dualdb")
def check_mirror_options(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    messages: list[checks.CheckMessage] = []
    by_collection = defaultdict(list)
    for model in registry.models():
        spec = registry.spec(model)
        by_collection[spec.collection_name].append(model._meta.label)
        for problem in spec.problems:
            messages.append(checks.Error(problem.message, obj=model, id=problem.check_id))
    for collection, labels in sorted(by_collection.items()):
        if len(labels) > 1:
            messages.append(checks.Error(
                f"Models {', '.join(sorted(labels))} mirror into the same collection {collection!r}.",
                hint="Give each a distinct Mirror.collection.", id="dualdb.E005"))
    return messages


@checks.register("dualdb")
def check_settings(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """A misspelled ``DUALDB`` key fails here rather than at the first mirrored write."""
    try:
        dualdb_settings.MODE
    except ImproperlyConfigured as exc:
        return [checks.Error(str(exc), id="dualdb.E006")]
    return []


@checks.register("dualdb")
def check_tls_verification(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """Certificate checks switched off let anyone on the path read and change the mirror."""
    try:
        url, client_options = dualdb_settings.MONGO_URL, dualdb_settings.MONGO_CLIENT_OPTIONS
    except ImproperlyConfigured:
        return []  # reported by check_settings (E006)
    found = _insecure_options(_url_options(url), "in DUALDB['MONGO_URL']")
    found += _insecure_options(client_options.items(), "in DUALDB['MONGO_CLIENT_OPTIONS']")
    return [
        checks.Warning(
            f"{option} is enabled {where}: MongoDB's TLS certificate is not fully verified.",
            hint="Remove it and give the server's CA with tlsCAFile instead.", id="dualdb.W002")
        for option, where in found
    ]


def _url_options(url: str) -> list[tuple[str, str]]:
    """The URL's query options as written: no DNS lookup (``mongodb+srv://``), no validation."""
    query = url.partition("?")[2]
    return parse_qsl(query.replace(";", "&"), keep_blank_values=True)


def _insecure_options(options: Iterable[tuple[str, Any]], where: str) -> list[tuple[str, str]]:
    found = []
    for key, value in options:
        for name in INSECURE_TLS_OPTIONS:
            if key.lower() == name.lower():
                try:
                    enabled = validate(key, value)[1]
                except (PyMongoError, TypeError, ValueError):
                    continue  # not a boolean: pymongo refuses it when the client is created
                if enabled is True:
                    found.append((name, where))
    return found


@checks.register("dualdb", checks.Tags.database)
def check_mongo_reachable(app_configs: Any = None, databases: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """Warn at startup that the mirror is unreachable; writes still commit and wait in the outbox."""
    if databases is None:  # as Django's own database checks: only when asked to touch servers
        return []
    return _ping_mongo()


@checks.register("dualdb", deploy=True)
def check_mongo_reachable_on_deploy(app_configs: Any = None, databases: Any = None,
                                    **kwargs: Any) -> list[checks.CheckMessage]:
    if databases is not None:  # check_mongo_reachable has pinged already
        return []
    return _ping_mongo()


def _ping_mongo() -> list[checks.CheckMessage]:
    """One ping from a short-lived client, bounded by ``SERVER_SELECTION_TIMEOUT_MS`` in total.

    Not the shared client: a check should leave no connections or monitor threads behind.
    """
    try:
        url = dualdb_settings.MONGO_URL
        timeout_ms = dualdb_settings.SERVER_SELECTION_TIMEOUT_MS
        options = {**dualdb_settings.MONGO_CLIENT_OPTIONS}
    except ImproperlyConfigured:
        return []  # reported by check_settings (E006)
    # Ours win over MONGO_CLIENT_OPTIONS here: this check must not hang.
    options.update(serverSelectionTimeoutMS=timeout_ms, connectTimeoutMS=timeout_ms, connect=False)
    client = None
    try:
        client = pymongo.MongoClient(url, **options)
        with pymongo.timeout(timeout_ms / 1000):
            client.admin.command("ping")
    except PyMongoError as exc:
        reason = str(exc).split(", Timeout: ")[0]  # the topology description that follows repeats it
        problem = ("refused dualdb's login or rights" if isinstance(exc, OperationFailure)
                   else f"did not answer within {timeout_ms} ms")
        return [checks.Warning(
            redact(f"MongoDB at {redact_uri(url)} {problem}: {type(exc).__name__}: {reason}"),
            hint="Writes still commit to PostgreSQL and wait in the outbox until the relay can reach "
                 "MongoDB; .mongo() reads follow DUALDB['READ_FALLBACK']. Check DUALDB['MONGO_URL'].",
            id="dualdb.W001")]
    finally:
        if client is not None:
            client.close()
    return []


@checks.register("dualdb", checks.Tags.database)
def check_outbox_table(app_configs: Any = None, databases: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """Without the outbox table every write to a mirrored model fails."""
    from .models import OutboxEntry

    messages: list[checks.CheckMessage] = []
    for alias in databases or ():
        if not router.allow_migrate_model(alias, OutboxEntry):
            continue
        connection = connections[alias]
        with connection.cursor() as cursor:
            tables = connection.introspection.table_names(cursor)
        if OutboxEntry._meta.db_table not in tables:
            messages.append(checks.Warning(
                f"The dualdb outbox table {OutboxEntry._meta.db_table!r} does not exist in database {alias!r}: "
                "every write to a mirrored model will fail.",
                hint=f"Run `python manage.py migrate dualdb --database {alias}`.",
                obj=OutboxEntry, id="dualdb.W003"))
    return messages
