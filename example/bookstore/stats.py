"""What served a request: SQL queries, MongoDB commands and time, counted per request.

SQL is counted with Django's ``connection.execute_wrapper``; MongoDB with a pymongo
command listener. Both add to the counter of the request being served (a context
variable), so concurrent requests in a threaded server do not mix their counts.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from django.db import connections
from pymongo import monitoring


@dataclass
class RequestStats:
    sql: int = 0
    mongo: int = 0
    started: float = field(default_factory=time.perf_counter)

    @property
    def elapsed_ms(self) -> float:
        return (time.perf_counter() - self.started) * 1000


_current: ContextVar[RequestStats | None] = ContextVar("bookstore_request_stats", default=None)


def current() -> RequestStats | None:
    """The counters of the request being served, or None outside one."""
    return _current.get()


class _MongoCommandCounter(monitoring.CommandListener):
    def started(self, event: monitoring.CommandStartedEvent) -> None:
        stats = _current.get()
        if stats is not None:
            stats.mongo += 1

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


_installed = False


def install_mongo_listener() -> None:
    """Register the MongoDB command counter once per process (clients created afterwards use it)."""
    global _installed
    if not _installed:
        monitoring.register(_MongoCommandCounter())
        _installed = True


def _count_sql(execute: Callable[..., Any], sql: str, params: Any, many: bool, context: dict[str, Any]) -> Any:
    stats = _current.get()
    if stats is not None:
        stats.sql += 1
    return execute(sql, params, many, context)


@contextmanager
def counting() -> Iterator[RequestStats]:
    """Count the SQL queries and MongoDB commands run inside the block."""
    stats = RequestStats()
    token = _current.set(stats)
    try:
        with _sql_wrappers():
            yield stats
    finally:
        _current.reset(token)


@contextmanager
def _sql_wrappers() -> Iterator[None]:
    with ExitStack() as stack:
        for conn in connections.all():
            stack.enter_context(conn.execute_wrapper(_count_sql))
        yield
