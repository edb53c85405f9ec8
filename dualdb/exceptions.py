"""The exceptions dualdb raises; all derive from :class:`DualDBError`."""

from __future__ import annotations

from pymongo.errors import ConnectionFailure


class DualDBError(Exception):
    """Root of every error dualdb raises, so callers can catch them as one."""


class ImproperlyConfigured(DualDBError):
    """The ``DUALDB`` setting or a model's ``Mirror`` options are invalid."""


class MirrorUnavailable(DualDBError, ConnectionFailure):
    """MongoDB could not be reached; the message never contains credentials.

    A pymongo ``ConnectionFailure`` too, so code that handles the driver's outage
    errors (the read path's fallback) handles this one alike.
    """


class UnmirrorableValue(DualDBError, ValueError):
    """A field value that cannot be stored in MongoDB without losing meaning."""
