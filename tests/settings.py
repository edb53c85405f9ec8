"""Django settings for dualdb's test suite: real PostgreSQL, real MongoDB protocol.

The servers come from ``DUALDB_DATABASE_URL`` and ``DUALDB_MONGO_URL`` (written to
``.dev/env`` by ``make services``). Each test run mirrors into its own MongoDB
database, dropped when the run ends.
"""

from __future__ import annotations

import json
import os
import sys
import uuid
from pathlib import Path

from psycopg.conninfo import conninfo_to_dict
from pymongo.uri_parser import parse_uri

try:
    DATABASE_URL = os.environ["DUALDB_DATABASE_URL"]
    MONGO_URL = os.environ["DUALDB_MONGO_URL"]
except KeyError as missing:
    raise RuntimeError(
        f"{missing.args[0]} is not set: run the suite with `make test`, "
        "or export both DUALDB_DATABASE_URL and DUALDB_MONGO_URL."
    ) from None


# The example project's app, importable as `bookstore` as in example/manage.py (tests/test_example.py).
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "example"))

RUN_ID = os.environ.get("DUALDB_TEST_RUN_ID") or uuid.uuid4().hex[:8]


def _database_from_url(url: str) -> dict:
    params = conninfo_to_dict(url)
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": params.get("dbname", "dualdb"),
        "USER": params.get("user", ""),
        "PASSWORD": params.get("password", ""),
        "HOST": params.get("host", ""),
        "PORT": params.get("port", ""),
        # Per run, so two runs on one server (two checkouts, CI beside a developer) never collide.
        "TEST": {"NAME": f"test_{params.get('dbname', 'dualdb')}_{RUN_ID}"},
    }


def _mongo_url_with_database(url: str, database: str) -> str:
    """Swap the URL's database for a run-specific one, keeping credentials and options."""
    current = parse_uri(url).get("database")
    head, _, query = url.partition("?")
    if current:
        head = head[: head.rindex("/" + current)]
    head = head.rstrip("/")
    return f"{head}/{database}" + (f"?{query}" if query else "")


# A child process the suite starts (a relay, a writer) joins the run's database.
TEST_MONGO_DATABASE = os.environ.get("DUALDB_TEST_MONGO_DATABASE") or f"dualdb_test_{uuid.uuid4().hex[:12]}"

SECRET_KEY = "dualdb-tests-only"
DEBUG = False
USE_TZ = True
TIME_ZONE = "UTC"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "dualdb",
    "tests.testapp",
    "bookstore",
]

# The admin, for the tests that drive it through its real URLs.
ROOT_URLCONF = "tests.urls"
STATIC_URL = "/static/"
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {"default": _database_from_url(DATABASE_URL)}
if os.environ.get("DUALDB_TEST_POSTGRES_NAME"):  # a child process joins the run's test database
    DATABASES["default"]["NAME"] = os.environ["DUALDB_TEST_POSTGRES_NAME"]

DUALDB = {
    "MONGO_URL": _mongo_url_with_database(MONGO_URL, TEST_MONGO_DATABASE),
    # A child process gets the test's overrides (mode, timeouts) as JSON.
    **json.loads(os.environ.get("DUALDB_TEST_SETTINGS", "{}")),
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"dualdb": {"handlers": ["console"], "level": "WARNING"}},
}
