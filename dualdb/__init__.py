"""dualdb: PostgreSQL stays the source of truth; MongoDB serves nested reads.

The public API lives here. Names that need Django's app registry are imported
lazily, so ``import dualdb`` works before ``django.setup()``.
"""

from __future__ import annotations

from typing import Any

from .exceptions import DualDBError, ImproperlyConfigured, MirrorUnavailable, UnmirrorableValue

_LAZY = {
    "MirroredModel": ("dualdb.models", "MirroredModel"),
    "MirrorManager": ("dualdb.managers", "MirrorManager"),
    "MirrorQuerySet": ("dualdb.managers", "MirrorQuerySet"),
    "registry": ("dualdb.registries", "registry"),
    "collection_for": ("dualdb.aliases", "collection_for"),
    "sync": ("dualdb.api", "sync"),
    "render": ("dualdb.api", "render"),
}

__all__ = ["DualDBError", "ImproperlyConfigured", "MirrorUnavailable", "UnmirrorableValue", *_LAZY]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from importlib import import_module

        module, attribute = _LAZY[name]
        return getattr(import_module(module), attribute)
    raise AttributeError(f"module 'dualdb' has no attribute {name!r}")
