"""The exceptions dualdb raises; all derive from :class:`DualDBError`."""

from __future__ import annotations


class DualDBError(Exception):
    """Root of every error dualdb raises, so callers can catch them as one."""


class ImproperlyConfigured(DualDBError):
    """The ``DUALDB`` setting or a model's ``Mirror`` options are invalid."""


class MirrorUnavailable(DualDBError):
    """MongoDB could not be reached; the message never contains credentials."""


class UnmirrorableValue(DualDBError, ValueError):
    """A field value that cannot be stored in MongoDB without losing meaning."""
