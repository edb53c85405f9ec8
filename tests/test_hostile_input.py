"""Hostile and bad input: nothing injected, nothing lost, nothing leaked.

Filter values are checked on the exact command pymongo sent (command monitoring);
unmirrorable values must fail their own outbox row only, visibly in ``dualdb status``.
"""

from __future__ import annotations

import json
import math
from io import StringIO
from urllib.parse import quote

import pytest
from django.core import checks
from django.core.exceptions import FieldError
from django.core.management import call_command
from django.db import DataError, ProgrammingError
from django.test import override_settings

from dualdb.models import OutboxEntry
from querying.exceptions import UnsupportedLookup
from querying.fallback import MongoUnavailable
from tests.helpers import mongo_address, operators_in, run_dualdb, stored
from tests.invariants import drain
from tests.testapp.models import Author, Book, Specimen, Tag

pytestmark = pytest.mark.django_db(transaction=True)

@pytest.mark.parametrize("lookup", ["name__in", "name__icontains", "name__startswith", "name__iexact"])
@pytest.mark.parametrize("value", [["$ne", {"$gt": ""}], {"$where": "1"}, "$regex", "a.b$"])
def test_values_of_text_lookups_stay_literal(recorder, lookup, value):
    """Refused with a clear error, or sent as plain data: never as an operator."""
    Tag.objects.create(name="a.b$")
    Tag.objects.create(name="other")
    try:
        expected = sorted(Tag.objects.filter(**{lookup: value}).values_list("name", flat=True))
    except (TypeError, ValueError, ProgrammingError):  # e.g. psycopg cannot adapt a dict for iexact
        expected = None
    sent = len(recorder.filters)
    try:
        found = sorted(Tag.objects.mongo().filter(**{lookup: value}).values_list("name", flat=True))
    except (TypeError, ValueError) as error:
        assert expected is None and "name" in str(error) and len(recorder.filters) == sent
        return
    if expected is not None:
        assert found == expected
    hostile = operators_in(recorder.filters[-1])
    list(Tag.objects.mongo().filter(**{lookup: ["plain"] if isinstance(value, list) else "plain"}))
    # The same operators as for a harmless value: nothing in the value became one.
    assert hostile == operators_in(recorder.filters[-1]), recorder.filters[-2:]


@pytest.mark.parametrize("key", ["name.$ne", "$where", "name__$regex", "author.name", "tags.$[]"])
def test_lookup_keys_that_look_like_mongodb_are_errors_naming_model_and_field(key):
    with pytest.raises((FieldError, UnsupportedLookup, TypeError, ValueError), match=r"Book|\$|\."):
        list(Book.objects.mongo().filter(**{key: "x"}))


def test_a_structured_value_on_a_foreign_key_is_rejected():
    author = Author.objects.create(name="A")
    Book.objects.create(title="t", author=author)
    for value in ({"$gt": 0}, [author.pk], {"_id": author.pk}):
        with pytest.raises((TypeError, ValueError)):
            list(Book.objects.mongo().filter(author=value))


def test_a_nul_character_is_refused_by_postgres_before_anything_is_queued():
    with pytest.raises(DataError, match="NUL"):
        Tag.objects.create(name="nul\x00byte")
    assert not OutboxEntry.objects.exists()


@pytest.mark.parametrize("payload, reason", [
    ({"a.b": 1}, "'a.b'"),
    ({"nested": {"$set": 1}}, "'$set'"),
    ({"ratio": math.nan}, "NaN"),
])
def test_unmirrorable_values_dead_letter_visibly_while_others_flow(settings, payload, reason):
    with override_settings(DUALDB={**settings.DUALDB, "MAX_ATTEMPTS": 2, "RETRY_BACKOFF_SECONDS": 0}):
        if "ratio" in payload:
            bad = Specimen.objects.create(ratio=math.nan)
        else:
            bad = Specimen.objects.create(payload=payload)
        good = Specimen.objects.create(label="fine")
        drain()
        status = json.loads(run_dualdb("status", "--json")[1])

    entry = OutboxEntry.objects.get(object_pk=str(bad.pk), model_label="testapp.specimen")
    assert entry.state == "dead" and reason in entry.last_error and "testapp.Specimen" in entry.last_error
    assert stored(Specimen, bad.pk) is None and stored(Specimen, good.pk)["label"] == "fine"
    specimen = next(row for row in status if row["model"] == "testapp.specimen")
    assert specimen["dead"] == 1 and reason in specimen["last_error"]


PASSWORD = "n0t:for/your@eyes"
SECRET_URL = f"mongodb://mirror:{quote(PASSWORD, safe='')}@127.0.0.1:9/dualdb"


def test_the_password_never_appears_in_status_or_check_output(settings):
    Tag.objects.create(name="queued while MongoDB is away")
    with override_settings(DUALDB={**settings.DUALDB, "MONGO_URL": SECRET_URL, "SERVER_SELECTION_TIMEOUT_MS": 100}):
        Tag.objects.create(name="fails to mirror")  # the error lands on the outbox row
        outputs = []
        for args in (("status",), ("status", "--json"), ("check",)):
            out, err = StringIO(), StringIO()
            try:
                call_command("dualdb", *args, stdout=out, stderr=err)
            except (SystemExit, Exception) as exc:  # check cannot reach the server: its error counts too
                outputs.append(str(exc))
            outputs += [out.getvalue(), err.getvalue()]
    errors = list(OutboxEntry.objects.values_list("last_error", flat=True))
    for text in [*outputs, *errors]:
        assert PASSWORD not in text and quote(PASSWORD, safe="") not in text
    assert any("***" in text or "mirror@" in text or "127.0.0.1:9" in text for text in [*outputs, *errors])


def test_wrong_credentials_warn_at_startup_fail_clearly_and_leave_postgres_writes_alone(settings):
    host, port = mongo_address()
    wrong = f"mongodb://nobody:{quote(PASSWORD, safe='')}@{host}:{port}/dualdb?authSource=admin"
    with override_settings(DUALDB={**settings.DUALDB, "MONGO_URL": wrong, "MAX_ATTEMPTS": 1}):
        messages = checks.run_checks(tags=["dualdb"], databases=["default"])
        tag = Tag.objects.create(name="written with a wrong password")
        assert [t.name for t in Tag.objects.mongo().filter(name__startswith="written")] == [tag.name]
        with override_settings(DUALDB={**settings.DUALDB, "MONGO_URL": wrong, "READ_FALLBACK": "raise"}):
            with pytest.raises(MongoUnavailable, match="testapp.Tag.*refused dualdb's login") as raised:
                list(Tag.objects.mongo().all())

    (warning,) = [m for m in messages if m.id == "dualdb.W001"]
    assert "refused dualdb's login" in warning.msg and PASSWORD not in warning.msg
    entries = OutboxEntry.objects.filter(object_pk=str(tag.pk))
    assert entries and all(entry.state == "pending" for entry in entries), "refused access never dead-letters"
    assert all(PASSWORD not in entry.last_error for entry in entries) and PASSWORD not in str(raised.value)
    drain()  # with the right settings again
    assert stored(Tag, tag.pk)["name"] == tag.name
