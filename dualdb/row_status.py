"""Where each row's document stands, for many rows at once (an admin page, say).

Two round trips whatever the number of rows: one outbox query in PostgreSQL and
one ``find`` in MongoDB that fetches only ``_id``, ``_v`` and ``_deleted``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from django.db import models
from pymongo.errors import PyMongoError

from querying.codecs import from_bson, to_bson
from querying.shape import DELETED_KEY, ID_KEY, VERSION_KEY

from .aliases import collection_for
from .connection import redact
from .exceptions import MirrorUnavailable
from .models import OutboxEntry

logger = logging.getLogger("dualdb")

IN_SYNC = "in sync"
PENDING = "pending"  # a sync outbox row waits for it
FAILED = "failed"  # a sync outbox row for it was dead-lettered
MISSING = "missing"  # no document, or only a tombstone
UNKNOWN = "unknown"  # MongoDB could not be asked


def mirror_statuses(model: type[models.Model], pks: Iterable[Any], using: str) -> dict[Any, str]:
    """The status of each row's document, by primary key.

    An unreachable MongoDB is logged and makes the rows without an outbox row
    ``unknown``: a page that shows statuses must still render during an outage.
    """
    model = model._meta.concrete_model
    pks = list(dict.fromkeys(pks))
    if not pks:
        return {}
    queued = _outbox_states(model, pks, using)
    live = _live_documents(model, pks)
    statuses = {}
    for pk in pks:
        state = queued.get(pk)
        if state is not None:
            statuses[pk] = FAILED if state == OutboxEntry.State.DEAD else PENDING
        elif live is None:
            statuses[pk] = UNKNOWN
        else:
            statuses[pk] = IN_SYNC if pk in live else MISSING
    return statuses


def _outbox_states(model: type[models.Model], pks: list[Any], using: str) -> dict[Any, str]:
    """Per primary key, ``dead`` if any of its sync rows is dead, else ``pending`` if one waits."""
    by_text = {str(pk): pk for pk in pks}
    rows = (OutboxEntry.objects.using(using)
            .filter(model_label=model._meta.label_lower, kind=OutboxEntry.Kind.SYNC, object_pk__in=list(by_text))
            .values_list("object_pk", "state"))
    states: dict[Any, str] = {}
    for object_pk, state in rows:
        pk = by_text[object_pk]
        if states.get(pk) != OutboxEntry.State.DEAD:
            states[pk] = state
    return states


def _live_documents(model: type[models.Model], pks: list[Any]) -> set[Any] | None:
    """Primary keys whose document exists and is not a tombstone; None when MongoDB is unreachable."""
    pk_field = model._meta.pk
    try:
        documents = collection_for(model).find(
            {ID_KEY: {"$in": [to_bson(pk_field, pk) for pk in pks]}}, {VERSION_KEY: 1, DELETED_KEY: 1})
        return {from_bson(pk_field, document[ID_KEY]) for document in documents if not document.get(DELETED_KEY)}
    except (PyMongoError, MirrorUnavailable) as exc:
        logger.warning("dualdb: mirror status of %d %s rows unknown, MongoDB did not answer: %s",
                       len(pks), model._meta.label, redact(f"{type(exc).__name__}: {exc}"))
        return None
