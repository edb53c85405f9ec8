"""Machine and server facts for the results, and the machine's load while the run went."""

from __future__ import annotations

import os
import platform
import statistics
import sys
import threading
import time
from importlib.metadata import PackageNotFoundError, version
from typing import Any


def _package(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "not installed"


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _memory_gb() -> float | None:
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemTotal:"):
                    return round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return None


def machine_facts() -> dict[str, Any]:
    """Cores, versions of everything involved, and what the MongoDB-protocol server really is."""
    from django.db import connection

    from dualdb.connection import get_client

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        postgres = cursor.fetchone()[0]
    info = get_client().server_info()
    if "ferretdbVersion" in info:
        backend = os.environ.get("DUALDB_FERRETDB_BACKEND", "SQLite (as `make services` runs it)")
        server = f"FerretDB {info['ferretdbVersion']} over {backend}, speaking the MongoDB {info['version']} wire protocol"
    else:
        server = f"MongoDB {info['version']}"
    return {
        "cores": os.cpu_count(), "cpu": _cpu_model(), "memory_gb": _memory_gb(),
        "os": f"{platform.system()} {platform.release()}",
        "python": sys.version.split()[0], "django": _package("django"), "pymongo": _package("pymongo"),
        "psycopg": _package("psycopg"), "postgresql": postgres, "mongo_server": server,
        "is_ferretdb": "ferretdbVersion" in info,
    }


class LoadSampler:
    """The 1-minute load average every few seconds while the run goes (the machine may be shared)."""

    def __init__(self, every: float = 5.0) -> None:
        self.every = every
        self.samples: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="dualdb-bench-load", daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.samples.append(os.getloadavg()[0])
            self._stop.wait(self.every)

    def __enter__(self) -> "LoadSampler":
        self.cpu_started = time.process_time()
        self.wall_started = time.perf_counter()
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join()
        self.cpu = time.process_time() - self.cpu_started
        self.wall = time.perf_counter() - self.wall_started

    def summary(self) -> dict[str, Any]:
        values = self.samples or [os.getloadavg()[0]]
        return {"loadavg_1m_min": min(values), "loadavg_1m_median": statistics.median(values),
                "loadavg_1m_max": max(values), "cores": os.cpu_count(),
                "bench_process_cpu_s": round(self.cpu, 1), "wall_s": round(self.wall, 1)}
