"""No log record, check message or signal argument carries the MongoDB password."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import quote

import pytest
from django.core import checks
from django.test import override_settings

from dualdb import signals
from dualdb.models import OutboxEntry
from dualdb.relay import run_relay
from tests.testapp.models import Tag

PASSWORD = "Sup3r:s@cret/pw"
URL = f"mongodb://mirror:{quote(PASSWORD, safe='')}@127.0.0.1:1/secrets?authSource=admin"


def leaks(text: str) -> bool:
    return PASSWORD in text or quote(PASSWORD, safe="") in text


@pytest.mark.django_db(transaction=True)
def test_nothing_logs_the_mongodb_password(caplog, settings):
    told: list[dict[str, Any]] = []

    def monitor(sender: Any, **kwargs: Any) -> None:
        told.append(kwargs)

    def broken(sender: Any, **kwargs: Any) -> None:
        raise RuntimeError(f"receiver could not reach {URL} (password {PASSWORD})")

    signals.mirror_failed.connect(monitor)
    signals.mirror_failed.connect(broken)
    try:
        with override_settings(DUALDB={**settings.DUALDB, "MONGO_URL": URL, "SERVER_SELECTION_TIMEOUT_MS": 200}):
            with caplog.at_level(logging.DEBUG):
                Tag.objects.create(name="written while MongoDB is away")  # the on-commit flush fails
                run_relay(once=True)  # and so does the relay's batch
                list(Tag.objects.mongo().filter(name__startswith="written"))  # read falls back to PostgreSQL
                messages = checks.run_checks(tags=["dualdb"], databases=["default"], include_deployment_checks=True)
    finally:
        signals.mirror_failed.disconnect(monitor)
        signals.mirror_failed.disconnect(broken)

    assert OutboxEntry.objects.filter(attempts__gte=2).exists(), "both flushes ran and failed"
    assert "dualdb.W001" in [message.id for message in messages]
    assert told and all(not leaks(kwargs["error"]) for kwargs in told)
    assert any("RuntimeError" in record.getMessage() for record in caplog.records), "the receiver's error is logged"
    for record in caplog.records:
        assert not leaks(record.getMessage()), record.name
        assert not leaks(str(record.args)), record.name
        assert not leaks(record.exc_text or ""), record.name
        assert record.exc_info is None or not leaks(str(record.exc_info[1])), record.name
    assert not leaks(caplog.text)
    for message in messages:
        assert not leaks(f"{message.msg} {message.hint}")
