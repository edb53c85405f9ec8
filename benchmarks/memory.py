"""Peak resident memory of a block of work, from the kernel (no tracing overhead on the timings)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

STATUS = Path("/proc/self/status")
CLEAR_REFS = Path("/proc/self/clear_refs")


def _status_kb(key: str) -> int | None:
    try:
        for line in STATUS.read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


class PeakRSS:
    """Peak RSS growth over the block in MB (Linux: resets the high-water mark first); None elsewhere."""

    def __init__(self) -> None:
        self.megabytes: float | None = None
        self._start: int | None = None

    def __enter__(self) -> "PeakRSS":
        try:
            CLEAR_REFS.write_text("5")  # "5" resets VmHWM to the current RSS
            self._start = _status_kb("VmRSS")
        except OSError:
            self._start = None
        return self

    def __exit__(self, *exc: Any) -> None:
        peak = _status_kb("VmHWM")
        if self._start is not None and peak is not None:
            self.megabytes = round(max(peak - self._start, 0) / 1024, 1)
