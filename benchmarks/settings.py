"""Django settings for a benchmark run: the tests' bookstore models on databases of its own.

The servers come from ``DUALDB_DATABASE_URL`` and ``DUALDB_MONGO_URL`` (as for the
tests); the run creates a PostgreSQL database and a MongoDB database named
``dualdb_bench_<run id>`` and drops both when it ends, so it never touches the
shared ``dualdb`` databases other people use. Point ``DUALDB_MONGO_URL`` at a real
MongoDB to benchmark against it instead of the development server.
"""

from __future__ import annotations

import os
import uuid

RUN_ID = os.environ.get("DUALDB_BENCH_RUN_ID") or uuid.uuid4().hex[:8]
DATABASE_NAME = f"dualdb_bench_{RUN_ID}"


def configure() -> None:
    """Configure Django for the run (once per process) and set it up."""
    import django
    from django.conf import settings

    from tests.settings import _database_from_url, _mongo_url_with_database

    try:
        database_url = os.environ["DUALDB_DATABASE_URL"]
        mongo_url = os.environ["DUALDB_MONGO_URL"]
    except KeyError as missing:
        raise SystemExit(f"{missing.args[0]} is not set: run `make bench`, or export "
                         "DUALDB_DATABASE_URL and DUALDB_MONGO_URL.") from None
    database = _database_from_url(database_url)
    database["NAME"] = DATABASE_NAME
    settings.configure(
        INSTALLED_APPS=["django.contrib.auth", "django.contrib.contenttypes", "dualdb", "tests.testapp"],
        DATABASES={"default": database},
        DUALDB={"MONGO_URL": _mongo_url_with_database(mongo_url, DATABASE_NAME)},
        USE_TZ=True,
        TIME_ZONE="UTC",
        DEBUG=False,
        SECRET_KEY="dualdb-benchmarks-only",
        DEFAULT_AUTO_FIELD="django.db.models.BigAutoField",
        LOGGING={"version": 1, "disable_existing_loggers": False,
                 "handlers": {"console": {"class": "logging.StreamHandler"}},
                 "loggers": {"dualdb": {"handlers": ["console"], "level": "ERROR"}}},
    )
    django.setup()


def _admin_connection():
    """An autocommit connection to the server's maintenance database (CREATE/DROP DATABASE)."""
    import psycopg
    from django.conf import settings

    params = settings.DATABASES["default"]
    return psycopg.connect(dbname="postgres", user=params["USER"] or None, password=params["PASSWORD"] or None,
                           host=params["HOST"] or None, port=params["PORT"] or None, autocommit=True)


def create_databases() -> None:
    """Create the run's PostgreSQL database and its tables (the MongoDB one appears on first write)."""
    from django.core.management import call_command

    with _admin_connection() as admin:
        admin.execute(f'CREATE DATABASE "{DATABASE_NAME}"')
    call_command("migrate", verbosity=0, run_syncdb=True)


def drop_databases() -> None:
    """Drop both databases of the run (called even when the run fails)."""
    from django.db import connections

    from dualdb import connection

    try:
        database = connection.get_database()
        database.client.drop_database(database.name)
    finally:
        connection.close_client()
        connections.close_all()
        with _admin_connection() as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{DATABASE_NAME}" WITH (FORCE)')
