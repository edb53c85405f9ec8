"""Scripted writer processes the fault and load tests start (``python -m tests.workers <name> ...``).

They run ``tests.settings`` against the run's databases (see :func:`tests.processes.child_env`)
and report what they committed as JSON lines on stdout, so the parent can check
every committed write against MongoDB.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time

import django


def commit_then_die(args: argparse.Namespace) -> None:
    """Commit a write, then SIGKILL this process before the on-commit flush can run."""
    from django.db import transaction

    from tests.testapp.models import Tag

    with transaction.atomic():
        # Registered first, so it runs first: the process dies between commit and flush.
        transaction.on_commit(lambda: os.kill(os.getpid(), signal.SIGKILL))
        Tag.objects.create(name=args.name)


def write_stream(args: argparse.Namespace) -> None:
    """Update *rows* tags round-robin for *seconds*, at *rate* writes/s (0: as fast as possible).

    Each line out is one commit: ``{"pk", "name", "committed", "returned"}`` in
    ``time.time()`` seconds, the name carrying a sequence number so the parent
    can tell which write a document shows. ``committed`` is taken by the first
    on-commit callback, before dualdb's flush; ``returned`` after it.
    """
    from django.db import transaction

    from tests.testapp.models import Tag

    pks = [int(pk) for pk in args.pks.split(",")]
    interval = 1 / args.rate if args.rate else 0.0
    deadline = time.monotonic() + args.seconds
    next_at = time.monotonic()
    sequence = 0
    while time.monotonic() < deadline:
        pk = pks[sequence % len(pks)]
        name = f"{args.prefix}-{pk}-{sequence}"
        line = {"pk": pk, "name": name}
        with transaction.atomic():
            transaction.on_commit(lambda line=line: line.setdefault("committed", time.time()))
            Tag.objects.filter(pk=pk).update(name=name)
        line["returned"] = time.time()
        print(json.dumps(line), flush=True)
        sequence += 1
        if interval:
            next_at += interval
            time.sleep(max(0.0, next_at - time.monotonic()))


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.workers")
    commands = parser.add_subparsers(dest="command", required=True)
    die = commands.add_parser("commit-then-die")
    die.add_argument("name")
    die.set_defaults(run=commit_then_die)
    stream = commands.add_parser("write-stream")
    stream.add_argument("--pks", required=True, help="comma-separated Tag pks to update round-robin")
    stream.add_argument("--seconds", type=float, required=True)
    stream.add_argument("--rate", type=float, default=0.0)
    stream.add_argument("--prefix", default="w")
    stream.set_defaults(run=write_stream)
    args = parser.parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    django.setup()
    args.run(args)


if __name__ == "__main__":
    main(sys.argv[1:])
