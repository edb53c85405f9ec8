"""Benchmarks of dualdb: the read paths side by side, the cost of mirroring writes, backfill and lag.

``make bench`` runs them (``python -m benchmarks --size default``); ``make bench-smoke``
runs every scenario at the ``small`` size. :func:`benchmarks.generate.populate`
builds the deterministic data set and is reusable on its own.
"""

from __future__ import annotations

from typing import Any

__all__ = ["populate", "GenerationReport", "SIZES", "run"]


def __getattr__(name: str) -> Any:
    # Lazy, so ``import benchmarks`` works before Django is configured.
    if name in ("populate", "GenerationReport", "SIZES"):
        from . import generate

        return getattr(generate, name)
    if name == "run":
        from .runner import run

        return run
    raise AttributeError(f"module 'benchmarks' has no attribute {name!r}")
