#!/usr/bin/env python3
"""Start and stop the real servers dualdb develops and tests against.

    python scripts/devservices.py up      # idempotent; writes .dev/env
    python scripts/devservices.py down    # stops both, leaves no process or port
    python scripts/devservices.py status

PostgreSQL comes from Debian's packages and runs as the ``postgres`` user (it
refuses to run as root). The MongoDB-protocol server is FerretDB v1.24.2 over
SQLite, built once from its Go module and cached under ``.dev/bin``. Both listen
on loopback only and keep their data under ``.dev/``.

When ``DUALDB_DATABASE_URL`` and ``DUALDB_MONGO_URL`` are both set, nothing is
started: those servers are used (that is how to run against a real MongoDB).
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEV = ROOT / ".dev"
ENV_FILE = DEV / "env"
PORTS_FILE = DEV / "ports.json"
PG_DATA = DEV / "postgres" / "data"
PG_RUN = DEV / "postgres" / "run"
PG_LOG = DEV / "postgres" / "server.log"
FERRET_VERSION = "v1.24.2"
FERRET_MODULE = "github.com/FerretDB/FerretDB"
FERRET_BIN = DEV / "bin" / f"ferretdb-{FERRET_VERSION}"
FERRET_DATA = DEV / "ferretdb" / "data"
FERRET_PID = DEV / "ferretdb" / "ferretdb.pid"
FERRET_LOG = DEV / "ferretdb" / "server.log"
PG_DATABASE = "dualdb"
READY_TIMEOUT = 60.0


def log(message: str) -> None:
    print(f"[services] {message}", flush=True)


def run(cmd: list[str], **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, check=True, **kwargs)


def as_postgres(cmd: list[str], **kwargs) -> subprocess.CompletedProcess:
    if os.geteuid() == 0:
        cmd = ["runuser", "-u", "postgres", "--", *cmd]
    return run(cmd, **kwargs)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def ports() -> dict[str, int]:
    """Ports chosen on the first start and reused afterwards (stable URLs)."""
    if PORTS_FILE.exists():
        return json.loads(PORTS_FILE.read_text())
    chosen = {"postgres": free_port(), "ferretdb": free_port(), "ferretdb_debug": free_port()}
    DEV.mkdir(exist_ok=True)
    PORTS_FILE.write_text(json.dumps(chosen))
    return chosen


# --- PostgreSQL ------------------------------------------------------------


def pg_bin(name: str) -> str:
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)
    found = candidates[0] if candidates else shutil.which(name)
    if found:
        return found
    log("PostgreSQL is not installed; installing Debian's postgresql package")
    run(["apt-get", "update", "-qq"])
    run(["apt-get", "install", "-y", "-qq", "postgresql"], env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
    return pg_bin(name)


def pg_running() -> bool:
    return (PG_DATA / "postmaster.pid").exists() and port_open(ports()["postgres"])


def pg_up() -> None:
    port = ports()["postgres"]
    if pg_running():
        log(f"PostgreSQL already running on 127.0.0.1:{port}")
    else:
        pg_start(port)
    pg_create_database()


def pg_start(port: int) -> None:
    for folder in (PG_DATA, PG_RUN):
        folder.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        run(["chown", "-R", "postgres:postgres", str(DEV / "postgres")])
        # The postgres user must be able to reach .dev/postgres through the tree.
        for parent in [DEV, *DEV.parents]:
            if parent == Path("/"):
                break
            parent.chmod(parent.stat().st_mode | 0o011)
    if not (PG_DATA / "PG_VERSION").exists():
        log("initialising a PostgreSQL cluster in .dev/postgres")
        as_postgres([pg_bin("initdb"), "-D", str(PG_DATA), "-U", "postgres", "--auth=trust",
                     "--encoding=UTF8", "--locale=C.UTF-8"], stdout=subprocess.DEVNULL)
    as_postgres([pg_bin("pg_ctl"), "-D", str(PG_DATA), "-l", str(PG_LOG), "-w", "-t", "60", "start",
                 "-o", f"-p {port} -c listen_addresses=127.0.0.1 -k {PG_RUN} -c fsync=off "
                       "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200"],
                stdout=subprocess.DEVNULL)
    wait_for("PostgreSQL", pg_ready)
    log(f"PostgreSQL running on 127.0.0.1:{port}")


def pg_create_database() -> None:
    import psycopg

    with psycopg.connect(pg_url("postgres"), autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [PG_DATABASE]).fetchone():
            conn.execute(f"CREATE DATABASE {PG_DATABASE}")


def pg_ready() -> bool:
    import psycopg

    try:
        with psycopg.connect(pg_url("postgres"), connect_timeout=2) as conn:
            conn.execute("SELECT 1")
        return True
    except psycopg.Error:
        return False


def pg_down() -> None:
    if not (PG_DATA / "postmaster.pid").exists():
        return
    as_postgres([pg_bin("pg_ctl"), "-D", str(PG_DATA), "-m", "fast", "-w", "stop"], stdout=subprocess.DEVNULL)
    log("PostgreSQL stopped")


def pg_url(database: str = PG_DATABASE) -> str:
    return f"postgres://postgres@127.0.0.1:{ports()['postgres']}/{database}"


# --- FerretDB --------------------------------------------------------------


def ferret_build() -> Path:
    """Build FerretDB once from its Go module and cache the binary in .dev/bin.

    ``go install ...@v1.24.2`` builds, but the binary then refuses to start:
    it needs ``build/version/version.txt``, which the module does not ship.
    So build from the module's source with that file written, as FerretDB's
    own start-up message asks.
    """
    if FERRET_BIN.exists():
        return FERRET_BIN
    go = shutil.which("go") or "/usr/local/go/bin/go"
    log(f"building FerretDB {FERRET_VERSION} (first run only)")
    info = json.loads(run([go, "mod", "download", "-json", f"{FERRET_MODULE}@{FERRET_VERSION}"],
                          capture_output=True, text=True, cwd=DEV).stdout)
    source = DEV / "ferretdb-src"
    shutil.rmtree(source, ignore_errors=True)
    shutil.copytree(info["Dir"], source)
    for path in source.rglob("*"):
        path.chmod(path.stat().st_mode | 0o200)
    (source / "build" / "version" / "version.txt").write_text(FERRET_VERSION + "\n")
    FERRET_BIN.parent.mkdir(parents=True, exist_ok=True)
    run([go, "build", "-o", str(FERRET_BIN), "./cmd/ferretdb"], cwd=source,
        env={**os.environ, "CGO_ENABLED": "0", "GOFLAGS": "-buildvcs=false"})
    shutil.rmtree(source, ignore_errors=True)
    return FERRET_BIN


def ferret_command(binary: Path, data: Path, port: int, debug_port: int) -> list[str]:
    """FerretDB over SQLite in *data*, on loopback only (the test suite starts private ones too)."""
    return [str(binary), "--handler=sqlite", f"--sqlite-url=file:{data}/",
            f"--listen-addr=127.0.0.1:{port}", f"--debug-addr=127.0.0.1:{debug_port}",
            f"--state-dir={data.parent}", "--telemetry=disable", "--log-level=warn"]


def ferret_pid() -> int | None:
    try:
        pid = int(FERRET_PID.read_text())
        os.kill(pid, 0)
        return pid
    except (FileNotFoundError, ValueError, ProcessLookupError):
        return None


def ferret_up() -> None:
    chosen = ports()
    if ferret_pid() and port_open(chosen["ferretdb"]):
        log(f"FerretDB already running on 127.0.0.1:{chosen['ferretdb']}")
        return
    binary = ferret_build()
    FERRET_DATA.mkdir(parents=True, exist_ok=True)
    with open(FERRET_LOG, "ab") as out:
        process = subprocess.Popen(
            ferret_command(binary, FERRET_DATA, chosen["ferretdb"], chosen["ferretdb_debug"]),
            stdout=out, stderr=out, stdin=subprocess.DEVNULL, start_new_session=True)
    FERRET_PID.write_text(str(process.pid))
    wait_for("FerretDB", ferret_ready)
    log(f"FerretDB {FERRET_VERSION} (SQLite backend) running on 127.0.0.1:{chosen['ferretdb']}")


def ferret_ready() -> bool:
    import pymongo

    try:
        with pymongo.MongoClient(mongo_url(), serverSelectionTimeoutMS=500) as client:
            client.admin.command("ping")
        return True
    except pymongo.errors.PyMongoError:
        return False


def ferret_down() -> None:
    pid = ferret_pid()
    if pid is None:
        FERRET_PID.unlink(missing_ok=True)
        return
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and ferret_pid():
        time.sleep(0.1)
    if ferret_pid():
        os.kill(pid, signal.SIGKILL)
    FERRET_PID.unlink(missing_ok=True)
    log("FerretDB stopped")


def mongo_url() -> str:
    return f"mongodb://127.0.0.1:{ports()['ferretdb']}/dualdb"


# --- commands --------------------------------------------------------------


def wait_for(name: str, ready) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    while not ready():
        if time.monotonic() > deadline:
            sys.exit(f"[services] {name} did not become ready within {READY_TIMEOUT:.0f}s (see .dev/)")
        time.sleep(0.2)


def external_urls() -> tuple[str, str] | None:
    database_url = os.environ.get("DUALDB_DATABASE_URL")
    mongo = os.environ.get("DUALDB_MONGO_URL")
    return (database_url, mongo) if database_url and mongo else None


def write_env(database_url: str, mongo: str) -> None:
    DEV.mkdir(exist_ok=True)
    ENV_FILE.write_text(f"export DUALDB_DATABASE_URL={database_url}\nexport DUALDB_MONGO_URL={mongo}\n")


def up() -> None:
    external = external_urls()
    if external:
        log("DUALDB_DATABASE_URL and DUALDB_MONGO_URL are set: using those servers, starting nothing")
        write_env(*external)
        return
    pg_up()
    ferret_up()
    write_env(pg_url(), mongo_url())
    log(f"wrote {ENV_FILE.relative_to(ROOT)}")


def down() -> None:
    ferret_down()
    pg_down()


def status() -> None:
    print(f"postgres: {'running' if pg_running() else 'stopped'} ({pg_url()})")
    print(f"ferretdb: {'running' if ferret_pid() else 'stopped'} ({mongo_url()})")


if __name__ == "__main__":
    commands = {"up": up, "down": down, "status": status}
    if len(sys.argv) != 2 or sys.argv[1] not in commands:
        sys.exit(f"usage: {sys.argv[0]} {{{'|'.join(commands)}}}")
    commands[sys.argv[1]]()
