#!/usr/bin/env python3
"""`make demo`: the bookstore example (example/) running on dualdb, with sample data.

Runs in its own databases (PostgreSQL ``dualdb_demo``, created if missing, and the
MongoDB database ``dualdb_demo``) on the servers named by ``DUALDB_DATABASE_URL``
and ``DUALDB_MONGO_URL``: migrate, load the benchmark generator's small data set
(which ends with ``dualdb sync``; the sync runs again only if documents are
missing), then the relay and the development server on 127.0.0.1:8000.
Ctrl-C stops the two processes it started.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import FrameType

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "example"
HOST, PORT = "127.0.0.1", 8000
DEMO_DATABASE = "dualdb_demo"
DEMO_LOGIN = ("demo", "demo")


def say(message: str) -> None:
    print(f"[demo] {message}", flush=True)


def postgres_url(url: str, database: str) -> str:
    from psycopg.conninfo import make_conninfo

    return make_conninfo(url, dbname=database)


def mongo_url(url: str, database: str) -> str:
    """The same server, credentials and options, another database (the URL's path)."""
    from pymongo.uri_parser import parse_uri

    current = parse_uri(url).get("database")
    head, _, query = url.partition("?")
    if current:
        head = head[: head.rindex("/" + current)]
    return f"{head.rstrip('/')}/{database}" + (f"?{query}" if query else "")


def ensure_postgres_database(url: str, database: str) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(url, autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [database]).fetchone() is None:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
            say(f"created the PostgreSQL database {database}")


def port_in_use(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def manage(env: dict[str, str], *args: str) -> None:
    subprocess.run([sys.executable, "manage.py", *args], cwd=EXAMPLE, env=env, check=True)


def fully_mirrored(env: dict[str, str]) -> bool:
    """Whether MongoDB holds a document for every row (``dualdb status --json``)."""
    import json

    output = subprocess.run([sys.executable, "manage.py", "dualdb", "status", "bookstore", "--json"], cwd=EXAMPLE,
                            env=env, check=True, capture_output=True, text=True).stdout
    return all(row["mongo_documents"] == row["postgres_rows"] for row in json.loads(output))


def start(env: dict[str, str], *args: str) -> subprocess.Popen:
    # A session of its own: Ctrl-C reaches this script only, which then stops the children in order.
    return subprocess.Popen([sys.executable, "manage.py", *args], cwd=EXAMPLE, env=env, start_new_session=True)


def stop(process: subprocess.Popen) -> None:
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def wait_for_server(server: subprocess.Popen, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not port_in_use(HOST, PORT):
        if server.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"[demo] the development server did not start on {HOST}:{PORT}")
        time.sleep(0.2)


def sample_links(env: dict[str, str]) -> tuple[int | None, int | None, str | None]:
    """A book, an author and a tag that exist, for the printed URLs."""
    import psycopg

    with psycopg.connect(env["DUALDB_DATABASE_URL"]) as conn:
        book = conn.execute("SELECT id, author_id FROM bookstore_book ORDER BY id LIMIT 1").fetchone()
        tag = conn.execute("SELECT name FROM bookstore_tag ORDER BY id LIMIT 1").fetchone()
    return (book[0] if book else None, book[1] if book else None, tag[0] if tag else None)


def banner(env: dict[str, str]) -> None:
    from urllib.parse import quote

    book, author, tag = sample_links(env)
    site = f"http://{HOST}:{PORT}"
    lines = [
        "",
        "dualdb demo: the bookstore example is running (Ctrl-C stops it)",
        "",
        f"  Books     {site}/",
    ]
    if tag:
        lines.append(f"  Filtered  {site}/?tag={quote(tag)}&order=-price")
    if book:
        lines.append(f"  A book    {site}/books/{book}/")
    if author:
        lines.append(f"  An author {site}/authors/{author}/")
    lines += [
        f"  Admin     {site}/admin/   login: {DEMO_LOGIN[0]} / password: {DEMO_LOGIN[1]}",
        "",
        "Every page reads through Book.objects.mongo(): its footer (and the X-Queries",
        "header) shows how many SQL and MongoDB queries served it. Edit a book in the",
        "admin and reload the list: the change is already mirrored.",
        f"  curl -sI {site}/ | grep X-Queries",
        "",
    ]
    print("\n".join(lines), flush=True)


def main() -> None:
    if port_in_use(HOST, PORT):
        raise SystemExit(f"[demo] {HOST}:{PORT} is already in use: stop what runs there first.")
    env = {
        **os.environ,
        "DUALDB_DATABASE_URL": postgres_url(os.environ["DUALDB_DATABASE_URL"], DEMO_DATABASE),
        "DUALDB_MONGO_URL": mongo_url(os.environ["DUALDB_MONGO_URL"], DEMO_DATABASE),
        "DJANGO_SETTINGS_MODULE": "bookstore_site.settings",
        # dualdb itself and benchmarks/ from this checkout, installed or not.
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
        "PYTHONUNBUFFERED": "1",
    }
    def interrupted(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupted)
    signal.signal(signal.SIGINT, interrupted)  # also when started in the background, where SIGINT is ignored
    ensure_postgres_database(os.environ["DUALDB_DATABASE_URL"], DEMO_DATABASE)
    say(f"PostgreSQL database {DEMO_DATABASE}, MongoDB database {DEMO_DATABASE}; example/ is the Django project")
    say("manage.py migrate")
    manage(env, "migrate", "--verbosity", "0", "--skip-checks")  # W003 (no outbox table yet) is what it fixes
    say("manage.py load_sample_data   (benchmarks/generate.py, small: bulk_create, then dualdb sync)")
    manage(env, "load_sample_data", "--size", "small")
    if not fully_mirrored(env):  # a MongoDB emptied since the last demo, for instance
        say("manage.py dualdb sync bookstore")
        manage(env, "dualdb", "sync", "bookstore")
    say("manage.py dualdb status bookstore")
    manage(env, "dualdb", "status", "bookstore")
    manage(env, "ensure_demo_user", "--username", DEMO_LOGIN[0], "--password", DEMO_LOGIN[1], "--verbosity", "0")
    processes: list[subprocess.Popen] = []
    try:
        say("manage.py dualdb relay   (the outbox worker)")
        processes.append(start(env, "dualdb", "relay"))
        say(f"manage.py runserver {HOST}:{PORT}")
        server = start(env, "runserver", f"{HOST}:{PORT}", "--noreload")
        processes.append(server)
        wait_for_server(server)
        banner(env)
        while all(process.poll() is None for process in processes):
            time.sleep(0.5)
        say("a process exited; stopping the demo")
    except KeyboardInterrupt:
        print(flush=True)
        say("stopping the development server and the relay")
    finally:
        for process in reversed(processes):
            stop(process)
    say("stopped")


if __name__ == "__main__":
    main()
