"""Shared fixtures: the run's own MongoDB database, cleaned between tests."""

from __future__ import annotations

import pytest
from pymongo.database import Database

from dualdb import connection


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
    """Tests that touch the databases leave no documents behind for the next one."""
    yield
    if request.node.get_closest_marker("django_db") and connection.is_open():
        database = connection.get_database()
        for name in database.list_collection_names():
            database.drop_collection(name)
