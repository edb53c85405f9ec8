"""``manage.py load_sample_data``: fill an empty bookstore with the benchmark generator's data."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from bookstore.models import Book

# The generator lives in the repository's benchmarks/ folder, not in the installed package.
REPOSITORY = Path(__file__).resolve().parents[4]


class Command(BaseCommand):
    help = "Load sample publishers, authors, tags, books and reviews (benchmarks/generate.py), unless books exist."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--size", default="small", help="generator size (default: small)")
        parser.add_argument("--seed", type=int, default=42)

    def handle(self, *args: Any, size: str, seed: int, **options: Any) -> None:
        existing = Book.objects.count()
        if existing:
            self.stdout.write(f"{existing} books already loaded; nothing to do.")
            return
        if str(REPOSITORY) not in sys.path:
            sys.path.insert(0, str(REPOSITORY))
        from benchmarks.generate import populate

        report = populate(size, app_label="bookstore", seed=seed, progress=options["verbosity"] > 1)
        counts = ", ".join(f"{count:,} {name}" for name, count in report.counts.items())
        self.stdout.write(f"Loaded {counts}; mirrored in {report.sync_seconds:.1f}s.")
