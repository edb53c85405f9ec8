"""Both servers work through the real drivers, and the ground floor behaves."""

from __future__ import annotations

import datetime
import logging

import pytest
from django.db import connection as pg_connection
from django.test import override_settings

from dualdb import connection
from dualdb.conf import dualdb_settings
from dualdb.exceptions import DualDBError, ImproperlyConfigured
from tests.testapp.models import Author, Publisher


@pytest.mark.django_db
def test_a_model_round_trips_through_postgres():
    publisher = Publisher.objects.create(name="Gallimard", country="FR")
    Author.objects.create(name="Camus", publisher=publisher, born=datetime.date(1913, 11, 7))

    author = Author.objects.select_related("publisher").get(name="Camus")

    assert pg_connection.vendor == "postgresql"
    assert author.publisher.country == "FR"
    assert author.born == datetime.date(1913, 11, 7)


def test_a_document_round_trips_through_pymongo(mongo_db):
    books = mongo_db["books"]
    books.insert_many([
        {"_id": 1, "title": "B", "author": {"name": "Le Guin"}, "year": 1969},
        {"_id": 2, "title": "A", "author": {"name": "Herbert"}, "year": 1965},
        {"_id": 3, "title": "C", "author": {"name": "Le Guin"}, "year": 1974},
    ])

    found = list(books.find({"author.name": "Le Guin"}).sort("year", -1))

    assert [doc["_id"] for doc in found] == [3, 1]
    assert books.count_documents({"author.name": "Le Guin"}) == 2
    assert connection.get_client().admin.command("ping")["ok"] == 1.0


def test_each_run_mirrors_into_its_own_database(mongo_db, settings):
    assert mongo_db.name == connection.database_name_from_uri(settings.DUALDB["MONGO_URL"])
    assert mongo_db.name.startswith("dualdb_test_")


def test_the_database_is_the_urls_path_with_a_default():
    assert connection.database_name_from_uri("mongodb://h:1/shop?tls=false") == "shop"
    assert connection.database_name_from_uri("mongodb://h:1") == "dualdb"


def test_settings_reject_an_unknown_key():
    with override_settings(DUALDB={"MONGO_URL": "mongodb://h/x", "MONGO_URI": "typo"}):
        with pytest.raises(ImproperlyConfigured, match=r"Unknown key\(s\) in settings.DUALDB: MONGO_URI"):
            dualdb_settings.MONGO_URL


def test_settings_reject_an_unknown_mode():
    with override_settings(DUALDB={"MODE": "eventually"}):
        with pytest.raises(ImproperlyConfigured, match="MODE"):
            dualdb_settings.MODE


def test_settings_follow_override_settings_and_keep_defaults():
    with override_settings(DUALDB={"BATCH_SIZE": 7}):
        assert dualdb_settings.BATCH_SIZE == 7
        assert dualdb_settings.MODE == "realtime"
    assert dualdb_settings.BATCH_SIZE == 500


def test_errors_share_one_root():
    assert issubclass(ImproperlyConfigured, DualDBError)


@pytest.mark.parametrize(
    "uri, expected",
    [
        ("mongodb://alice:s3cr%40t@db.example:27017/app", "mongodb://alice:***@db.example:27017/app"),
        ("mongodb+srv://bob:pw@cluster.example/app?retryWrites=true", "mongodb+srv://bob:***@cluster.example/app?retryWrites=true"),
        ("mongodb://carol@db.example/app", "mongodb://carol@db.example/app"),
        ("mongodb://db.example/app", "mongodb://db.example/app"),
    ],
)
def test_redacted_uri_hides_the_password(uri, expected):
    assert connection.redact_uri(uri) == expected


def test_an_invalid_url_is_reported_without_its_password():
    with pytest.raises(ImproperlyConfigured) as excinfo:
        connection.database_name_from_uri("mongodb://alice:hunter2@/app?bogus=")
    assert "hunter2" not in str(excinfo.value)


def test_nothing_connects_at_import_or_creation(caplog):
    """Creating the client opens no socket: an unreachable URL fails only on use, fast."""
    with override_settings(DUALDB={"MONGO_URL": "mongodb://dave:hunter2@127.0.0.1:1/x",
                                   "SERVER_SELECTION_TIMEOUT_MS": 200}):
        client = connection.get_client()
        assert connection.get_database().name == "x"
        with caplog.at_level(logging.DEBUG), pytest.raises(Exception) as excinfo:
            client.admin.command("ping")
        assert "hunter2" not in connection.redact(str(excinfo.value))
    assert connection.get_database().name.startswith("dualdb_test_")


def test_mongoengine_shares_the_client():
    import mongoengine

    client = connection.get_client()
    assert mongoengine.get_connection(dualdb_settings.MONGOENGINE_ALIAS) is client
    assert mongoengine.get_db(dualdb_settings.MONGOENGINE_ALIAS).name == connection.get_database().name
