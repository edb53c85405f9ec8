"""Versioned writes: a document is only ever replaced by a newer version of itself.

Each write carries ``_v``. The first attempt needs no read: a document known to
be new is inserted (which fails where anything, even a tombstone, is stored),
any other replaces only a stored version older than its own (``_v < v``). What
that does not settle (nothing matched, a duplicate key) goes to rounds that read
the stored versions, insert what is missing and replace only the version just
read (compare-and-swap). No upsert is used: FerretDB v1 answers an upsert that
hits a duplicate key with a malformed reply and stops an unordered batch. A
delete leaves a tombstone carrying its ``_v``, so a late write of an older
version can never bring the document back; readers skip tombstones.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import Any

import bson
from bson.raw_bson import RawBSONDocument
from pymongo import InsertOne, ReplaceOne
from pymongo.collection import Collection
from pymongo.errors import BulkWriteError, ConnectionFailure, PyMongoError

from querying.shape import DELETED_KEY, ID_KEY, VERSION_KEY

from .exceptions import MirrorUnavailable, UnmirrorableValue

DELETED_AT_KEY = "_deleted_at"
DUPLICATE_KEY = 11000
MAX_ROUNDS = 4
# Replaces per command. FerretDB v1 runs each statement of an update command on a
# SQLite connection of its own and holds them all until the command ends: past its
# pool of 100 the command (and every later one) hangs, and concurrent commands can
# starve each other well below that. MongoDB is indifferent to the split.
REPLACES_PER_COMMAND = 16


@dataclass
class VersionedWrite:
    """The new state of one document: ``document=None`` means it was deleted."""

    id: Any
    version: int
    document: dict[str, Any] | None
    new: bool = False  # most likely not stored yet: insert first


@dataclass
class WriteOutcome:
    written: set[Any] = field(default_factory=set)
    superseded: set[Any] = field(default_factory=set)  # a newer version was already stored
    errors: dict[Any, Exception] = field(default_factory=dict)


def tombstone(id_: Any, version: int) -> dict[str, Any]:
    return {ID_KEY: id_, VERSION_KEY: version, DELETED_KEY: True,
            DELETED_AT_KEY: datetime.datetime.now(datetime.timezone.utc)}


def write_versioned(collection: Collection, writes: list[VersionedWrite]) -> WriteOutcome:
    """Apply *writes*; raises :class:`MirrorUnavailable` only when the server cannot be reached.

    The common cases cost one command per kind of write and no read: new
    documents are inserted, stored ones replaced where their version is older.
    """
    outcome = WriteOutcome()
    pending = {write.id: write for write in writes}
    encoded = {}
    for write in writes:
        try:
            encoded[write.id] = _encode(collection, write)
        except UnmirrorableValue as exc:
            outcome.errors[write.id] = exc
            del pending[write.id]
    fresh = [id_ for id_, write in pending.items() if write.new]
    known = [id_ for id_, write in pending.items() if not write.new]
    operations = [InsertOne(encoded[id_]) for id_ in fresh]
    operations += [ReplaceOne({ID_KEY: id_, VERSION_KEY: {"$lt": pending[id_].version}}, encoded[id_]) for id_ in known]
    unsettled = _apply_in_commands(collection, operations, fresh + known, outcome) if operations else set()
    pending = {id_: pending[id_] for id_ in unsettled}
    for _round in range(MAX_ROUNDS):
        if not pending:
            return outcome
        stored = _stored_versions(collection, list(pending))
        operations, ids = [], []
        for id_, write in pending.items():
            current = stored.get(id_)
            if current is not None and current >= write.version:
                outcome.superseded.add(id_)
                continue
            if current is None:
                operations.append(InsertOne(encoded[id_]))
            else:
                operations.append(ReplaceOne({ID_KEY: id_, VERSION_KEY: current}, encoded[id_]))
            ids.append(id_)
        if not operations:
            return outcome
        failed = _apply_in_commands(collection, operations, ids, outcome)
        # Whatever did not apply (a concurrent late write won the race) is read again.
        pending = {id_: pending[id_] for id_ in failed}
    for id_ in pending:
        outcome.errors[id_] = MirrorUnavailable(f"document {id_!r} kept changing under {MAX_ROUNDS} versioned writes")
    return outcome


def _encode(collection: Collection, write: VersionedWrite) -> RawBSONDocument:
    body = tombstone(write.id, write.version) if write.document is None else {**write.document, VERSION_KEY: write.version}
    try:
        data = bson.encode(body, codec_options=collection.codec_options)
    except (bson.errors.InvalidDocument, OverflowError, TypeError) as exc:
        raise UnmirrorableValue(f"document {write.id!r} cannot be encoded as BSON: {exc}") from None
    limit = 16 * 1024 * 1024
    if len(data) > limit:
        raise UnmirrorableValue(f"document {write.id!r} is {len(data)} bytes, over MongoDB's {limit}-byte limit")
    return RawBSONDocument(data)


def _stored_versions(collection: Collection, ids: list[Any]) -> dict[Any, int]:
    try:
        return {doc[ID_KEY]: doc.get(VERSION_KEY, -1) for doc in collection.find({ID_KEY: {"$in": ids}}, {VERSION_KEY: 1})}
    except PyMongoError as exc:  # unreachable, or refused (authentication, authorization)
        raise MirrorUnavailable(str(exc)) from exc


def _apply_in_commands(collection: Collection, operations: list, ids: list[Any], outcome: WriteOutcome) -> set[Any]:
    """All inserts in one command, replaces a few at a time (see ``REPLACES_PER_COMMAND``)."""
    inserts = [index for index, operation in enumerate(operations) if isinstance(operation, InsertOne)]
    replaces = [index for index, operation in enumerate(operations) if not isinstance(operation, InsertOne)]
    groups = [inserts] if inserts else []
    groups += [replaces[start:start + REPLACES_PER_COMMAND] for start in range(0, len(replaces), REPLACES_PER_COMMAND)]
    retry: set[Any] = set()
    for group in groups:
        retry |= _apply(collection, [operations[i] for i in group], [ids[i] for i in group], outcome)
    return retry


def _apply(collection: Collection, operations: list, ids: list[Any], outcome: WriteOutcome) -> set[Any]:
    """Run one unordered batch; returns the ids that must be tried again."""
    errors: list[dict[str, Any]] = []
    try:
        details = collection.bulk_write(operations, ordered=False).bulk_api_result
    except BulkWriteError as exc:
        details = exc.details
        errors = details.get("writeErrors", [])
    except ConnectionFailure as exc:
        if exc.timeout:  # a slow server, not a value it chokes on: it may still apply the command, so wait
            raise MirrorUnavailable(f"MongoDB did not answer in time: {exc}") from exc
        if len(operations) == 1 or not _server_answers(collection):
            raise MirrorUnavailable("MongoDB is unreachable") from None
        return _apply_one_by_one(collection, operations, ids, outcome)
    except PyMongoError as exc:
        if exc.timeout:  # the caller's time budget ran out (pymongo.timeout): an outage, not this document
            raise MirrorUnavailable(f"MongoDB did not answer in time: {exc}") from exc
        if len(operations) == 1:
            outcome.errors[ids[0]] = UnmirrorableValue(f"MongoDB refused document {ids[0]!r}: {exc}")
            return set()
        return _apply_one_by_one(collection, operations, ids, outcome)
    retry: set[Any] = set()
    failed = set()
    for error in errors:
        failed.add(error["index"])
        id_ = ids[error["index"]]
        if error.get("code") == DUPLICATE_KEY:  # inserted meanwhile: read its version again
            retry.add(id_)
        else:
            outcome.errors[id_] = UnmirrorableValue(f"MongoDB refused document {id_!r}: {error.get('errmsg')}")
    replaced = [index for index, operation in enumerate(operations) if isinstance(operation, ReplaceOne)]
    if details.get("nMatched", 0) < len(replaced):  # a compare-and-swap lost: read those versions again
        retry |= {ids[index] for index in replaced if index not in failed}
    outcome.written |= {id_ for index, id_ in enumerate(ids) if index not in failed and id_ not in retry}
    return retry


def _apply_one_by_one(collection: Collection, operations: list, ids: list[Any], outcome: WriteOutcome) -> set[Any]:
    """Isolate a document the server chokes on (FerretDB drops the connection on some values)."""
    retry: set[Any] = set()
    for operation, id_ in zip(operations, ids):
        try:
            retry |= _apply(collection, [operation], [id_], outcome)
        except MirrorUnavailable as exc:
            if _timed_out(exc) or not _server_answers(collection):
                raise
            outcome.errors[id_] = UnmirrorableValue(f"MongoDB dropped the connection on document {id_!r}")
        except PyMongoError as exc:
            if exc.timeout:
                raise MirrorUnavailable(f"MongoDB did not answer in time: {exc}") from exc
            outcome.errors[id_] = UnmirrorableValue(f"MongoDB refused document {id_!r}: {exc}")
    return retry


def _timed_out(error: MirrorUnavailable) -> bool:
    return bool(getattr(error.__cause__, "timeout", False))


def _server_answers(collection: Collection) -> bool:
    try:
        collection.database.client.admin.command("ping")
        return True
    except PyMongoError:
        return False
