"""System checks about the deployment: an unreachable mirror, unverified TLS, a missing outbox table."""

from __future__ import annotations

import socket
import time

import pytest
from django.core import checks
from django.db import connection as pg_connection
from django.test import override_settings

UNREACHABLE = "mongodb://dave:hunter2@127.0.0.1:1/x"


def run(*, databases: list[str] | None = None, deploy: bool = False) -> list[checks.CheckMessage]:
    return checks.run_checks(tags=["dualdb"], databases=databases, include_deployment_checks=deploy)


def ids(messages: list[checks.CheckMessage]) -> list[str]:
    return [message.id for message in messages]


@pytest.fixture
def unreachable(settings):
    with override_settings(DUALDB={**settings.DUALDB, "MONGO_URL": UNREACHABLE, "SERVER_SELECTION_TIMEOUT_MS": 200}):
        yield


@pytest.mark.django_db
def test_a_healthy_setup_passes_every_check():
    assert run(databases=["default"], deploy=True) == []


@pytest.mark.django_db
def test_an_unreachable_mongodb_is_a_warning_without_the_password(unreachable):
    started = time.monotonic()
    [warning] = run(databases=["default"])
    elapsed = time.monotonic() - started

    assert warning.id == "dualdb.W001" and warning.level == checks.WARNING
    assert "mongodb://dave:***@127.0.0.1:1/x" in warning.msg and "did not answer within 200 ms" in warning.msg
    assert "hunter2" not in warning.msg + warning.hint
    assert elapsed < 2


def test_the_ping_waits_only_when_asked_to_look_at_servers(unreachable):
    started = time.monotonic()
    assert run() == []
    assert time.monotonic() - started < 0.1
    assert ids(run(deploy=True)) == ["dualdb.W001"]


@pytest.mark.django_db
def test_the_ping_is_reported_once_with_both_deploy_and_databases(unreachable):
    assert ids(run(databases=["default"], deploy=True)) == ["dualdb.W001"]


def test_the_ping_never_waits_longer_than_the_setting_even_if_the_client_options_say_so(settings):
    """A server that accepts the connection and never answers, and client options asking for 30 s."""
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen()
    url = f"mongodb://127.0.0.1:{silent.getsockname()[1]}/x"
    options = {"serverSelectionTimeoutMS": 30_000, "connectTimeoutMS": 30_000, "socketTimeoutMS": 30_000}
    try:
        with override_settings(DUALDB={**settings.DUALDB, "MONGO_URL": url, "SERVER_SELECTION_TIMEOUT_MS": 300,
                                       "MONGO_CLIENT_OPTIONS": options}):
            started = time.monotonic()
            assert ids(run(deploy=True)) == ["dualdb.W001"]
            assert time.monotonic() - started < 1.5
    finally:
        silent.close()


@pytest.mark.parametrize("url_options, client_options, expected", [
    ("?tlsInsecure=true", {}, "tlsInsecure is enabled in DUALDB['MONGO_URL']"),
    ("?TLSALLOWINVALIDHOSTNAMES=true&tls=true", {}, "tlsAllowInvalidHostnames is enabled in DUALDB['MONGO_URL']"),
    ("?tls=true", {"tlsAllowInvalidCertificates": True},
     "tlsAllowInvalidCertificates is enabled in DUALDB['MONGO_CLIENT_OPTIONS']"),
    ("?tls=true", {"tlsinsecure": "true"}, "tlsInsecure is enabled in DUALDB['MONGO_CLIENT_OPTIONS']"),
    ("?tls=true&tlsAllowInvalidCertificates=false", {"tlsAllowInvalidHostnames": False}, None),
    ("", {}, None),
])
def test_tls_options_that_skip_certificate_checks_are_warnings(settings, url_options, client_options, expected):
    url = f"mongodb://u:pw@db.example:27017/app{url_options}"
    with override_settings(DUALDB={**settings.DUALDB, "MONGO_URL": url, "MONGO_CLIENT_OPTIONS": client_options}):
        messages = run()
    if expected is None:
        assert messages == []
    else:
        [warning] = messages
        assert warning.id == "dualdb.W002" and warning.msg.startswith(expected)


@pytest.mark.django_db
def test_a_missing_outbox_table_is_a_warning_naming_the_migration():
    with pg_connection.cursor() as cursor:  # rolled back with the test's transaction
        cursor.execute("ALTER TABLE dualdb_outbox RENAME TO dualdb_outbox_elsewhere")

    [warning] = run(databases=["default"])

    assert warning.id == "dualdb.W003" and warning.level == checks.WARNING
    assert "'dualdb_outbox'" in warning.msg and "'default'" in warning.msg
    assert "migrate dualdb" in warning.hint
    assert run() == [], "like Django's database checks: only when asked to look at databases"


def test_an_invalid_setting_is_an_error(settings):
    with override_settings(DUALDB={"MONGO_URI": "mongodb://typo"}):
        [error] = run(deploy=True)
    assert error.id == "dualdb.E006" and error.level == checks.ERROR and "MONGO_URI" in error.msg
