"""PutEvents: chunks of <= 10 entries and <= 256 KiB, refused entries retried, outage raised."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from alertbridge.models.alert import MAX_DESCRIPTION, CanonicalAlert
from alertbridge.store.bus import MAX_REQUEST_BYTES, Publisher, PublishError, chunks, entry, entry_size
from alertbridge_tools.harness import Harness

from tests.faults import refuse
from tests.flow.test_contract import make_alert


def many(n: int, **overrides: Any) -> list[CanonicalAlert]:
    return [make_alert(event_id=f"{i:032x}", dedup_key=f"k{i}", **overrides) for i in range(n)]


def test_chunks_hold_at_most_ten_entries() -> None:
    parts = chunks([entry(a, "bus") for a in many(25)])
    assert [len(p) for p in parts] == [10, 10, 5]


def test_chunks_respect_the_request_size_limit() -> None:
    big = many(10, description="x" * MAX_DESCRIPTION, title="t" * 500)
    entries = [entry(a, "bus") for a in big]
    # Make each entry ~60 KiB by padding tags to the model's limits.
    fat = [{**e, "Detail": e["Detail"] + " " * 60_000} for e in entries]
    parts = chunks(fat)
    assert all(sum(entry_size(e) for e in p) <= MAX_REQUEST_BYTES for p in parts)
    assert sum(len(p) for p in parts) == 10
    assert len(parts) >= 3


def drain(stack: Harness) -> list[dict[str, Any]]:
    queue = stack.stack.physical["AlertQueue"]
    out = []
    while got := stack.sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", []):
        out += [json.loads(m["Body"])["detail"] for m in got]
        stack.sqs.delete_message_batch(
            QueueUrl=queue,
            Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(got)],
        )
    return out


@pytest.fixture
def events_client(stack: Harness) -> Any:
    return boto3.client("events", region_name="us-east-1")


def test_refused_entries_are_retried_until_accepted(stack: Harness, events_client: Any) -> None:
    alerts = many(25)
    publisher = Publisher(events_client, stack.stack.physical["Bus"], backoff=0)
    with refuse(events_client, lambda call, i: call == 0 and i % 3 == 0) as calls:  # ~30% refused once
        publisher.publish(alerts)
    got = drain(stack)
    assert sorted(d["event_id"] for d in got) == sorted(a.event_id for a in alerts)  # none lost, none doubled
    assert calls[0] == 10 and len(calls) > 3  # retries happened


def test_outage_raises_publish_error(stack: Harness, events_client: Any) -> None:
    publisher = Publisher(events_client, stack.stack.physical["Bus"], backoff=0)
    with refuse(events_client, lambda call, i: True), pytest.raises(PublishError) as err:
        publisher.publish(many(3))
    assert err.value.failed == 3
    assert err.value.code == "InternalFailure"
    assert drain(stack) == []
