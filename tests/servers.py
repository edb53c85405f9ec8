"""A MongoDB-protocol server of a test's own, to pause, crash and restart for real.

The shared server behind ``DUALDB_MONGO_URL`` serves the whole run and must stay
up, so fault tests start their own process: FerretDB (the binary ``make services``
builds), or ``mongod`` when the run points at a real MongoDB and one is on PATH.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pymongo
from pymongo.errors import PyMongoError

from dualdb.connection import get_client
from scripts import devservices

READY_TIMEOUT = 60.0


def _server_is_ferretdb() -> bool:
    return "ferretdbVersion" in get_client().server_info()


class PrivateMongoServer:
    """One server process on a free loopback port, its data kept in *root* across restarts."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.data = root / "data"
        self.data.mkdir(parents=True, exist_ok=True)
        self.port = devservices.free_port()
        self.debug_port = devservices.free_port()
        self.process: subprocess.Popen | None = None
        self._log = open(root / "server.log", "ab")  # noqa: SIM115 - closed in close()

    @property
    def url(self) -> str:
        """Address only: callers add the database (and ``directConnection`` stays implied by one host)."""
        return f"mongodb://127.0.0.1:{self.port}"

    def _command(self) -> list[str]:
        mongod = shutil.which("mongod")
        if mongod and not _server_is_ferretdb():
            return [mongod, "--dbpath", str(self.data), "--bind_ip", "127.0.0.1", "--port", str(self.port)]
        return devservices.ferret_command(devservices.ferret_build(), self.data, self.port, self.debug_port)

    def start(self) -> "PrivateMongoServer":
        self.process = subprocess.Popen(self._command(), stdout=self._log, stderr=self._log,
                                        stdin=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + READY_TIMEOUT
        while not self.ready():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"private MongoDB-protocol server did not start; see {self.root / 'server.log'}")
            time.sleep(0.1)
        return self

    def ready(self) -> bool:
        try:
            with pymongo.MongoClient(self.url, serverSelectionTimeoutMS=300, connectTimeoutMS=300) as client:
                client.admin.command("ping")
            return True
        except PyMongoError:
            return False

    def pause(self) -> None:
        """SIGSTOP: the server hangs with its sockets open, the hardest outage for a client."""
        self._signal(signal.SIGSTOP)

    def resume(self) -> None:
        self._signal(signal.SIGCONT)

    def kill(self) -> None:
        """SIGKILL: a crash, nothing flushed, nothing said to clients."""
        self._signal(signal.SIGCONT)  # a stopped process must be able to die
        self._signal(signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self._signal(signal.SIGCONT)
            self._signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()

    def restart(self) -> None:
        """Start again on the same port and data, as a supervisor would after a crash."""
        self.stop()
        self.start()

    def close(self) -> None:
        self.stop()
        self._log.close()

    def _signal(self, signum: int) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signum)
