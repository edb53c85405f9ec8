"""dualdb: PostgreSQL stays the source of truth; MongoDB serves nested reads.

The public API lives here. Names that need Django's app registry are imported
lazily, so ``import dualdb`` works before ``django.setup()``.
"""

from __future__ import annotations

from .exceptions import DualDBError, ImproperlyConfigured, MirrorUnavailable, UnmirrorableValue

__all__ = [
    "DualDBError",
    "ImproperlyConfigured",
    "MirrorUnavailable",
    "UnmirrorableValue",
]
