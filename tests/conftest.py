"""Shared fixtures: the run's own MongoDB database, cleaned between tests."""

from __future__ import annotations

import os
import re

import pytest
from django.test import override_settings
from pymongo import monitoring
from pymongo.database import Database

from hypothesis import settings as hypothesis_settings

from dualdb import aliases, connection
from tests.helpers import mongo_address
from tests.proxy import TcpProxy
from tests.servers import PrivateMongoServer


# CI replays the same examples every run (a red build always means a change broke it);
# local runs explore new random examples each time, and failures are kept in .hypothesis/.
hypothesis_settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    hypothesis_settings.load_profile("ci")


@pytest.fixture(scope="session", autouse=True)
def _drop_mongo_database_at_end():
    yield
    if connection.is_open():
        database = connection.get_database()
        database.client.drop_database(database.name)
        connection.close_client()


@pytest.fixture
def mongo_db() -> Database:
    """The run's MongoDB database, emptied before the test."""
    database = connection.get_database()
    for name in database.list_collection_names():
        database.drop_collection(name)
    return database


@pytest.fixture(autouse=True)
def _clean_mongo_after_database_tests(request):
    """Tests that commit leave no documents behind (PostgreSQL is flushed after them too)."""
    yield
    marker = request.node.get_closest_marker("django_db")
    aliases.forget()
    if marker and marker.kwargs.get("transaction"):
        database = connection.get_database()
        for name in database.list_collection_names():
            database.drop_collection(name)


@pytest.fixture
def mongo_through_proxy(settings):
    """Route dualdb's client through a loopback proxy the test can cut."""
    proxy = TcpProxy(*mongo_address()).start()
    # Same credentials, database and options; only the address changes (one host, direct).
    url = re.sub(r"^(mongodb://(?:[^@/]*@)?)[^/?]*", rf"\g<1>127.0.0.1:{proxy.port}", settings.DUALDB["MONGO_URL"])
    url += ("&" if "?" in url else "?") + "directConnection=true"
    proxied = {**settings.DUALDB, "MONGO_URL": url, "SERVER_SELECTION_TIMEOUT_MS": 300, "MAX_ATTEMPTS": 1}
    with override_settings(DUALDB=proxied):
        yield proxy
    proxy.cut()


@pytest.fixture
def private_mongo(settings, tmp_path):
    """dualdb pointed at a server process of the test's own, to pause, kill and restart.

    Timeouts are short so an outage costs each write well under a second.
    """
    server = PrivateMongoServer(tmp_path / "mongo").start()
    database = connection.get_database().name
    own = {**settings.DUALDB, "MONGO_URL": f"{server.url}/{database}", "SERVER_SELECTION_TIMEOUT_MS": 300,
           "SOCKET_TIMEOUT_MS": 1500, "REALTIME_TIMEOUT_MS": 1000, "RETRY_BACKOFF_SECONDS": 0.05}
    with override_settings(DUALDB=own):
        yield server
    connection.close_client()
    server.close()


@pytest.fixture(scope="module")
def shared_catalogue(django_db_setup, django_db_blocker):
    """One committed catalogue for a module of read-only tests (they run in rolled-back transactions)."""
    from django.core.management import call_command

    from tests.catalogue import build

    with django_db_blocker.unblock():
        data = build()
    yield data
    with django_db_blocker.unblock():
        call_command("flush", interactive=False, verbosity=0)
        database = connection.get_database()
        for name in database.list_collection_names():
            database.drop_collection(name)


class FindRecorder(monitoring.CommandListener):
    """The filters (and whole commands) of every find/count/aggregate pymongo sends, exactly as sent."""

    def __init__(self) -> None:
        self.commands: list[dict] = []

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        if event.command_name in ("find", "count", "aggregate"):
            self.commands.append(dict(event.command))

    @property
    def filters(self) -> list[dict]:
        """What each command selects on: a find's filter, a count's query, an aggregate's pipeline."""
        return [c.get("filter") or c.get("query") or c.get("pipeline") for c in self.commands]

    def sent_to(self, collection: str) -> list[dict]:
        """The commands sent to *collection*, in order."""
        return [command for command in self.commands if command.get("find", command.get("aggregate")) == collection]

    def succeeded(self, event) -> None:
        pass

    def failed(self, event) -> None:
        pass


@pytest.fixture
def recorder(settings):
    """dualdb's client with a :class:`FindRecorder` attached."""
    listener = FindRecorder()
    options = {**settings.DUALDB.get("MONGO_CLIENT_OPTIONS", {}), "event_listeners": [listener]}
    with override_settings(DUALDB={**settings.DUALDB, "MONGO_CLIENT_OPTIONS": options}):
        yield listener
    connection.close_client()
