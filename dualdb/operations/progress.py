"""Progress of long work: a bar with rows/s and ETA on a terminal, plain periodic lines otherwise."""

from __future__ import annotations

import time
from typing import TextIO

LINE_EVERY_SECONDS = 10.0
BAR_WIDTH = 30


class Progress:
    def __init__(self, stream: TextIO, *, enabled: bool = True) -> None:
        self.stream = stream
        self.enabled = enabled
        self.tty = enabled and hasattr(stream, "isatty") and stream.isatty()
        self.label, self.total, self.done, self.started, self.last_line = "", 0, 0, 0.0, 0.0
        self.start_done = 0

    def start(self, label: str, total: int, done: int = 0) -> None:
        self.label, self.total, self.done, self.start_done = label, total, done, done
        self.started = self.last_line = time.monotonic()
        self._show(force=True)

    def advance(self, rows: int) -> None:
        self.done += rows
        self._show()

    def finish(self) -> None:
        self._show(force=True)
        if self.tty:
            self.stream.write("\n")
        self.stream.flush()

    def rate(self) -> float:
        elapsed = time.monotonic() - self.started
        return (self.done - self.start_done) / elapsed if elapsed > 0 else 0.0

    def _show(self, force: bool = False) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        rate = self.rate()
        remaining = max(self.total - self.done, 0)
        eta = f"{remaining / rate:,.0f}s" if rate > 0 else "?"
        if self.tty:
            filled = int(BAR_WIDTH * self.done / self.total) if self.total else BAR_WIDTH
            bar = "#" * filled + "-" * (BAR_WIDTH - filled)
            self.stream.write(f"\r{self.label} [{bar}] {self.done:,}/{self.total:,} {rate:,.0f} rows/s ETA {eta}  ")
            self.stream.flush()
        elif force or now - self.last_line >= LINE_EVERY_SECONDS:
            self.last_line = now
            self.stream.write(f"{self.label}: {self.done:,}/{self.total:,} rows, {rate:,.0f} rows/s, ETA {eta}\n")
            self.stream.flush()
