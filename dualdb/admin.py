"""Admin integration: each row's mirror status, a filter for rows still queued, and a repair action.

Mix :class:`MirroredAdminMixin` into the ``ModelAdmin`` of a ``MirroredModel``::

    @admin.register(Book)
    class BookAdmin(MirroredAdminMixin, admin.ModelAdmin):
        list_display = ["title", "author"]   # "mirror status" is added at the end

dualdb registers nothing in the admin itself.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.options import IS_POPUP_VAR
from django.contrib.admin.utils import model_ngettext
from django.contrib.admin.views.main import ChangeList
from django.db import models, router
from django.db.models.functions import Cast
from django.forms.models import BaseModelFormSet
from django.http import HttpRequest

from .capture import link_changed
from .models import OutboxEntry
from .registries import registry
from .row_status import mirror_statuses

STATUS_ATTRIBUTE = "_dualdb_mirror_status"


class MirrorStatusFilter(admin.SimpleListFilter):
    """Rows whose document waits in the outbox (``pending``) or was given up on (``failed``)."""

    title = "mirror"
    parameter_name = "mirror"
    _STATES = {"pending": OutboxEntry.State.PENDING, "failed": OutboxEntry.State.DEAD}

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [("pending", "pending"), ("failed", "failed")]

    def queryset(self, request: HttpRequest, queryset: models.QuerySet) -> models.QuerySet:
        state = self._STATES.get(self.value() or "")
        if state is None:
            return queryset
        model = queryset.model._meta.concrete_model
        # A subquery, not a list of pks: during an outage the outbox can hold many rows.
        queued = (OutboxEntry.objects.using(queryset.db)
                  .filter(model_label=model._meta.label_lower, kind=OutboxEntry.Kind.SYNC, state=state)
                  .annotate(queued_pk=Cast("object_pk", output_field=_pk_value_field(model)))
                  .values("queued_pk"))
        return queryset.filter(pk__in=queued)


class MirroredAdminMixin:
    """For the ``ModelAdmin`` of a ``MirroredModel``: a "mirror status" column, filter and action.

    The statuses of a changelist page cost one outbox query and one MongoDB
    ``find``, not one per row. Inlines of an auto-created M2M ``through`` model
    (``Book.tags.through``) are recorded here: Django sends no signal for them.
    """

    model: type[models.Model]

    @admin.display(description="mirror status")
    def mirror_status(self, obj: models.Model) -> str:
        status = getattr(obj, STATUS_ATTRIBUTE, None)
        if status is None:  # a row that did not come from the changelist page (a list_editable re-render)
            status = mirror_statuses(type(obj), [obj.pk], obj._state.db or router.db_for_read(type(obj)))[obj.pk]
        return status

    def get_list_display(self, request: HttpRequest) -> list[Any]:
        list_display = list(super().get_list_display(request))  # type: ignore[misc]
        return list_display if "mirror_status" in list_display else [*list_display, "mirror_status"]

    def get_list_filter(self, request: HttpRequest) -> list[Any]:
        list_filter = list(super().get_list_filter(request))  # type: ignore[misc]
        return list_filter if MirrorStatusFilter in list_filter else [*list_filter, MirrorStatusFilter]

    def get_changelist_instance(self, request: HttpRequest) -> ChangeList:
        changelist = super().get_changelist_instance(request)  # type: ignore[misc]
        if "mirror_status" in changelist.list_display:
            # Evaluates the page's queryset; the template then renders these same cached objects.
            page = list(changelist.result_list)
            statuses = mirror_statuses(self.model, [obj.pk for obj in page], changelist.result_list.db)
            for obj in page:
                setattr(obj, STATUS_ATTRIBUTE, statuses[obj.pk])
        return changelist

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        actions = super().get_actions(request)  # type: ignore[misc]
        if self.actions is None or IS_POPUP_VAR in request.GET:  # type: ignore[attr-defined]
            return actions  # actions switched off on this page
        if self.has_change_permission(request):  # type: ignore[attr-defined]
            action = self.get_action("remirror_selected")  # type: ignore[attr-defined]
            actions.setdefault(action[1], action)
        return actions

    @admin.action(description="Re-mirror selected %(verbose_name_plural)s")
    def remirror_selected(self, request: HttpRequest, queryset: models.QuerySet) -> None:
        """Render the selected rows' documents (and those embedding them) again, now."""
        from .api import sync

        pks = list(queryset.values_list("pk", flat=True))
        report = sync(self.model._meta.concrete_model, pks, using=router.db_for_write(self.model))
        selected = f"{len(pks)} {model_ngettext(self.opts, len(pks))}"  # type: ignore[attr-defined]
        if report.failed:
            self.message_user(  # type: ignore[attr-defined]
                request,
                f"Re-mirrored {selected}: {report.documents} documents written, {report.failed} outbox rows "
                "failed and stay queued for the relay.", messages.WARNING)
        else:
            self.message_user(  # type: ignore[attr-defined]
                request, f"Re-mirrored {selected}: {report.documents} documents written "
                "(theirs and those that embed them).", messages.SUCCESS)

    def save_formset(self, request: HttpRequest, form: Any, formset: BaseModelFormSet, change: bool) -> None:
        super().save_formset(request, form, formset, change)  # type: ignore[misc]
        record_through_inline(formset)


def record_through_inline(formset: BaseModelFormSet) -> None:
    """Record the links an inline of an auto-created ``through`` model just wrote.

    Such rows are saved and deleted one by one, and Django sends no signal for
    auto-created models: without this the documents would keep the old links.
    Custom ``through`` models send signals and are captured as usual.
    """
    through = formset.model
    if not through._meta.auto_created:
        return
    m2m_field = next((f for f in registry.embedded_m2m_fields() if f.remote_field.through is through), None)
    if m2m_field is None:
        return
    owner_name, target_name = m2m_field.m2m_field_name(), m2m_field.m2m_reverse_field_name()
    touched: list[models.Model] = [*formset.new_objects, *(obj for obj, _ in formset.changed_objects),
                                   *formset.deleted_objects]
    owners = {getattr(obj, f"{owner_name}_id") for obj in touched}
    targets = {getattr(obj, f"{target_name}_id") for obj in touched}
    for form in formset.initial_forms:  # a row re-pointed: the object it pointed at before changes too
        if form.has_changed():
            owners.add(form.initial.get(owner_name))
            targets.add(form.initial.get(target_name))
    owners.discard(None)
    targets.discard(None)
    if owners or targets:
        link_changed(m2m_field, owners, targets, router.db_for_write(through))


def _pk_value_field(model: type[models.Model]) -> models.Field:
    """An unbound field of the type the primary key's values have (through a parent link, too)."""
    field: Any = model._meta.pk
    while field.is_relation:
        field = field.target_field
    return field.clone()


__all__ = ["MirroredAdminMixin", "MirrorStatusFilter", "record_through_inline"]
