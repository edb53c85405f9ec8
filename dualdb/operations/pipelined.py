"""Mirror batch after batch, writing one batch to MongoDB while the next is read and rendered.

A backfill batch spends its time in PostgreSQL and Python (lock, draw versions,
read, render) and in MongoDB (encode, insert). One after the other, each side
waits for the other; here a writer thread sends batch *k* while the caller's
thread prepares batch *k + 1*. What stays as in a serial run:

* each batch's versions are drawn and its rows read under its documents' locks,
  so a later ``_v`` still means a later read (the write of batch *k* may land
  after those locks are gone: the versioned write keeps whatever is newer);
* batch *k* is written inside batch *k + 1*'s transaction, which takes the
  collection's shared lock before sending it, so a rebuild's switch waits for it;
* *done* runs in the transaction that saw the write finish, so a checkpoint
  never names a batch that is not in MongoDB.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from django.db import models, transaction
from pymongo.collection import Collection

from ..mirroring import PreparedDocuments, live_collection, lock_documents, prepare_documents, write_prepared

BatchDone = Callable[[list[Any], dict[Any, Exception]], None]


def mirror_batches(model: type[models.Model], batches: Iterable[list[Any]], using: str, done: BatchDone, *,
                   collection: Collection | None = None) -> None:
    """Mirror every batch of primary keys (documents expected to be new); ``done(pks, errors)`` after each write.

    *collection*: write there instead of the live collection (a rebuild's new one).
    Raises what a write raises (:class:`~dualdb.exceptions.MirrorUnavailable`)
    with the batches before it done and the rest untouched.
    """

    def target() -> Collection:
        return collection if collection is not None else live_collection(model, using)

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="dualdb-writer") as writer:
        previous: tuple[list[Any], PreparedDocuments] | None = None
        for pks in batches:
            with transaction.atomic(using=using):
                lock_documents(((model, pk) for pk in pks), using)
                in_flight = writer.submit(write_prepared, target(), previous[1]) if previous else None
                prepared = prepare_documents(model, pks, using, expect_new=True)
                if previous and in_flight:
                    done(previous[0], in_flight.result())
            previous = (pks, prepared)
        if previous is not None:
            with transaction.atomic(using=using):
                done(previous[0], write_prepared(target(), previous[1]))
