"""Where the time of a ``.mongo()`` instance read goes: server, BSON decode, translation, hydration.

Each stage is timed on its own over the same list page, then the whole path is run
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


def _median(work: Callable[[], Any], repetitions: int) -> float:
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
    total = _median(whole, repetitions)
    stages["other (queryset plumbing, cursor, alias lookup)"] = max(total - sum(stages.values()), 0.0)
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(repetitions):
        whole()
    profiler.disable()
    text = io.StringIO()
    pstats.Stats(profiler, stream=text).sort_stats("tottime").print_stats(18)
    return {"scenario": f'Book.objects.mongo().order_by("-published", "pk")[:{limit}], attributes read as a template would',
            "documents": len(raw), "document_bytes": len(raw_bytes), "total": total, "stages": stages,
            "cprofile": _trim(text.getvalue())}


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
