"""Interleaved repetitions, medians and p95, and ratios taken pair by pair.

Paths of one scenario run in turn within each repetition (A B C, then C B A, ...),
so a slow minute on a shared machine hits every path alike instead of whichever
happened to run then. A ratio between two paths is the median of the ratios of
the same repetition, not the ratio of two medians.
"""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Samples:
    """Seconds per repetition of one path; *ops* operations per repetition."""

    seconds: list[float] = field(default_factory=list)
    ops: int = 1

    def per_op(self) -> list[float]:
        return [value / self.ops for value in self.seconds]

    def median(self) -> float:
        return statistics.median(self.per_op()) if self.seconds else float("nan")

    def p95(self) -> float:
        return percentile(self.per_op(), 95)


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile (with few samples p95 is the slowest one: said in the report)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * pct // 100))  # ceil
    return ordered[int(rank) - 1]


def interleave(paths: dict[str, Callable[[], Any]], *, repetitions: int, warmup: int = 1, ops: int = 1,
               on_repetition: Callable[[int], None] | None = None) -> dict[str, Samples]:
    """Run every path *warmup* times untimed, then *repetitions* times interleaved, alternating the order.

    *on_repetition* runs untimed after the warm-up (with -1) and after each repetition:
    the place to reset state (drain a backlog, remove created rows).
    """
    names = list(paths)
    for _ in range(warmup):
        for name in names:
            paths[name]()
    if warmup and on_repetition:
        on_repetition(-1)
    samples = {name: Samples(ops=ops) for name in names}
    for repetition in range(repetitions):
        order = names if repetition % 2 == 0 else names[::-1]
        for name in order:
            gc.collect()
            started = time.perf_counter()
            paths[name]()
            samples[name].seconds.append(time.perf_counter() - started)
        if on_repetition:
            on_repetition(repetition)
    return samples


def paired_ratio(numerator: Samples, denominator: Samples) -> float:
    """Median over repetitions of numerator/denominator in the same repetition."""
    ratios = [a / b for a, b in zip(numerator.per_op(), denominator.per_op()) if b > 0]
    return statistics.median(ratios) if ratios else float("nan")


class QueryCounter:
    """SQL statements executed and the seconds spent executing them, for ``connection.execute_wrapper()``.

    Counted without keeping them: ``CaptureQueriesContext`` keeps at most 9,000
    and, once a run has filled the log, reports 0 for every later context.
    """

    def __init__(self) -> None:
        self.count = 0
        self.seconds = 0.0

    def __call__(self, execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
        self.count += 1
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.seconds += time.perf_counter() - started
