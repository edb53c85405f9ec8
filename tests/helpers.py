"""Reading the mirror back with plain pymongo, the way the tests check it."""

from __future__ import annotations

import io
import os
from typing import Any

from django.core.management import call_command
from django.db import models
from pymongo.uri_parser import parse_uri

import dualdb
from dualdb.models import OutboxEntry


def mongo_address() -> tuple[str, int]:
    """Host and port of the run's MongoDB-protocol server."""
    host, port = parse_uri(os.environ["DUALDB_MONGO_URL"])["nodelist"][0]
    return host, port


def stored(model: type[models.Model], pk: Any) -> dict[str, Any] | None:
    """The live document for *pk* without ``_v``; None when absent or a tombstone."""
    document = dualdb.collection_for(model).find_one({"_id": pk})
    if document is None or document.get("_deleted"):
        return None
    document.pop("_v")
    return document


def version(model: type[models.Model], pk: Any) -> int | None:
    document = dualdb.collection_for(model).find_one({"_id": pk}, {"_v": 1})
    return document["_v"] if document else None


def assert_mirrored(*instances: models.Model) -> None:
    """Each instance's document equals a fresh render of its PostgreSQL row."""
    for instance in instances:
        model = type(instance)
        assert stored(model, instance.pk) == dualdb.render(instance), f"{model.__name__} {instance.pk} differs"


def pending() -> list[tuple[str, str, str]]:
    return list(OutboxEntry.objects.filter(state="pending").values_list("kind", "model_label", "object_pk"))


def admin_form_data(response) -> dict[str, Any]:
    """What a browser posts back from an admin form page: every field of the form and its inlines as rendered."""
    forms = [response.context["adminform"].form]
    data: dict[str, Any] = {}
    for inline in response.context["inline_admin_formsets"]:
        management = inline.formset.management_form
        data.update({management.add_prefix(name): management[name].value() for name in management.fields})
        forms += inline.formset.forms
    for form in forms:
        for bound in form:
            value = bound.value()
            if value is not None and value is not False:
                data[bound.html_name] = value
    return data


def operators_in(value: Any) -> set[str]:
    """Every ``$`` key anywhere in a filter document: what a query could make the server do."""
    if isinstance(value, dict):
        return {key for key in value if key.startswith("$")} | set().union(*(operators_in(v) for v in value.values()))
    if isinstance(value, list):
        return set().union(*(operators_in(item) for item in value))
    return set()


def run_dualdb(*args: str) -> tuple[int, str]:
    """``manage.py dualdb <args>`` in-process: its exit code and what it printed to stdout."""
    out = io.StringIO()
    try:
        call_command("dualdb", *args, stdout=out, stderr=io.StringIO())
    except SystemExit as exc:
        return int(exc.code or 0), out.getvalue()
    return 0, out.getvalue()
