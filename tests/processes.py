"""Child processes of a test (relays, writers, syncs) that join the run's own databases."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

from django.conf import settings
from django.db import connection as pg_connection
from pymongo.uri_parser import parse_uri

from dualdb import connection


def child_env(**dualdb_overrides: Any) -> dict[str, str]:
    """The environment for a child running ``tests.settings`` against this test's databases.

    *dualdb_overrides* become the child's ``DUALDB`` keys (``MONGO_URL`` included:
    the database part is replaced by the run's, as in the parent).
    """
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings",
           "DUALDB_TEST_MONGO_DATABASE": connection.get_database().name,
           "DUALDB_TEST_POSTGRES_NAME": pg_connection.settings_dict["NAME"]}
    overrides = {**_active_overrides(), **dualdb_overrides}
    if "MONGO_URL" in overrides:
        env["DUALDB_MONGO_URL"] = overrides.pop("MONGO_URL")
    env["DUALDB_TEST_SETTINGS"] = json.dumps(overrides)
    return env


def _active_overrides() -> dict[str, Any]:
    """What the parent's ``DUALDB`` currently says beyond the database name (a test's ``settings`` fixture)."""
    current = dict(settings.DUALDB)
    url = current.pop("MONGO_URL")
    database = parse_uri(url).get("database")
    return {**current, "MONGO_URL": url.replace(f"/{database}", "/", 1) if database else url}


def django_command(*args: str, env: dict[str, str], **popen: Any) -> subprocess.Popen:
    """``python -m django <args>`` in a child process (a relay, a sync)."""
    return subprocess.Popen([sys.executable, "-m", "django", *args], env=env, **popen)


def worker(name: str, *args: str, env: dict[str, str], **popen: Any) -> subprocess.Popen:
    """One of the scripted writers in :mod:`tests.workers`."""
    return subprocess.Popen([sys.executable, "-m", "tests.workers", name, *args], env=env, **popen)
