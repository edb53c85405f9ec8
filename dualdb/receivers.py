"""Signal receivers for the writes that no manager method sees.

* ``post_delete`` — ``delete()`` and ``QuerySet.delete()`` run Django's deletion
  collector, which sends it (inside its transaction) for every deleted row,
  cascades included; connecting it also stops the collector from fast-deleting
  watched rows unseen.
* ``m2m_changed`` — ``add``/``remove``/``clear``/``set`` from either side.
* ``post_save``/``post_delete`` of custom ``through`` models written directly.
* ``post_save`` of models that are embedded but not mirrored themselves
  (their plain ``QuerySet.update()`` is invisible; ``dualdb.sync()`` repairs it).
* ``pre_delete`` of models that mirrored rows point at with ``SET_DEFAULT`` or
  ``SET(...)``: the collector rewrites those rows with a raw batch update, so
  they are recorded while the rows still point at the object being deleted.

Receivers are connected per model (never for every sender), so models that no
document involves keep Django's fast paths.
"""

from __future__ import annotations

from typing import Any

from django.db import models
from django.db.models.signals import m2m_changed, post_delete, post_save, pre_delete

from .capture import content_changed, link_changed
from .registries import registry

DISPATCH_PREFIX = "dualdb"


def connect_receivers() -> None:
    from .models import MirroredModel

    for model in registry.watched_models():
        post_delete.connect(_deleted, sender=model, dispatch_uid=f"{DISPATCH_PREFIX}-delete-{model._meta.label}")
        if not issubclass(model, MirroredModel):
            post_save.connect(_saved, sender=model, dispatch_uid=f"{DISPATCH_PREFIX}-save-{model._meta.label}")
    for target in {field.related_model for field in _rewritten_on_delete()}:
        pre_delete.connect(_rewrite_referrers, sender=target, dispatch_uid=f"{DISPATCH_PREFIX}-predel-{target._meta.label}")
    for m2m_field in registry.embedded_m2m_fields():
        through = m2m_field.remote_field.through
        m2m_changed.connect(_links_changed, sender=through, dispatch_uid=f"{DISPATCH_PREFIX}-m2m-{through._meta.label}")
        if not through._meta.auto_created:
            post_save.connect(_through_written, sender=through, dispatch_uid=f"{DISPATCH_PREFIX}-tsave-{through._meta.label}")
            post_delete.connect(_through_written, sender=through, dispatch_uid=f"{DISPATCH_PREFIX}-tdel-{through._meta.label}")


_CAPTURED_ON_DELETE = (models.CASCADE, models.PROTECT, models.RESTRICT, models.DO_NOTHING, models.SET_NULL)


def _rewritten_on_delete() -> list[models.ForeignKey]:
    """FKs of mirrored models whose on_delete rewrites the row unseen (SET_DEFAULT, SET(...))."""
    return [
        field for model in registry.models() for field in model._meta.concrete_fields
        if field.many_to_one and field.remote_field.on_delete not in _CAPTURED_ON_DELETE
    ]


def _rewrite_referrers(sender: type[models.Model], instance: models.Model, using: str, **kwargs: Any) -> None:
    for field in _rewritten_on_delete():
        if field.related_model is sender:
            referrers = field.model._base_manager.using(using).filter(**{field.name: instance.pk})
            content_changed(field.model, referrers.values_list("pk", flat=True), using)


def _deleted(sender: type[models.Model], instance: models.Model, using: str, **kwargs: Any) -> None:
    content_changed(sender, [instance.pk], using)


def _saved(sender: type[models.Model], instance: models.Model, using: str, raw: bool = False, **kwargs: Any) -> None:
    content_changed(sender, [instance.pk], using)


def _m2m_field_of(through: type[models.Model]) -> models.Field:
    return next(f for f in registry.embedded_m2m_fields() if f.remote_field.through is through)


def _links_changed(sender: type[models.Model], instance: models.Model, action: str, reverse: bool,
                   pk_set: set[Any] | None, using: str, **kwargs: Any) -> None:
    m2m_field = _m2m_field_of(sender)
    if action in ("post_add", "post_remove"):
        others = set(pk_set or ())
    elif action == "pre_clear":
        accessor = m2m_field.remote_field.get_accessor_name() if reverse else m2m_field.name
        others = set(getattr(instance, accessor).values_list("pk", flat=True))
    else:
        return
    if not others:
        return
    if reverse:
        link_changed(m2m_field, others, [instance.pk], using)
    else:
        link_changed(m2m_field, [instance.pk], others, using)


def _through_written(sender: type[models.Model], instance: models.Model, using: str, **kwargs: Any) -> None:
    m2m_field = _m2m_field_of(sender)
    owner = getattr(instance, m2m_field.m2m_field_name() + "_id")
    target = getattr(instance, m2m_field.m2m_reverse_field_name() + "_id")
    link_changed(m2m_field, [owner], [target], using)
