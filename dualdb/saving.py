"""``save()`` of a mirrored model in one statement: the row and its outbox rows together.

A plain ``save()`` outside a transaction is one autocommit ``UPDATE`` (or
``INSERT``). Keeping the outbox rows in the same transaction as the row they
describe used to cost ``BEGIN``, the write, a second ``INSERT`` and ``COMMIT``:
four round trips instead of one, which made a relay-mode ``save()`` 2.9× a plain
one. Here the write and its outbox rows are one data-modifying ``WITH`` statement,
atomic on its own and, outside a transaction, committed by autocommit::

    WITH dualdb_written AS (UPDATE book SET … WHERE id = %s RETURNING 1),
         dualdb_queued AS (INSERT INTO dualdb_outbox (…)
                           SELECT dualdb_rows.* FROM dualdb_written, LATERAL (VALUES (…), (…)) AS dualdb_rows
                           RETURNING id)
    SELECT dualdb_written.*, ARRAY(SELECT id FROM dualdb_queued) FROM dualdb_written

Django decides what to write (``_save_table()``: update or insert, ``select_on_save``,
``update_fields``, multi-table parents) and compiles the ``UPDATE``/``INSERT``; the
queryset's ``_update()``/``_insert()`` hand it here while a save of that model is
under way, and only the ``WITH`` around it is dualdb's.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable
from typing import Any

from django.db import connections, models, transaction
from django.db.models import sql

from .capture import content_changed, content_entries, content_kinds, note_uncommitted, outbox_insert, schedule_flush

_current: contextvars.ContextVar[SaveCapture | None] = contextvars.ContextVar("dualdb_save", default=None)


def save_table(instance: models.Model, cls: type[models.Model], using: str, save: Callable[[], bool]) -> bool:
    """Run Django's ``_save_table()`` for *cls* (*save*) so that the outbox rows of that table's write go with it."""
    from .managers import MirrorQuerySet

    model = cls._meta.concrete_model
    if not content_kinds(model):
        return save()
    if not issubclass(cls._base_manager._queryset_class, MirrorQuerySet):
        # A base manager of the user's own writes the row: the outbox rows follow it in one transaction.
        with transaction.atomic(using=using, savepoint=False):
            updated = save()
            content_changed(model, [instance._get_pk_val(cls._meta)], using, created=not updated)
        return updated
    capture = SaveCapture(instance, cls, using)
    token = _current.set(capture)
    try:
        updated = save()
    finally:
        _current.reset(token)
    capture.finish(created=not updated)
    return updated


def current_save(model: type[models.Model], using: str) -> SaveCapture | None:
    """The capture of the save of *model* on *using* under way in this context, if any."""
    capture = _current.get()
    return capture if capture is not None and capture.model is model and capture.using == using else None


class SaveCapture:
    """The outbox rows of one table's write in a ``save()``, carried by the statement that writes the row."""

    def __init__(self, instance: models.Model, cls: type[models.Model], using: str) -> None:
        self.instance = instance
        self.model = cls._meta.concrete_model
        self.using = using
        self.ids: list[int] | None = None  # None: no statement has carried them

    @property
    def pk(self) -> Any:
        """The primary key of the row this table's write is for (None until the database assigns it)."""
        return self.instance._get_pk_val(self.model._meta)

    def update(self, filtered: models.QuerySet, values: list[tuple]) -> int:
        """``filtered._update(values)`` (rows matched), with the outbox rows in the same statement."""
        query = filtered.query.chain(sql.UpdateQuery)
        query.add_update_fields(values)
        query.annotations = {}
        update_sql, update_params = query.get_compiler(self.using).as_sql()
        self.ids, returned = self._write(f"{update_sql} RETURNING 1", update_params, self.pk, created=False)
        return 1 if returned else 0

    def insert(self, obj: models.Model, fields: list[models.Field], returning_fields: list[models.Field] | None,
               raw: bool) -> list[tuple]:
        """``QuerySet._insert([obj], …)`` (the returned columns), with *obj*'s outbox rows in the same statement."""
        meta = self.model._meta
        query = sql.InsertQuery(self.model)
        query.insert_values(fields, [obj], raw=raw)
        compiler = query.get_compiler(self.using)
        # The WITH needs a RETURNING clause, and a primary key the database assigns is read from it.
        compiler.returning_fields = list(returning_fields or ()) or [meta.pk]
        [(insert_sql, insert_params)] = compiler.as_sql()
        self.ids, returned = self._write(insert_sql, insert_params, obj.pk, created=True)
        if not returning_fields:
            return []
        converters = compiler.get_converters([field.get_col(meta.db_table) for field in returning_fields])
        return list(compiler.apply_converters([returned], converters)) if converters else [returned]

    def finish(self, *, created: bool) -> None:
        """After the table's write: schedule the realtime flush, or queue the rows if no statement carried them."""
        if self.ids is None:  # nothing was written (update_fields naming no column here, a pk-only model)
            content_changed(self.model, [self.pk], self.using, created=created)
        elif self.ids:
            note_uncommitted(self.using, {self.model})
            schedule_flush(self.ids, self.using)

    def _write(self, row_sql: str, row_params: Any, pk: Any, *, created: bool) -> tuple[list[int], tuple]:
        """Run *row_sql* (``UPDATE``/``INSERT … RETURNING``) with the outbox rows: their ids, and its returned row."""
        connection = connections[self.using]
        quote = connection.ops.quote_name
        # A primary key the INSERT assigns is only known inside the statement.
        generated_pk = f"dualdb_written.{quote(self.model._meta.pk.column)}::text" if pk is None else None
        head, rows, params = outbox_insert(connection, content_entries(self.model, [pk], created=created),
                                           object_pk_sql=generated_pk)
        statement = (
            f"WITH dualdb_written AS ({row_sql}), "
            f"dualdb_queued AS ({head} SELECT dualdb_rows.* FROM dualdb_written, LATERAL (VALUES {rows}) "
            f"AS dualdb_rows RETURNING {quote('id')}) "
            f"SELECT dualdb_written.*, ARRAY(SELECT {quote('id')} FROM dualdb_queued) FROM dualdb_written")
        with connection.cursor() as cursor:
            cursor.execute(statement, (*row_params, *params))
            found = cursor.fetchone()
        return (list(found[-1]), tuple(found[:-1])) if found else ([], ())
