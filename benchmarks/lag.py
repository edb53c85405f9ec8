"""Mirror lag: writes at a fixed rate with the relay running, commit-to-visible delay per write.

The writer saves one book per tick in ``"relay"`` mode (so only the relay mirrors)
and notes the time its transaction committed; the relay, a thread of this process
started as ``dualdb relay`` would run, sends the ``mirrored`` signal once a batch's
documents are written to MongoDB and its PostgreSQL transaction committed. The
delay is the time between the two (it slightly over-states the delay, never under).
Writes not visible within the drain timeout are counted as such, never dropped.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from django.apps import apps
from django.db import connections

from .timing import percentile
from .writes import mirror_mode


@dataclass
class LagResult:
    rate: float
    seconds: float
    writes: int = 0
    achieved_rate: float = 0.0
    delays: list[float] = field(default_factory=list)  # seconds, one per visible write
    not_visible: int = 0
    drain_timeout: float = 0.0
    relay_poll_seconds: float = 0.0
    relay_batch: int = 0

    def pct(self, p: float) -> float:
        """Percentile over every write; one not visible in time counts as infinitely late."""
        values = self.delays + [float("inf")] * self.not_visible
        return percentile(values, p)


def measure_lag(app_label: str, *, rate: float, seconds: float, drain_timeout: float, say,
                relay_batch: int | None = None) -> LagResult:
    from dualdb import signals
    from dualdb.conf import dualdb_settings
    from dualdb.relay import run_relay

    Book = apps.get_model(app_label, "Book")
    total = int(rate * seconds)
    pks = list(Book._base_manager.order_by("pk").values_list("pk", flat=True)[:total])
    books = {b.pk: b for b in Book._base_manager.filter(pk__in=pks)}
    committed: dict[int, float] = {}
    visible: dict[int, float] = {}
    lock = threading.Lock()
    waiting = set()

    def on_mirrored(sender, pks, **kwargs) -> None:
        if sender is not Book:
            return
        now = time.perf_counter()
        with lock:
            for pk in pks:
                if pk in waiting and pk not in visible:
                    visible[pk] = now

    result = LagResult(rate=rate, seconds=seconds, drain_timeout=drain_timeout,
                       relay_poll_seconds=dualdb_settings.RELAY_POLL_SECONDS,
                       relay_batch=relay_batch or dualdb_settings.BATCH_SIZE)
    stop = threading.Event()

    def relay() -> None:
        try:
            run_relay(stop=stop, batch_size=relay_batch)
        finally:
            connections.close_all()

    signals.mirrored.connect(on_mirrored, dispatch_uid="dualdb-bench-lag")
    thread = threading.Thread(target=relay, name="dualdb-bench-relay", daemon=True)
    try:
        with mirror_mode("relay"):
            thread.start()
            say(f"lag: {len(pks):,} writes at {rate:g}/s with the relay running")
            started = time.perf_counter()
            for index, pk in enumerate(pks):
                due = started + index / rate
                delay = due - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
                book = books[pk]
                book.title = f"{book.title.split(' ~')[0]} ~{index}"
                with lock:
                    waiting.add(pk)
                book.save()  # autocommit: committed when save() returns
                committed[pk] = time.perf_counter()
            result.writes = len(pks)
            elapsed = time.perf_counter() - started
            # n writes span n - 1 intervals: at the asked rate, that is the asked rate.
            result.achieved_rate = (len(pks) - 1) / elapsed if len(pks) > 1 and elapsed else 0.0
            deadline = time.perf_counter() + drain_timeout
            while time.perf_counter() < deadline:
                with lock:
                    if len(visible) >= len(pks):
                        break
                time.sleep(0.05)
    finally:
        stop.set()
        thread.join(timeout=120)
        signals.mirrored.disconnect(dispatch_uid="dualdb-bench-lag")
    with lock:
        result.delays = sorted(visible[pk] - committed[pk] for pk in visible if pk in committed)
        result.not_visible = len(pks) - len(result.delays)
    if result.not_visible:
        # The backlog is not drained: on a slow server that would take longer than the rest of the run.
        from dualdb.models import OutboxEntry

        say(f"lag: {result.not_visible:,} writes not visible within {drain_timeout:g}s; backlog discarded")
        OutboxEntry.objects.all().delete()
    return result
