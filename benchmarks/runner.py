"""The whole benchmark: data, reads, profile, writes, lag, then the report.

Runs in a configured Django process whose database and MongoDB database are the
run's own and start empty (``python -m benchmarks`` makes them; the test suite
uses its test databases).
"""

from __future__ import annotations

import datetime
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable

from pymongo import monitoring

from .timing import QueryCounter, Samples, interleave, paired_ratio


@dataclass(frozen=True)
class Plan:
    """How much work each part does at a size, on a given kind of server."""

    repetitions: int
    detail: int
    export: int
    saves: int
    bulk: int
    rename: int
    write_repetitions: int
    backfill_repetitions: int
    lag_rate: float
    lag_seconds: float
    lag_drain: float
    profile_repetitions: int
    memory_sizes: tuple[str, ...]
    lag_relay_batch: int | None = None  # None: the BATCH_SIZE setting
    write_warmup: int = 1
    # A server that scans per query: the MongoDB paths' equality check is their first timed repetition.
    check_in_first_repetition: bool = False
    scaled_for_scanning_server: bool = False


PLANS = {
    "small": Plan(repetitions=2, detail=5, export=5000, saves=2, bulk=5, rename=5, write_repetitions=2,
                  backfill_repetitions=1, lag_rate=5, lag_seconds=1, lag_drain=10, profile_repetitions=2,
                  memory_sizes=("small",)),
    "default": Plan(repetitions=3, detail=1000, export=5000, saves=50, bulk=1000, rename=1000, write_repetitions=3,
                    backfill_repetitions=2, lag_rate=100, lag_seconds=30, lag_drain=30, profile_repetitions=5,
                    memory_sizes=("small", "default")),
    "large": Plan(repetitions=5, detail=1000, export=5000, saves=50, bulk=1000, rename=1000, write_repetitions=3,
                  backfill_repetitions=1, lag_rate=100, lag_seconds=30, lag_drain=120, profile_repetitions=5,
                  memory_sizes=("default", "large")),
}
# FerretDB v1 reads every document of a collection for every command (an _id lookup
# included: it pushes down only string and ObjectId _id values). At `default` size that
# is about 8 s per command on 2 cores, so the full plan would take hours. This plan keeps
# the data and every scenario and cuts the number of MongoDB commands: 2 repetitions, one
# detail lookup, small write batches, a rename fanning out to 1 book, and the lag at a
# rate the server can follow at all. The report says so next to each figure.
FERRETDB_PLANS = {
    size: replace(PLANS[size], repetitions=2, detail=1, saves=3, bulk=10, rename=1, write_repetitions=2,
                  backfill_repetitions=1, lag_rate=0.1, lag_seconds=20, lag_drain=240, lag_relay_batch=5,
                  profile_repetitions=1, write_warmup=0, check_in_first_repetition=True,
                  scaled_for_scanning_server=True)
    for size in ("default", "large")
}
DETAIL_BUDGET_SECONDS = 1.0  # per path and repetition: bounds the detail scenario on a server that scans


def plan_for(size: str, is_ferretdb: bool) -> Plan:
    """The plan for *size*: scaled down on FerretDB, whose every command is a scan (``small`` needs no scaling)."""
    return FERRETDB_PLANS.get(size, PLANS[size]) if is_ferretdb else PLANS[size]


class CommandCounter(monitoring.CommandListener):
    """MongoDB commands sent while enabled (registered before dualdb's client is created)."""

    def __init__(self) -> None:
        self.enabled = False
        self.count = 0

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        if self.enabled and event.command_name not in ("endSessions", "ping", "hello", "isMaster"):
            self.count += 1

    def succeeded(self, event: Any) -> None:
        pass

    def failed(self, event: Any) -> None:
        pass


COUNTER = CommandCounter()
_registered = False


def _register_counter() -> None:
    global _registered
    from dualdb import connection

    if not _registered:
        monitoring.register(COUNTER)
        _registered = True
    connection.close_client()  # the next client is created with the listener


class Mismatch(AssertionError):
    """A read path returned something else than the ORM: it is not timed, the run stops."""


def _say(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def run(size: str = "small", *, output: Path | str, images: Path | str | None = None, app_label: str = "testapp",
        seed: int = 42, progress: bool = True, command: str = "", docs_page: Path | str | None = None) -> dict[str, Any]:
    """Run every scenario at *size*; write latest.md, latest.json and the charts to *output*."""
    from dualdb.conf import dualdb_settings

    from .facts import LoadSampler, machine_facts
    from .generate import populate
    from .lag import measure_lag
    from .profile import profile_backfill, profile_mongo_instances
    from .report import write_report
    from .writes import SaveRounds, run_writes

    say = _say if progress else (lambda message: None)
    started_at = datetime.datetime.now(datetime.timezone.utc)
    results: dict[str, Any] = {"size": size, "seed": seed, "started_at": started_at.isoformat(timespec="seconds"),
                               "command": command}
    with LoadSampler() as load:
        results["facts"] = facts = machine_facts()
        say(f"{facts['cores']} cores; PostgreSQL {facts['postgresql']}; {facts['mongo_server']}")
        plan = plan_for(size, facts["is_ferretdb"])
        results["plan"] = plan.__dict__
        if plan.scaled_for_scanning_server:
            say("FerretDB scans a collection for every command: the plan is scaled down (see the report)")
        memory: dict[str, float | None] = {}
        for other in plan.memory_sizes[:-1]:  # a smaller size first, for sync's peak memory at two sizes
            say(f"sync peak memory at size {other}")
            memory[other] = populate(other, app_label=app_label, seed=seed, progress=progress).sync_peak_rss_mb
            _empty(app_label)
        say(f"generating size {size} (seed {seed})")
        generation = populate(size, app_label=app_label, seed=seed, progress=progress)
        memory[size] = generation.sync_peak_rss_mb
        results["generation"] = generation.as_dict()
        results["sync_peak_rss_mb"] = memory
        results["reads"] = run_reads(app_label, plan, say, requested_detail=PLANS[size].detail)
        say("profiling the .mongo() instance path")
        results["profile"] = profile_mongo_instances(app_label, limit=500, repetitions=plan.profile_repetitions)
        say("profiling a backfill batch")
        # Unscaled: a batch written into an empty collection makes the server scan nothing.
        results["backfill_profile"] = profile_backfill(app_label, batch=1000,
                                                       repetitions=PLANS[size].profile_repetitions)
        relay_rounds = SaveRounds(PLANS[size].saves, PLANS[size].write_repetitions, PLANS[size].write_warmup)
        results["write_plan"] = {"saves": plan.saves, "relay_saves": relay_rounds.saves,
                                 "relay_repetitions": relay_rounds.repetitions,
                                 "bulk": plan.bulk, "requested_bulk": PLANS[size].bulk,
                                 "rename": plan.rename, "requested_rename": PLANS[size].rename,
                                 "repetitions": plan.write_repetitions, "warmup": plan.write_warmup}
        writes = run_writes(app_label, saves=plan.saves, bulk=plan.bulk, rename_books=plan.rename,
                            repetitions=plan.write_repetitions, warmup=plan.write_warmup,
                            backfill_repetitions=plan.backfill_repetitions, relay_rounds=relay_rounds, say=say)
        results["writes"] = _writes_json(writes)
        results["realtime_timeout_s"] = dualdb_settings.REALTIME_TIMEOUT_MS / 1000
        lag = measure_lag(app_label, rate=plan.lag_rate, seconds=plan.lag_seconds, drain_timeout=plan.lag_drain,
                          relay_batch=plan.lag_relay_batch, say=say)
        results["lag"] = {"rate": lag.rate, "seconds": lag.seconds, "writes": lag.writes,
                          "requested_rate": PLANS[size].lag_rate,
                          "achieved_rate": lag.achieved_rate, "not_visible": lag.not_visible,
                          "drain_timeout": lag.drain_timeout, "relay_poll_seconds": lag.relay_poll_seconds,
                          "relay_batch": lag.relay_batch,
                          "p50": lag.pct(50), "p95": lag.pct(95), "p99": lag.pct(99),
                          "max": lag.pct(100), "delays": lag.delays}
    results["load"] = load.summary()
    results["duration_s"] = round(load.wall, 1)
    say("writing the report")
    results["targets"] = targets(results)
    write_report(results, Path(output), Path(images) if images else None, Path(docs_page) if docs_page else None)
    say(f"done in {load.wall:.0f}s: {Path(output) / 'latest.md'}")
    return results


def _empty(app_label: str) -> None:
    """Remove every row and document, so the next populate() starts from empty tables."""
    from django.core.management import call_command

    from dualdb.connection import get_database

    call_command("flush", interactive=False, verbosity=0)
    database = get_database()
    for name in database.list_collection_names():
        database.drop_collection(name)
    from dualdb import aliases

    aliases.forget()


# --- reads ------------------------------------------------------------------------------


def _detail_count(app_label: str, wanted: int, samples: int) -> tuple[int, float]:
    """How many detail lookups fit the budget: on a server that scans per query, fewer than asked.

    The probe looks up the book in the middle of the table: a scan that stops at its
    match costs what an average random lookup does.
    """
    from django.apps import apps

    import dualdb

    Book = apps.get_model(app_label, "Book")
    collection = dualdb.collection_for(Book)
    pks = Book._base_manager.order_by("pk").values_list("pk", flat=True)
    pk = pks[pks.count() // 2]
    times = []
    for _ in range(samples):
        started = time.perf_counter()
        Book.objects.mongo().get(pk=pk)
        collection.find_one({"_id": pk})
        times.append((time.perf_counter() - started) / 2)
    per_lookup = sorted(times)[len(times) // 2]
    return max(1, min(wanted, int(DETAIL_BUDGET_SECONDS / per_lookup))), per_lookup


class _Recorded:
    """A read path whose first call also keeps its result and counts what it sent (SQL queries, MongoDB commands)."""

    def __init__(self, path: Callable[[], Any], ops: int) -> None:
        self.path, self.ops = path, ops
        self.result: Any = None
        self.counts: dict[str, int] | None = None

    def __call__(self) -> Any:
        if self.counts is not None:
            return self.path()
        from django.db import connection

        queries = QueryCounter()
        COUNTER.count, COUNTER.enabled = 0, True
        try:
            with connection.execute_wrapper(queries):
                self.result = self.path()
        finally:
            COUNTER.enabled = False
        self.counts = {"sql": queries.count // self.ops, "mongo": COUNTER.count // self.ops}
        return self.result


def run_reads(app_label: str, plan: Plan, say: Callable[[str], None], *, requested_detail: int) -> dict[str, Any]:
    """Every scenario: results checked equal to the ORM best path's, then interleaved timed repetitions.

    The check runs each path once, untimed, and doubles as the warm-up. On a server
    that scans per query the MongoDB paths skip it: their first timed repetition is
    checked instead (after timing, before anything is reported), which saves a scan
    per path and scenario; the command listener it runs under costs microseconds.
    """
    from .reads import PATHS, SQL_PATHS, read_data, scenarios

    _register_counter()
    detail, per_lookup = _detail_count(app_label, plan.detail, samples=1 if plan.check_in_first_repetition else 5)
    if detail < plan.detail:
        say(f"a MongoDB lookup by _id takes {per_lookup * 1000:.1f} ms here: {detail} detail lookups per repetition")
    data = read_data(app_label, detail, plan.export)
    out: dict[str, Any] = {"detail_lookups": detail, "detail_requested": requested_detail,
                           "mongo_lookup_ms": per_lookup * 1000,
                           "mongo_checked_in_first_repetition": plan.check_in_first_repetition, "scenarios": {}}
    for scenario in scenarios(data):
        paths = {name: _Recorded(path, scenario.ops) for name, path in scenario.paths.items()}
        checked_first = [name for name in paths if name in SQL_PATHS or not plan.check_in_first_repetition]
        say(f"reads: {scenario.title}: checking {len(checked_first)} paths return the ORM's result")
        for name in checked_first:
            paths[name]()
        say(f"reads: {scenario.title}: {plan.repetitions} interleaved repetitions of {len(paths)} paths")
        samples = interleave(paths, repetitions=plan.repetitions, warmup=0, ops=scenario.ops,
                             on_repetition=lambda r: r >= 0 and say(f"  repetition {r + 1}/{plan.repetitions}"))
        reference = paths["orm_best"].result
        for name, path in paths.items():
            if path.result != reference:
                raise Mismatch(f"{scenario.key}: {name} differs from orm_best: {_first_difference(path.result, reference)}")
        out["scenarios"][scenario.key] = {
            "title": scenario.title, "ops": scenario.ops, "rows": _rows(reference),
            "paths": {name: _path_json(scenario.labels.get(name, PATHS[name]), samples[name], samples,
                                       paths[name].counts or {})
                      for name in samples},
            "not_applicable": scenario.not_applicable,
        }
    return out


def _rows(result: Any) -> int:
    return result if isinstance(result, int) else len(result)


def _first_difference(result: Any, reference: Any) -> str:
    if isinstance(result, list) and isinstance(reference, list):
        if len(result) != len(reference):
            return f"{len(result)} rows instead of {len(reference)}"
        for index, (a, b) in enumerate(zip(result, reference)):
            if a != b:
                return f"row {index}: {a!r} != {b!r}"
    return f"{result!r:.200} != {reference!r:.200}"


def _path_json(label: str, own: Samples, every: dict[str, Samples], counts: dict[str, int]) -> dict[str, Any]:
    return {"label": label, "median_s": own.median(), "p95_s": own.p95(), "samples_s": own.per_op(),
            "vs_orm_best": paired_ratio(own, every["orm_best"]) if "orm_best" in every else None,
            "vs_pymongo": paired_ratio(own, every["pymongo"]) if "pymongo" in every else None,
            "sql_queries": counts["sql"], "mongo_commands": counts["mongo"], "equal_to_orm": True}


def _samples_json(samples: dict[str, Samples], reference: str | None = None) -> dict[str, Any]:
    return {name: {"median_s": s.median(), "p95_s": s.p95(), "samples_s": s.per_op(), "ops": s.ops,
                   **({"vs_" + reference: paired_ratio(s, samples[reference])} if reference else {})}
            for name, s in samples.items()}


def _writes_json(writes: Any) -> dict[str, Any]:
    backfill = _samples_json(writes.backfill, "insert_many")
    return {
        "save": _samples_json(writes.save, "plain"), "save_sql_queries": writes.save_queries,
        "save_realtime": _samples_json(writes.save_realtime, "plain"),
        "save_in_transaction": _samples_json(writes.save_in_transaction, "plain"),
        "bulk_create": _samples_json(writes.bulk_create, "plain"),
        "rename": _samples_json(writes.rename), "rename_books": writes.rename_books,
        "backfill": backfill, "backfill_documents": writes.backfill_documents,
        # throughput ratio, pair by pair: insert_many time / backfill time
        "backfill_vs_insert_many_throughput": paired_ratio(writes.backfill["insert_many"], writes.backfill["backfill"]),
    }


# --- targets ------------------------------------------------------------------------------


def targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Each target of the issue with its measured value; reported, never asserted."""
    reads = results["reads"]["scenarios"]
    rows = []

    def add(name: str, value: float, limit: float, better: str, where: str) -> None:
        met = value <= limit if better == "lower" else value >= limit
        rows.append({"target": name, "value": value, "limit": limit, "met": met, "where": where,
                     "by": (value / limit if better == "lower" else limit / value) if value else None})

    for path, name, limit in (("mongo_values", ".mongo().values() ≤ 1.3× raw pymongo", 1.3),
                              ("mongo", ".mongo() instances ≤ 2× raw pymongo", 2.0)):
        for key, scenario in reads.items():
            if path in scenario["paths"] and "pymongo" in scenario["paths"]:
                add(name, scenario["paths"][path]["vs_pymongo"], limit, "lower", key)
    for key in ("list_50", "list_500", "detail"):
        add(".mongo() faster than the ORM's best path", reads[key]["paths"]["mongo"]["vs_orm_best"], 1.0, "lower", key)
    save, save_tx = results["writes"]["save"], results["writes"]["save_in_transaction"]
    add('mirrored save() ≤ 1.15× plain in "relay" mode', save["relay"]["vs_plain"], 1.15, "lower", "save")
    add('mirrored save() ≤ 1.15× plain in "relay" mode, inside a transaction', save_tx["relay"]["vs_plain"], 1.15,
        "lower", "save in transaction")
    add('mirrored save() ≤ 2× plain in "realtime" mode', results["writes"]["save_realtime"]["realtime"]["vs_plain"],
        2.0, "lower", "save")
    add("backfill ≥ 0.7× raw insert_many throughput", results["writes"]["backfill_vs_insert_many_throughput"],
        0.7, "higher", "backfill")
    add(f"lag p99 ≤ 1 s at {results['lag']['rate']:g} writes/s", results["lag"]["p99"], 1.0, "lower", "lag")
    return rows
