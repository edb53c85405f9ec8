"""Primary keys of a model, a batch at a time (keyset pagination: memory stays flat)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.db import models


def pk_batches(rows: models.QuerySet, batch_size: int, after: Any = None) -> Iterator[list[Any]]:
    rows = rows.order_by("pk")
    while True:
        page = rows.filter(pk__gt=after) if after is not None else rows
        pks = list(page.values_list("pk", flat=True)[:batch_size])
        if not pks:
            return
        yield pks
        after = pks[-1]
