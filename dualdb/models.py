"""``MirroredModel``, the class users subclass, and the outbox table."""

from __future__ import annotations

from typing import Any

from django.db import models, router

from .managers import MirrorManager


class MirroredModel(models.Model):
    """A model whose every committed write is mirrored into MongoDB as a nested document.

    Its default manager captures writes and offers ``.mongo()``; it is also the
    base manager, because Django's own batch writes (FK reverse ``add()``,
    ``SET_NULL`` cascades) go through ``_base_manager``, not ``objects``.
    """

    objects = MirrorManager()

    class Meta:
        abstract = True
        base_manager_name = "objects"

    def _save_table(self, raw: bool = False, cls: type[models.Model] | None = None, force_insert: Any = False,
                    force_update: bool = False, using: str | None = None, update_fields: Any = None) -> bool:
        """Each table a save writes (its own, and multi-table parents) carries its outbox rows (``dualdb.saving``)."""
        from .saving import save_table

        cls = cls or self.__class__
        using = using or router.db_for_write(self.__class__, instance=self)
        parent = super()._save_table
        return save_table(self, cls, using, lambda: parent(raw, cls, force_insert, force_update, using, update_fields))


class OutboxEntry(models.Model):
    """One pending piece of mirroring work, written in the transaction of the change.

    ``kind`` is ``sync`` (render this document again), ``content`` (this object
    changed: render every document that embeds it) or ``link`` (an M2M link of
    this object changed through ``relation``).
    """

    class Kind(models.TextChoices):
        SYNC = "sync"
        CONTENT = "content"
        LINK = "link"

    class State(models.TextChoices):
        PENDING = "pending"
        DEAD = "dead"

    id = models.BigAutoField(primary_key=True)
    model_label = models.CharField(max_length=200)
    object_pk = models.TextField()
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.SYNC)
    relation = models.CharField(max_length=300, blank=True, default="")
    # sync rows: the write created the row, so its document most likely does not exist yet
    # and the flush tries an insert first (a hint for speed; the versioned write decides).
    created = models.BooleanField(default=False)
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True, default="")
    next_attempt_at = models.DateTimeField(db_default=models.functions.Now())
    created_at = models.DateTimeField(db_default=models.functions.Now())

    class Meta:
        db_table = "dualdb_outbox"
        verbose_name = "outbox entry"
        verbose_name_plural = "outbox entries"
        indexes = [models.Index(fields=["state", "next_attempt_at", "id"], name="dualdb_outbox_due")]

    def __str__(self) -> str:
        return f"{self.kind} {self.model_label}:{self.object_pk} ({self.state})"


class SyncCheckpoint(models.Model):
    """How far ``dualdb sync`` got for a model, so an interrupted backfill resumes there."""

    model_label = models.CharField(max_length=200, primary_key=True)
    last_pk = models.TextField(blank=True, default="")
    rows_done = models.BigIntegerField(default=0)
    started_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "dualdb_sync_checkpoint"
