"""``python manage.py dualdb <subcommand>``: operate the mirror.

Nothing here connects to a server before a subcommand runs, so ``--help``
works with every server down.
"""

from __future__ import annotations

import datetime
import json
import signal
import sys
import threading
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.dateparse import parse_datetime

SUBCOMMANDS = {
    "sync": "Backfill MongoDB from PostgreSQL (resumable; never overwrites newer documents).",
    "check": "Compare PostgreSQL and MongoDB; exit 1 when drift is found (and not repaired).",
    "rebuild": "Build a model's collection anew, then switch readers to it atomically.",
    "relay": "Drain the outbox into MongoDB continuously.",
    "status": "Rows, documents, pending outbox rows, lag and dead letters per model.",
    "retry-dead": "Queue dead-lettered outbox rows again.",
    "indexes": "Create the MongoDB indexes of Mirror.indexes and the ones dualdb needs.",
}


class Command(BaseCommand):
    help = "Operate the dualdb mirror: " + ", ".join(SUBCOMMANDS) + "."

    def add_arguments(self, parser: CommandParser) -> None:
        subcommands = parser.add_subparsers(dest="subcommand", metavar="subcommand", required=True)
        parsers = {name: subcommands.add_parser(name, help=text, description=text) for name, text in SUBCOMMANDS.items()}
        for name in ("sync", "check", "status", "retry-dead", "indexes"):
            parsers[name].add_argument("models", nargs="*", metavar="app_label[.Model]",
                                       help="Mirrored models (default: all).")
        parsers["rebuild"].add_argument("models", nargs="+", metavar="app_label.Model")
        for name in ("sync", "check", "rebuild", "relay"):
            parsers[name].add_argument("--batch-size", type=int, default=None, help="Rows per batch.")
        parsers["sync"].add_argument("--since", help="Only rows whose Meta.get_latest_by field is at or after this datetime.")
        parsers["sync"].add_argument("--restart", action="store_true", help="Ignore the checkpoint of an interrupted run.")
        scope = parsers["check"].add_mutually_exclusive_group()
        scope.add_argument("--sample", type=int, default=None, help="Check N random rows and N documents.")
        scope.add_argument("--full", action="store_true", help="Check every row and document (the default).")
        parsers["check"].add_argument("--repair", action="store_true", help="Rewrite missing, stale and orphan documents.")
        parsers["rebuild"].add_argument("--keep-old", action="store_true", help="Do not drop the previous collection.")
        parsers["relay"].add_argument("--once", action="store_true", help="Drain everything pending, then exit.")
        parsers["relay"].add_argument("--workers", type=int, default=1, help="Relay threads in this process (default 1).")
        parsers["status"].add_argument("--json", action="store_true", help="Machine-readable output.")

    def handle(self, *args: Any, subcommand: str, **options: Any) -> None:
        batch_size = options.get("batch_size")
        if batch_size is not None and batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")
        getattr(self, f"handle_{subcommand.replace('-', '_')}")(**options)

    # --- model selection -----------------------------------------------------------

    def selected_models(self, labels: list[str]) -> list[type]:
        from django.apps import apps

        from dualdb.registries import registry

        mirrored = registry.models()
        if not labels:
            return mirrored
        chosen = []
        for label in labels:
            app_label, _, model_name = label.partition(".")
            try:
                config = apps.get_app_config(app_label)
            except LookupError:
                raise CommandError(f"Unknown app {app_label!r} in {label!r}.") from None
            if model_name:
                try:
                    model = config.get_model(model_name)
                except LookupError:
                    raise CommandError(f"Unknown model {label!r}.") from None
                if model not in mirrored:
                    raise CommandError(f"{model._meta.label} is not mirrored (it does not subclass MirroredModel).")
                chosen.append(model)
            else:
                found = [m for m in mirrored if m._meta.app_label == app_label]
                if not found:
                    raise CommandError(f"App {app_label!r} has no mirrored models.")
                chosen += found
        return list(dict.fromkeys(chosen))

    def progress(self, verbosity: int):
        from dualdb.operations import Progress

        return Progress(self.stderr._out if hasattr(self.stderr, "_out") else sys.stderr, enabled=verbosity > 0)

    # --- subcommands -------------------------------------------------------------------

    def handle_sync(self, *, models: list[str], batch_size: int | None, since: str | None, restart: bool,
                    verbosity: int, **options: Any) -> None:
        from dualdb.exceptions import ImproperlyConfigured, MirrorUnavailable
        from dualdb.operations import backfill

        when = None
        if since:
            when = parse_datetime(since) or _date(since)
            if when is None:
                raise CommandError(f"--since {since!r} is not a date or datetime (ISO 8601).")
        for model in self.selected_models(models):
            try:
                report = backfill(model, batch_size=batch_size or 1000, since=when, restart=restart,
                                  progress=self.progress(verbosity))
            except ImproperlyConfigured as exc:
                raise CommandError(str(exc)) from None
            except MirrorUnavailable as exc:
                raise CommandError(f"{model._meta.label}: {exc} — run sync again to resume.") from None
            if verbosity:
                resumed = f" (resumed after pk {report.resumed_after})" if report.resumed_after else ""
                self.stdout.write(f"{report.model_label}: {report.rows} rows mirrored{resumed}, {report.failed} queued with errors")

    def handle_check(self, *, models: list[str], batch_size: int | None, sample: int | None, repair: bool,
                     verbosity: int, **options: Any) -> None:
        from dualdb.operations import check

        if sample is not None and sample < 1:
            raise CommandError("--sample must be at least 1.")
        drift = 0
        for model in self.selected_models(models):
            report = check(model, sample=sample, repair=repair, batch_size=batch_size or 2000,
                           progress=self.progress(verbosity - 1))
            self.stdout.write(report.summary())
            drift += report.drift - (report.repaired + report.skipped if repair else 0)
        if drift:
            sys.exit(1)

    def handle_rebuild(self, *, models: list[str], batch_size: int | None, keep_old: bool, verbosity: int,
                       **options: Any) -> None:
        from dualdb.operations import rebuild

        for model in self.selected_models(models):
            report = rebuild(model, batch_size=batch_size or 1000, keep_old=keep_old, progress=self.progress(verbosity))
            if verbosity:
                self.stdout.write(f"{report.model_label}: {report.rows} rows into {report.new_collection} "
                                  f"(was {report.old_collection}), {report.replayed} replayed after the switch, "
                                  f"{report.failed} queued with errors")

    def handle_relay(self, *, once: bool, batch_size: int | None, workers: int, verbosity: int, **options: Any) -> None:
        from django.db import connections

        from dualdb.flush import FlushReport
        from dualdb.relay import run_relay

        if workers < 1:
            raise CommandError("--workers must be at least 1.")
        stop = threading.Event()
        if not once:
            for signum in (signal.SIGTERM, signal.SIGINT):
                signal.signal(signum, lambda *_: stop.set())
            if verbosity:
                self.stdout.write(f"dualdb relay: draining the outbox with {workers} worker(s) (SIGTERM or Ctrl-C to stop)")
        totals = FlushReport()

        def work() -> None:
            try:
                totals.add(run_relay(once=once, stop=stop, batch_size=batch_size))
            finally:
                connections.close_all()

        threads = [threading.Thread(target=work, name=f"dualdb-relay-{n}") for n in range(workers - 1)]
        for thread in threads:
            thread.start()
        totals.add(run_relay(once=once, stop=stop, batch_size=batch_size))
        for thread in threads:
            thread.join()
        if verbosity:
            self.stdout.write(
                f"dualdb relay: {totals.claimed} outbox rows, {totals.documents} documents written, "
                f"{totals.failed} failed, {totals.dead} dead-lettered")

    def handle_status(self, *, models: list[str], json: bool, **options: Any) -> None:
        from dualdb.operations import status

        rows = [status(model) for model in self.selected_models(models)]
        if json:
            self.stdout.write(_json.dumps([row.as_dict() for row in rows], indent=2))
            return
        header = f"{'model':<28}{'rows':>10}{'documents':>11}{'pending':>9}{'lag (s)':>9}{'dead':>6}  last error"
        self.stdout.write(header)
        for row in rows:
            documents = "unreachable" if row.mongo_documents is None else str(row.mongo_documents)
            lag = "-" if row.oldest_pending_seconds is None else f"{row.oldest_pending_seconds:.1f}"
            self.stdout.write(f"{row.model:<28}{row.postgres_rows:>10}{documents:>11}{row.pending:>9}{lag:>9}"
                              f"{row.dead:>6}  {row.last_error[:80]}")

    def handle_retry_dead(self, *, models: list[str], verbosity: int, **options: Any) -> None:
        from dualdb.operations import retry_dead

        labels = [m._meta.label_lower for m in self.selected_models(models)] if models else None
        count = retry_dead(labels)
        if verbosity:
            self.stdout.write(f"{count} dead-lettered outbox rows queued again")

    def handle_indexes(self, *, models: list[str], verbosity: int, **options: Any) -> None:
        from dualdb.operations import ensure_indexes

        for model in self.selected_models(models):
            names = ensure_indexes(model)
            if verbosity:
                self.stdout.write(f"{model._meta.label_lower}: {', '.join(names) or 'no indexes'}")


_json = json


def _date(text: str) -> datetime.datetime | None:
    from django.utils.dateparse import parse_date

    day = parse_date(text)
    return datetime.datetime(day.year, day.month, day.day, tzinfo=datetime.timezone.utc) if day else None
