"""Quiet-source benchmarks (bench/run.py runs them: ``--only heartbeats``).

- ``heartbeats.checker.<N>_due.*``: one checker run over 10,000 sources with ``expect_every`` that
  are not due, plus N (0, 10, 100) that are due and silent, on in-process moto: its DynamoDB
  requests (deterministic) and its run time (median). Floor for the requests: one Query per
  due-index shard, plus, per due source, the least a correct check needs (read when it was last
  heard from, read its latest delivery, one conditional write that marks it silent); for the
  time, those same bare requests timed here. Beside them, ``heartbeats.scan.*``: what a
  checker without an index would read (a Scan of the table, its 10,000 seen items and more), to
  show that the index is what keeps the cost flat. ``--quick`` watches 1,000 sources.
- ``heartbeats.ingest.extra_writes_per_delivery``: DynamoDB writes a watched source's deliveries
  cost beyond an unwatched one's, over 100 deliveries in a minute (``expect_every`` 15m); floor 0.
"""

from __future__ import annotations

import json
import os
import statistics
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

SOURCES = 10_000
DUE = (0, 10, 100)


@contextmanager
def _counting(client: Any) -> Iterator[Counter[str]]:
    counts: Counter[str] = Counter()

    def count(**kwargs: Any) -> None:
        counts[kwargs["event_name"].rsplit(".", 1)[1]] += 1  # before-send.dynamodb.PutItem -> PutItem

    client.meta.events.register("before-send", count)
    try:
        yield counts
    finally:
        client.meta.events.unregister("before-send", count)


def _seed(db: Any, table: str, count: int, due_at: Any, prefix: str) -> list[str]:
    """``count`` watched sources' seen items and due entries (due at ``due_at``), written in batches:
    sources the checker must never touch need no source item."""
    from alertbridge.store.due import due_key
    from alertbridge.store.table import to_item
    from alertbridge.timestamps import iso

    ids = [f"src_{prefix}{i:015x}" for i in range(count)]
    items = []
    for source_id in ids:
        items.append({"PK": f"SEEN#{source_id}", "SK": "SEEN", "seen_at": iso(due_at), "due_at": iso(due_at)})
        items.append(due_key("src", source_id, due_at))
    for start in range(0, len(items), 25):
        batch = [{"PutRequest": {"Item": to_item(i)}} for i in items[start : start + 25]]
        db.batch_write_item(RequestItems={table: batch})
    return ids


def _floor_ms(db: Any, table: str, now: Any, due_ids: list[str]) -> float:
    """The floor, timed: the shard Queries and, per due source, two reads and a write."""
    from alertbridge.store.due import DUE_SHARDS
    from alertbridge.store.table import to_item
    from alertbridge.timestamps import iso

    started = time.perf_counter()
    for shard in range(DUE_SHARDS):
        db.query(
            TableName=table,
            KeyConditionExpression="PK = :pk AND SK < :u",
            ExpressionAttributeValues=to_item({":pk": f"DUE#{shard}", ":u": iso(now) + "$"}),
        )
    for source_id in due_ids:
        key = to_item({"PK": f"SEEN#{source_id}", "SK": "SEEN"})
        db.get_item(TableName=table, Key=key)
        db.query(
            TableName=table,
            KeyConditionExpression="PK = :pk",
            ExpressionAttributeValues=to_item({":pk": f"DLV#{source_id}"}),
            Limit=1,
        )
        db.update_item(
            TableName=table,
            Key=key,
            UpdateExpression="SET floor_probe = :t",
            ExpressionAttributeValues=to_item({":t": 1}),
        )
    return (time.perf_counter() - started) * 1000


def checker_cost(quick: bool, figure: Callable[..., Any]) -> list[Any]:
    os.environ.update(
        AWS_ACCESS_KEY_ID="bench",
        AWS_SECRET_ACCESS_KEY="bench",  # noqa: S106  (moto: not a credential)
        AWS_DEFAULT_REGION="us-east-1",
        POWERTOOLS_METRICS_DISABLED="true",
    )
    from alertbridge import runtime, timestamps
    from alertbridge.models.records import SourceSettings
    from alertbridge.store.due import DUE_SHARDS
    from alertbridge_tools.harness import Harness
    from moto import mock_aws

    sources = 1_000 if quick else SOURCES
    repeat = 1 if quick else 3
    out: list[Any] = []
    from alertbridge.observability import logger

    with mock_aws():
        stack = Harness.create()
        logger.setLevel("WARNING")  # a line per silence opened would be timed too
        db = runtime.dynamodb()
        table = stack.stack.environment()["TABLE_NAME"]
        service = runtime.source_store().create_service("bench").id
        now = timestamps.now()
        checker = runtime.checker()
        _seed(db, table, sources, now + timedelta(hours=1), "f")  # watched, not due
        for due in DUE:
            requests, times, floor_times = [], [], []
            for _ in range(repeat):
                # The due ones: real sources, last heard from an interval ago, due now.
                made = [
                    runtime.source_store().add_source(service, "kapacitor", SourceSettings(expect_every=60))[
                        0
                    ]
                    for _ in range(due)
                ]
                past = now - timedelta(seconds=1)
                for source in made:
                    runtime.heartbeat_store().watch(
                        source.id, past, replacing=None, at=past - timedelta(seconds=60)
                    )
                with _counting(db) as counts:
                    started = time.perf_counter()
                    found = checker.run(now)
                    times.append((time.perf_counter() - started) * 1000)
                assert found.get("src.silent", 0) == due, found
                requests.append(sum(counts.values()))
                floor_times.append(_floor_ms(db, table, now, [m.id for m in made]))
            floor_requests = DUE_SHARDS + 3 * due
            name = f"heartbeats.checker.{due}_due"
            out.append(
                figure(f"{name}.dynamodb_requests", statistics.median(requests), "requests", floor_requests)
            )
            out.append(
                figure(f"{name}.run_ms", statistics.median(times), "ms", statistics.median(floor_times))
            )
        with _counting(db) as counts:
            started = time.perf_counter()
            pages = db.get_paginator("scan").paginate(TableName=table)
            scanned = sum(len(p.get("Items", [])) for p in pages)
            scan_ms = (time.perf_counter() - started) * 1000
        out.append(figure("heartbeats.checker.watched_sources_not_due", sources, "sources"))
        out.append(figure("heartbeats.scan.items_read", scanned, "items"))
        out.append(figure("heartbeats.scan.ms", scan_ms, "ms"))
        out += _ingest_writes(stack, service, figure)
    return out


def _ingest_writes(stack: Any, service: str, figure: Callable[..., Any]) -> list[Any]:
    """Extra DynamoDB writes of a watched source's deliveries (100 in a minute) over an unwatched one's."""
    from alertbridge import runtime, timestamps
    from alertbridge.models.records import SourceSettings

    writes = ("PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems")
    db = runtime.dynamodb()
    per: dict[str, float] = {}
    for name, settings in (("plain", SourceSettings()), ("watched", SourceSettings(expect_every=900))):
        _, token = stack.add_source(service, "kapacitor", settings)
        with _counting(db) as counts:
            for i in range(100):
                timestamps.advance(0.6)
                body = {"id": f"cpu:{i % 7}", "level": "CRITICAL", "time": "2026-01-01T00:00:00Z"}
                assert stack.post("kapacitor", token, json.dumps(body).encode()).status == 202
        per[name] = sum(counts[w] for w in writes) / 100
    timestamps.reset_clock()
    return [
        figure("heartbeats.ingest.writes_per_delivery.unwatched", per["plain"], "writes"),
        figure("heartbeats.ingest.extra_writes_per_delivery", per["watched"] - per["plain"], "writes", 0.0),
    ]
