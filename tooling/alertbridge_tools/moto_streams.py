"""moto's DynamoDB stream made faithful where a long-running local stack needs it (local only: the
emulator and the tests; never loaded by a Lambda): across a cancelled transaction, and in what it
keeps.

moto 5.2.5 runs TransactWriteItems by deep-copying every table it touches first, applying the
operations one by one, and, when one fails, putting the copies back. The stream lives on the table
object, so (1) every transaction copies the whole stream, which only grows (a module-long test or
the load benchmark writes thousands of records: each transaction got slower than the last), and
(2) a cancelled transaction swaps in a new stream object, so a shard iterator taken before it keeps
reading the discarded one, with the records of the operations applied before the failure (writes
that never committed) and without any record written after it.

Here the stream is shared between a table and its copy (not copied), and a cancelled transaction
takes its own records back off it: the stream holds exactly the committed writes, as DynamoDB's
does, whatever iterator reads it.

moto also keeps every stream record and every shard iterator for the life of the process (and so in
every snapshot of the local stack's data directory: two thirds of one after a load run). DynamoDB
keeps a record 24 hours and an iterator 15 minutes. Here a write first trims the records older than
``RETENTION`` off the front of the stream (sequence numbers go on where they were), and a new
iterator first drops those older than ``ITERATOR_LIFETIME``; as on AWS, an iterator or sequence
number in trimmed data gets ``TrimmedDataAccessException`` and an expired iterator
``ExpiredIteratorException``. Applied only to the moto version it was written against.
"""

from __future__ import annotations

import time
from datetime import timedelta
from importlib.metadata import version
from typing import Any

from moto.core.exceptions import JsonRESTError
from moto.core.utils import utcnow
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.table import StreamShard
from moto.dynamodbstreams.models import DynamoDBStreamsBackend, ShardIterator

MOTO_VERSION = "5.2.5"
ORIGINALS: dict[str, Any] = {}
RETENTION = timedelta(hours=24)  # DynamoDB Streams keeps a record 24 hours
ITERATOR_LIFETIME = 15 * 60.0  # seconds a shard iterator can be used


def _trimmed(sequence: int) -> JsonRESTError:
    return JsonRESTError(
        "TrimmedDataAccessException",
        f"The sequence number {sequence} is beyond the trim horizon: its record was older than 24 hours",
    )


def _add(self: StreamShard, old: Any, new: Any) -> None:
    """moto's, after trimming the records older than RETENTION off the front."""
    horizon = utcnow() - RETENTION
    items = self.items
    expired = 0
    while expired < len(items) and items[expired].record["dynamodb"]["ApproximateCreationDateTime"] < horizon:
        expired += 1
    if expired:
        del items[:expired]
        self.starting_sequence_number += expired  # moto numbers a record by its place: the same numbers
    ORIGINALS["StreamShard.add"](self, old, new)


def _iterator_init(self: Any, backend: Any, shard: StreamShard, kind: str, sequence: Any = None) -> None:
    """moto's; a position before the trim horizon is refused, as DynamoDB refuses it; the
    iterator's age is kept (``created``), and the expired ones are dropped."""
    if kind in ("AT_SEQUENCE_NUMBER", "AFTER_SEQUENCE_NUMBER"):
        position = int(sequence) + (kind == "AFTER_SEQUENCE_NUMBER")  # the first record it reads
        if position < shard.starting_sequence_number:
            raise _trimmed(int(sequence))
    ORIGINALS["ShardIterator.__init__"](self, backend, shard, kind, sequence)
    self.created = time.time()
    known = backend.shard_iterators
    oldest = time.time() - ITERATOR_LIFETIME
    while known:  # in the order they were made: the expired ones are at the front
        arn, first = next(iter(known.items()))
        if getattr(first, "created", 0.0) > oldest:
            break
        del known[arn]


def _get_records(self: DynamoDBStreamsBackend, iterator_arn: str, limit: int) -> dict[str, Any]:
    """moto's, for an iterator that is known, not expired and not in trimmed data."""
    iterator = self.shard_iterators.get(iterator_arn)
    if iterator is None or time.time() - getattr(iterator, "created", 0.0) > ITERATOR_LIFETIME:
        raise JsonRESTError("ExpiredIteratorException", "Iterator expired: it is older than 15 minutes")
    if iterator.sequence_number < iterator.stream_shard.starting_sequence_number:
        raise _trimmed(iterator.sequence_number)
    result: dict[str, Any] = ORIGINALS["DynamoDBStreamsBackend.get_records"](self, iterator_arn, limit)
    return result


def _shared(self: StreamShard, _memo: dict[int, Any]) -> StreamShard:
    return self


def _transact_write_items(self: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> None:
    """moto's, with a cancelled transaction's stream records removed again (see the module)."""
    names = {next(iter(item.values())).get("TableName") for item in transact_items}
    ends = {  # the sequence number the transaction's first record gets (a trim may happen within)
        name: table.stream_shard.starting_sequence_number + len(table.stream_shard.items)
        for name in names
        if (table := self.tables.get(name)) is not None and table.stream_shard is not None
    }
    try:
        ORIGINALS["DynamoDBBackend.transact_write_items"](self, transact_items)
    except Exception:
        for name, end in ends.items():
            restored = self.tables[name]  # the copy moto put back, sharing the stream
            shard = restored.stream_shard
            if shard is not None:
                del shard.items[max(0, end - shard.starting_sequence_number) :]
                shard.table = restored
        raise


def apply() -> bool:
    """Patch moto (once per process); False when the installed moto is not the one this fits."""
    if ORIGINALS:
        return True
    if version("moto") != MOTO_VERSION:
        return False
    backend: Any = DynamoDBBackend
    shard: Any = StreamShard
    iterator: Any = ShardIterator
    streams: Any = DynamoDBStreamsBackend
    ORIGINALS["DynamoDBBackend.transact_write_items"] = backend.transact_write_items
    ORIGINALS["StreamShard.add"] = shard.add
    ORIGINALS["ShardIterator.__init__"] = iterator.__init__
    ORIGINALS["DynamoDBStreamsBackend.get_records"] = streams.get_records
    shard.__deepcopy__ = _shared
    backend.transact_write_items = _transact_write_items
    shard.add = _add
    iterator.__init__ = _iterator_init
    streams.get_records = _get_records
    return True
