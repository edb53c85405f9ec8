"""Errors of the read side; all are ``ValueError``s or ``LookupError``s a view can catch."""

from __future__ import annotations


class QueryingError(Exception):
    """Root of the read side's errors."""


class UnsupportedLookup(QueryingError, LookupError):
    """A filter, ordering or field the documents cannot answer; names model, path and lookup."""

    def __init__(self, model_label: str, path: str, lookup: str | None = None, reason: str = "") -> None:
        self.model_label, self.path, self.lookup = model_label, path, lookup
        what = f"{path}__{lookup}" if lookup else path
        super().__init__(f"{model_label}.objects.mongo() cannot express {what!r}" + (f": {reason}" if reason else "."))
