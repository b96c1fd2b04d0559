"""The due index: work by due time, read by the scheduled checker (``DUE#<shard>`` / ``<due at>#<kind>#...``).

Three kinds of work live here, each written by the path that knows when it falls due:

- ``esc`` (``<due at>#esc#<incident id>#<step>``): an escalation step (the notifier, the checker);
- ``src`` (``<due at>#src#<source id>``): a source with ``expect_every`` turns silent if nothing
  arrived by then (ingest and the heartbeat URL move it, see ``store.heartbeats``);
- ``quiet`` (``<due at>#quiet#<incident id>``): an open incident of a source with
  ``resolve_after_quiet`` is resolved by timeout if no alert came by then (the incident function).

The checker Queries ``SK < "<now>$"`` per shard, so what is not due is never read, and claims an
item with a conditional lease before acting on it (a second or late run skips what is claimed and
retries what a dead run left). Imports nothing heavy: the ingest functions use it.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, NamedTuple

from botocore.exceptions import ClientError

from alertbridge.store.table import from_item, to_item
from alertbridge.timestamps import iso

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

DUE_SHARDS = 4  # spreads due items over partitions; the checker reads each shard
LEASE_SECONDS = 120  # a claimed due item is retried by a later run if its claimer died


class DueItem(NamedTuple):
    shard: int
    sk: str
    kind: str  # esc, src, quiet
    subject: str  # the incident id (esc, quiet) or the source id (src)
    due: datetime
    attrs: dict[str, Any]  # what the kind keeps beside (esc: step, epoch)


def shard_of(subject: str) -> int:
    return int(hashlib.sha256(subject.encode()).hexdigest(), 16) % DUE_SHARDS


def due_key(kind: str, subject: str, due: datetime, *rest: object) -> dict[str, str]:
    sk = "#".join([iso(due), kind, subject, *(str(r) for r in rest)])
    return {"PK": f"DUE#{shard_of(subject)}", "SK": sk}


class DueIndex:
    def __init__(self, client: DynamoDBClient, table: str) -> None:
        self._db = client
        self._table = table

    def put(self, kind: str, subject: str, due: datetime, *rest: object, **attrs: Any) -> None:
        """Index ``subject``'s work of ``kind`` as due at ``due`` (idempotent: an existing one stays)."""
        item = {**due_key(kind, subject, due, *rest), **attrs}
        try:
            self._db.put_item(
                TableName=self._table, Item=to_item(item), ConditionExpression="attribute_not_exists(PK)"
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise

    def due(self, now: datetime) -> list[DueItem]:
        """Every due item (due at or before ``now``), claimed or not, shard by shard."""
        out: list[DueItem] = []
        for shard in range(DUE_SHARDS):
            pages = self._db.get_paginator("query").paginate(
                TableName=self._table,
                KeyConditionExpression="PK = :pk AND SK < :upper",
                # '$' sorts right after '#': every "<due at>#..." with due at <= now
                ExpressionAttributeValues=to_item({":pk": f"DUE#{shard}", ":upper": f"{iso(now)}$"}),
                ConsistentRead=True,
            )
            for page in pages:
                for raw in page.get("Items", []):
                    item = from_item(raw)
                    at, kind, subject, *_ = item["SK"].split("#")
                    attrs = {k: v for k, v in item.items() if k not in ("PK", "SK", "lease_until")}
                    out.append(DueItem(shard, item["SK"], kind, subject, datetime.fromisoformat(at), attrs))
        return out

    def claim(self, item: DueItem, now: datetime) -> bool:
        """Take a lease on a due item: False when it is gone or another checker holds it."""
        try:
            self._db.update_item(
                TableName=self._table,
                Key=to_item({"PK": f"DUE#{item.shard}", "SK": item.sk}),
                UpdateExpression="SET lease_until = :until",
                ConditionExpression="attribute_exists(PK) AND "
                "(attribute_not_exists(lease_until) OR lease_until < :now)",
                ExpressionAttributeValues=to_item(
                    {":until": iso(now + timedelta(seconds=LEASE_SECONDS)), ":now": iso(now)}
                ),
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def done(self, item: DueItem) -> None:
        self._db.delete_item(TableName=self._table, Key=to_item({"PK": f"DUE#{item.shard}", "SK": item.sk}))
