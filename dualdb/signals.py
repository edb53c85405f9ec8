"""Signals for monitoring the mirror: what was written, what failed, what was given up on.

Sent by the flush after its transaction commits, so a receiver sees only outcomes
that stick (and may query the database freely). Every argument is safe to log:
``error`` never contains the MongoDB password.

* ``mirrored(sender=Model, pks=[...])``: these documents now match PostgreSQL
  (for a deleted row: its tombstone was written).
* ``mirror_failed(sender=Model | None, pks=[...], error="...")``: these outbox
  rows failed and stay queued for another attempt (or were just dead-lettered).
* ``dead_lettered(sender=Model | None, pks=[...], error="...")``: these rows
  failed ``MAX_ATTEMPTS`` times and will not be retried.

For a failure, ``sender`` and ``pks`` name the changed object the outbox row
records (an embedded author, say, not each book embedding it); ``sender`` is
None when the row's model no longer exists.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.db import models
from django.dispatch import Signal

from .connection import redact

if TYPE_CHECKING:
    from .models import OutboxEntry

logger = logging.getLogger("dualdb")

mirrored = Signal()
mirror_failed = Signal()
dead_lettered = Signal()

_NAMES = {mirrored: "mirrored", mirror_failed: "mirror_failed", dead_lettered: "dead_lettered"}


def send(signal: Signal, sender: Any, **kwargs: Any) -> None:
    """Send *signal* to every receiver; one that raises is logged and never stops the flush."""
    for receiver, result in signal.send_robust(sender, **kwargs):
        if isinstance(result, Exception):
            # Django has logged the traceback on "django.dispatch"; say what it interrupted.
            logger.error("dualdb: receiver %s of the %s signal raised %s; the flush is not affected",
                         _describe(receiver), _NAMES.get(signal, "dualdb"),
                         redact(f"{type(result).__name__}: {result}"))


def _describe(receiver: Any) -> str:
    return f"{getattr(receiver, '__module__', '?')}.{getattr(receiver, '__qualname__', repr(receiver))}"


def announce_flush(written: dict[type[models.Model], list[Any]], failures: dict[OutboxEntry, BaseException],
                   dead: list[OutboxEntry]) -> None:
    """Send what one committed flush did: one signal per model (and per error message)."""
    from .outbox import describe

    for model, pks in written.items():
        if pks:
            send(mirrored, model, pks=list(pks))
    for (model, error), pks in _by_model_and_error((entry, describe(exc)) for entry, exc in failures.items()).items():
        send(mirror_failed, model, pks=pks, error=error)
    for (model, error), pks in _by_model_and_error((entry, entry.last_error) for entry in dead).items():
        send(dead_lettered, model, pks=pks, error=error)


def _by_model_and_error(rows: Iterable[tuple[OutboxEntry, str]]) -> dict[tuple[type[models.Model] | None, str], list[Any]]:
    groups: dict[tuple[type[models.Model] | None, str], dict[Any, None]] = {}
    for entry, error in rows:
        model = _model_or_none(entry.model_label)
        pk = _pk_or_text(model, entry.object_pk)
        groups.setdefault((model, error), {})[pk] = None  # a sync and a content row of one object: one pk
    return {key: list(pks) for key, pks in groups.items()}


def _pk_or_text(model: type[models.Model] | None, text: str) -> Any:
    if model is None:
        return text
    try:
        return model._meta.pk.to_python(text)
    except ValidationError:
        return text


def _model_or_none(label: str) -> type[models.Model] | None:
    from django.apps import apps

    try:
        return apps.get_model(label)
    except (LookupError, ValueError):
        return None
