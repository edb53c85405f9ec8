"""Where the time goes: of a ``.mongo()`` instance read, and of a backfill batch.

Each stage is timed on its own over the same work, then the whole path is run
under cProfile, so the next optimisation is chosen from data rather than guessed.
"""

from __future__ import annotations

import cProfile
import io
import pstats
import statistics
import time
from collections.abc import Callable
from typing import Any

import bson
from bson.codec_options import CodecOptions
from bson.raw_bson import RawBSONDocument
from django.apps import apps

from .reads import _cards_from_instances
from .timing import QueryCounter


def _median(work: Callable[[], Any], repetitions: int) -> float:
    """Median seconds of *work* after one untimed run (first-call costs are not a stage's)."""
    work()
    times = []
    for _ in range(repetitions):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def profile_mongo_instances(app_label: str, *, limit: int, repetitions: int) -> dict[str, Any]:
    """Stage timings (seconds, medians) of ``Book.objects.mongo().order_by("-published", "pk")[:limit]``."""
    from querying.hydrate import Hydrator

    Book = apps.get_model(app_label, "Book")

    def build():
        queryset = Book.objects.mongo().order_by("-published", "pk")[:limit]
        return queryset, queryset.query.mongo_filter(), queryset.query.sort(), queryset.query.projection()

    queryset, find, sort, projection = build()
    collection = queryset._source.collection()
    raw_collection = collection.with_options(codec_options=CodecOptions(document_class=RawBSONDocument))
    options = collection.codec_options

    def whole() -> Any:
        return _cards_from_instances(Book.objects.mongo().order_by("-published", "pk")[:limit])

    def server() -> list[RawBSONDocument]:
        return list(raw_collection.find(find, projection).sort(sort).limit(limit))

    raw = server()
    raw_bytes = b"".join(document.raw for document in raw)

    def decode() -> list[dict]:
        return bson.decode_all(raw_bytes, options)

    documents = decode()
    hydrator_args = (queryset.query.shape, queryset.db, queryset.query.loaded_fields())

    def hydrate() -> list:
        hydrator = Hydrator(*hydrator_args)
        return [hydrator.instance(document) for document in documents]

    instances = hydrate()
    stages = {
        "translation (build filter, sort, projection)": _median(build, repetitions),
        "server + network (find, undecoded)": _median(server, repetitions),
        "BSON decode": _median(decode, repetitions),
        "hydration (documents to instances)": _median(hydrate, repetitions),
        "template work (read the attributes)": _median(lambda: _cards_from_instances(instances), repetitions),
    }
    return {"scenario": f'Book.objects.mongo().order_by("-published", "pk")[:{limit}], attributes read as a template would',
            "documents": len(raw), "document_bytes": len(raw_bytes),
            **_whole_path(whole, stages, "other (queryset plumbing, cursor, alias lookup)", repetitions)}


def profile_backfill(app_label: str, *, batch: int, repetitions: int) -> dict[str, Any]:
    """Stage timings (seconds, medians) of mirroring one backfill batch of *batch* books into an empty collection."""
    from django.db import connection, transaction

    from dualdb.connection import get_database
    from dualdb.mirroring import lock_documents, mirror_documents
    from dualdb.registries import registry
    from dualdb.rendering import render_documents

    Book = apps.get_model(app_label, "Book")
    shape = registry.spec(Book).shape
    pks = list(Book._base_manager.order_by("pk").values_list("pk", flat=True)[:batch])
    scratch = get_database()["dualdb_bench_backfill_profile"]
    options = scratch.codec_options

    def locks_and_versions() -> None:
        with transaction.atomic():
            lock_documents(((Book, pk) for pk in pks), connection.alias)
            with connection.cursor() as cursor:
                cursor.execute("SELECT nextval('dualdb_version') FROM generate_series(1, %s)", [len(pks)])
                cursor.fetchall()

    rendered = render_documents(shape, pks, connection.alias)
    documents = [rendered[pk] for pk in pks]
    encoded = [RawBSONDocument(bson.encode({**d, "_v": 1}, codec_options=options)) for d in documents]
    query_seconds: list[float] = []

    def render() -> None:
        sql = QueryCounter()
        with connection.execute_wrapper(sql):
            render_documents(shape, pks, connection.alias)
        query_seconds.append(sql.seconds)

    def insert() -> None:
        scratch.drop()
        scratch.insert_many(encoded, ordered=False)

    def whole() -> None:
        scratch.drop()
        with transaction.atomic():
            mirror_documents(Book, pks, connection.alias, collection=scratch, expect_new=True)

    try:
        locks = _median(locks_and_versions, repetitions)
        rendering = _median(render, repetitions)
        queries = statistics.median(query_seconds)
        stages = {
            "advisory locks and versions (PostgreSQL)": locks,
            "read rows (PostgreSQL: values() queries, server + network)": queries,
            "rows to documents (Python: converters, render)": max(rendering - queries, 0.0),
            "BSON encode": _median(
                lambda: [bson.encode({**d, "_v": 1}, codec_options=options) for d in documents], repetitions),
            "insert (server + network)": _median(insert, repetitions),
        }
        measured = _whole_path(whole, stages, "other (versioned-write bookkeeping, transaction)", repetitions)
    finally:
        scratch.drop()
    return {"scenario": f"one backfill batch: {len(pks):,} books mirrored into an empty collection",
            "documents": len(pks), "document_bytes": sum(len(e.raw) for e in encoded), **measured}


def _whole_path(whole: Callable[[], Any], stages: dict[str, float], rest: str, repetitions: int) -> dict[str, Any]:
    """Time the whole path (what the stages do not cover becomes *rest*), then run it under cProfile."""
    total = _median(whole, repetitions)
    stages[rest] = max(total - sum(stages.values()), 0.0)
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(repetitions):
        whole()
    profiler.disable()
    text = io.StringIO()
    pstats.Stats(profiler, stream=text).sort_stats("tottime").print_stats(18)
    return {"total": total, "stages": stages, "cprofile": _trim(text.getvalue())}


def _trim(report: str) -> str:
    """The cProfile table without its preamble, paths shortened to the package."""
    lines = report.splitlines()
    start = next((i for i, line in enumerate(lines) if line.strip().startswith("ncalls")), 0)
    out = []
    for line in lines[start:]:
        for marker in ("/site-packages/", "/wt-bench/", "/lib/python3"):
            if marker in line:
                head, _, tail = line.partition(marker)
                line = head[: head.rfind(" ") + 1] + tail if " " in head else tail
        out.append(line.rstrip())
    return "\n".join(line for line in out if line)
