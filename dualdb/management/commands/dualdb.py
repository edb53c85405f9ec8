"""``python manage.py dualdb <subcommand>``: operate the mirror.

Nothing here connects to a server before a subcommand runs, so ``--help``
works with every server down.
"""

from __future__ import annotations

import signal
import threading
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser


class Command(BaseCommand):
    help = "Operate the dualdb mirror (relay, ...)."

    def add_arguments(self, parser: CommandParser) -> None:
        subcommands = parser.add_subparsers(dest="subcommand", metavar="subcommand", required=True)
        relay = subcommands.add_parser("relay", help="Drain the outbox into MongoDB continuously.")
        relay.add_argument("--once", action="store_true", help="Drain everything pending, then exit.")
        relay.add_argument("--batch-size", type=int, default=None, help="Outbox rows per batch.")

    def handle(self, *args: Any, subcommand: str, **options: Any) -> None:
        handler = getattr(self, f"handle_{subcommand.replace('-', '_')}", None)
        if handler is None:
            raise CommandError(f"Unknown subcommand {subcommand!r}.")
        handler(**options)

    def handle_relay(self, *, once: bool, batch_size: int | None, verbosity: int = 1, **options: Any) -> None:
        from dualdb.relay import run_relay

        if batch_size is not None and batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")
        stop = threading.Event()
        if not once:
            for signum in (signal.SIGTERM, signal.SIGINT):
                signal.signal(signum, lambda *_: stop.set())
            if verbosity:
                self.stdout.write("dualdb relay: draining the outbox (SIGTERM or Ctrl-C to stop)")
        totals = run_relay(once=once, stop=stop, batch_size=batch_size)
        if verbosity:
            self.stdout.write(
                f"dualdb relay: {totals.claimed} outbox rows, {totals.documents} documents written, "
                f"{totals.failed} failed, {totals.dead} dead-lettered")
