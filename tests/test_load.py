"""Sustained writes from several processes, the relay running, and the MongoDB-protocol
server restarted in the middle: how many writes per second held, how long each took to
become visible in MongoDB, and no drift at the end.

The suite runs a short version; ``make soak`` runs the long one
(``DUALDB_LOAD_SECONDS``, ``DUALDB_LOAD_WRITERS``) and keeps the figures in
``DUALDB_LOAD_REPORT`` (JSON). Figures are reported, never asserted: only the
outcome (every write committed, every write mirrored, 0 drift) is.
"""

from __future__ import annotations

import json
import os
import signal
import statistics
import subprocess
import threading
import time
from pathlib import Path

import pytest
from django.test import override_settings
from pymongo.errors import PyMongoError

import dualdb
from dualdb.models import OutboxEntry
from tests.invariants import assert_converged, wait_until
from tests.processes import child_env, django_command, worker
from tests.testapp.models import Tag

pytestmark = pytest.mark.django_db(transaction=True)

SECONDS = float(os.environ.get("DUALDB_LOAD_SECONDS", "12"))
WRITERS = int(os.environ.get("DUALDB_LOAD_WRITERS", "2"))
ROWS_PER_WRITER = 25


class Watcher(threading.Thread):
    """Polls the tags collection and notes when each written name first shows up."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.first_seen: dict[str, float] = {}
        self.stop = threading.Event()

    def run(self) -> None:
        collection = dualdb.collection_for(Tag)
        while not self.stop.is_set():
            try:
                documents = list(collection.find({}, {"name": 1}))
            except PyMongoError:  # the restart: try again
                self.stop.wait(0.05)
                continue
            now = time.time()
            for document in documents:
                self.first_seen.setdefault(document["name"], now)
            self.stop.wait(0.02)


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def test_sustained_writes_survive_a_server_restart(private_mongo, settings, capsys):
    with override_settings(DUALDB={**settings.DUALDB, "MODE": "relay"}):
        tags = Tag.objects.bulk_create(Tag(name=f"seed {i}") for i in range(WRITERS * ROWS_PER_WRITER))
    dualdb.sync(Tag, [tag.pk for tag in tags])
    env = child_env(RELAY_POLL_SECONDS=0.05, RETRY_BACKOFF_SECONDS=0.05)
    watcher = Watcher()
    watcher.start()
    relay = django_command("dualdb", "relay", env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    writers = [
        worker("write-stream", "--seconds", str(SECONDS), "--prefix", f"w{n}",
               "--pks", ",".join(str(tag.pk) for tag in tags[n * ROWS_PER_WRITER:(n + 1) * ROWS_PER_WRITER]),
               env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        for n in range(WRITERS)
    ]
    try:
        time.sleep(SECONDS / 2)
        restart_began = time.time()
        private_mongo.restart()
        restart_ended = time.time()
        outputs = [writer.communicate(timeout=SECONDS * 4)[0] for writer in writers]
        wait_until(lambda: not OutboxEntry.objects.exists(), 120, "the relay did not drain after the load")
        time.sleep(0.3)  # one more poll of the watcher
    finally:
        watcher.stop.set()
        for process in [relay, *writers]:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        relay.communicate(timeout=60)
    commits = [json.loads(line) for output in outputs for line in output.splitlines()]
    assert all(writer.returncode == 0 for writer in writers)
    assert commits, "the writers committed nothing"

    lags = [watcher.first_seen[c["name"]] - c["committed"] for c in commits if c["name"] in watcher.first_seen]
    calm = [watcher.first_seen[c["name"]] - c["committed"] for c in commits
            if c["name"] in watcher.first_seen and not restart_began - 1 <= c["committed"] <= restart_ended + 1]
    report = {
        "writers": WRITERS, "seconds": SECONDS, "writes": len(commits),
        "writes_per_second": round(len(commits) / SECONDS, 1),
        "commit_seconds_p99": round(percentile([c["returned"] - c["committed"] for c in commits], 0.99), 3),
        "restart_seconds": round(restart_ended - restart_began, 2),
        "observed": len(lags),
        "lag_seconds": {name: round(percentile(lags, q), 3) for name, q in (("p50", 0.5), ("p95", 0.95), ("p99", 0.99))},
        "lag_seconds_outside_restart": {name: round(percentile(calm, q), 3) for name, q in (("p50", 0.5), ("p99", 0.99))},
        "lag_seconds_max": round(max(lags), 3),
        "mean_lag_seconds": round(statistics.fmean(lags), 3),
    }
    if os.environ.get("DUALDB_LOAD_REPORT"):
        Path(os.environ["DUALDB_LOAD_REPORT"]).write_text(json.dumps(report, indent=2) + "\n")
    with capsys.disabled():
        print(f"\nload: {json.dumps(report)}")

    # Every commit's own write reached MongoDB, or a later write to the same row did.
    final = {doc["_id"]: doc["name"] for doc in dualdb.collection_for(Tag).find({}, {"name": 1})}
    last_written = {c["pk"]: c["name"] for c in sorted(commits, key=lambda c: c["committed"])}
    assert all(final[pk] == name for pk, name in last_written.items())
    assert_converged()
