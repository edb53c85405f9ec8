"""``python -m benchmarks --size default``: the run ``make bench`` starts (progress on stderr)."""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--size", choices=("small", "default", "large"), default="default")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--output", type=Path, default=HERE / "results",
                        help="Where latest.md, latest.json and the charts go (default: benchmarks/results).")
    parser.add_argument("--images", type=Path, default=HERE.parent / "docs" / "img" / "benchmarks",
                        help="Where the charts are copied for the docs (default: docs/img/benchmarks).")
    parser.add_argument("--docs-page", type=Path, default=HERE.parent / "docs" / "benchmarks.md",
                        help="Page whose generated results block is rewritten (default: docs/benchmarks.md).")
    parser.add_argument("--quiet", action="store_true", help="No progress output.")
    args = parser.parse_args(argv)

    from . import settings

    settings.configure()
    settings.create_databases()
    try:
        from .runner import run

        command = "python -m benchmarks " + " ".join(shlex.quote(a) for a in (argv if argv is not None else sys.argv[1:]))
        run(args.size, output=args.output, images=args.images, seed=args.seed, progress=not args.quiet,
            command=command.strip(), docs_page=args.docs_page)
    finally:
        settings.drop_databases()
    return 0


if __name__ == "__main__":
    sys.exit(main())
