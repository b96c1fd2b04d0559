"""moto's DynamoDB stream across a cancelled transaction, made faithful and cheap (local only:
the emulator and the tests; never loaded by a Lambda).

moto 5.2.5 runs TransactWriteItems by deep-copying every table it touches first, applying the
operations one by one, and, when one fails, putting the copies back. The stream lives on the table
object, so (1) every transaction copies the whole stream, which only grows (a module-long test or
the load benchmark writes thousands of records: each transaction got slower than the last), and
(2) a cancelled transaction swaps in a new stream object, so a shard iterator taken before it keeps
reading the discarded one, with the records of the operations applied before the failure (writes
that never committed) and without any record written after it.

Here the stream is shared between a table and its copy (not copied), and a cancelled transaction
takes its own records back off it: the stream holds exactly the committed writes, as DynamoDB's
does, whatever iterator reads it. Applied only to the moto version it was written against.
"""

from __future__ import annotations

from importlib.metadata import version
from typing import Any

from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.table import StreamShard

MOTO_VERSION = "5.2.5"
ORIGINALS: dict[str, Any] = {}


def _shared(self: StreamShard, _memo: dict[int, Any]) -> StreamShard:
    return self


def _transact_write_items(self: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> None:
    """moto's, with a cancelled transaction's stream records removed again (see the module)."""
    names = {next(iter(item.values())).get("TableName") for item in transact_items}
    lengths = {
        name: len(table.stream_shard.items)
        for name in names
        if (table := self.tables.get(name)) is not None and table.stream_shard is not None
    }
    try:
        ORIGINALS["DynamoDBBackend.transact_write_items"](self, transact_items)
    except Exception:
        for name, length in lengths.items():
            restored = self.tables[name]  # the copy moto put back, sharing the stream
            shard = restored.stream_shard
            if shard is not None:
                del shard.items[length:]
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
    ORIGINALS["DynamoDBBackend.transact_write_items"] = backend.transact_write_items
    shard.__deepcopy__ = _shared
    backend.transact_write_items = _transact_write_items
    return True
