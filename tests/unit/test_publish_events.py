"""publish_events on hand-made stream records and a publisher that refuses what it is told to."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import pytest
from alertbridge.models.incident import Incident, Status
from alertbridge.publish_events import UnreadableRecord, entry, events_of, publish
from alertbridge.store.bus import Sent
from alertbridge.store.table import to_item

T0 = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
PK = "inc_905df8805f80f66da4ec"


def incident(version: int, **changes: Any) -> Incident:
    base = Incident(
        id=f"{PK}-1",
        service_id="svc_1",
        dedup_key="cpu:web-1",
        seq=1,
        source="kapacitor",
        source_id="src_1",
        status=Status.TRIGGERED,
        severity="critical",
        title="cpu:web-1 is CRITICAL",
        opened_at=T0,
        updated_at=T0,
        version=version,
    )
    return Incident.model_validate(base.model_dump() | changes)


def image(value: Incident) -> dict[str, Any]:
    return to_item(
        {"PK": PK, "SK": f"EP#{value.seq:06d}", **value.model_dump(mode="json", exclude_defaults=True)}
    )


def record(
    seq: int, new: Incident | None, old: Incident | None = None, name: str | None = None
) -> dict[str, Any]:
    change: dict[str, Any] = {
        "Keys": to_item({"PK": PK, "SK": "EP#000001"}),
        "SequenceNumber": str(seq),
        "StreamViewType": "NEW_AND_OLD_IMAGES",
    }
    if new is not None:
        change["NewImage"] = image(new)
    if old is not None:
        change["OldImage"] = image(old)
    return {"eventName": name or ("MODIFY" if old else "INSERT"), "dynamodb": change}


class FakePublisher:
    """Takes entries until the ``refuse_at``-th one it is given (counting every call)."""

    bus_name = "bus"

    def __init__(self, refuse_at: int | None = None) -> None:
        self.refuse_at = refuse_at
        self.taken: list[dict[str, Any]] = []

    def put(self, entries: Sequence[Any]) -> Sent:
        for index, item in enumerate(entries):
            if self.refuse_at is not None and len(self.taken) == self.refuse_at:
                return Sent(1, first_failed=index, failed=1, code="InternalFailure")
            self.taken.append(json.loads(item["Detail"]))
        return Sent(1)


def test_the_events_of_a_record_are_derived_from_its_two_images() -> None:
    opened = events_of(record(1, incident(1)))
    assert [(e.id, e.type) for e in opened] == [(f"{PK}-1.v1", "incident.opened")]
    acked = incident(2, status=Status.ACKNOWLEDGED, acknowledged_by="ann", acknowledged_at=T0)
    assert [e.type for e in events_of(record(2, acked, incident(1)))] == ["incident.acknowledged"]
    assert events_of(record(3, incident(2, alert_count=2), incident(1))) == []  # a repeat: nothing


@pytest.mark.parametrize(
    "raw",
    [
        record(1, None, incident(1), name="REMOVE"),  # deletions are no incident change
        record(1, incident(1, ledger=True)),  # a ledger episode is no incident
        {"eventName": "INSERT", "dynamodb": {"Keys": to_item({"PK": "SRC#1", "SK": "SRC"}), "NewImage": {}}},
        {"eventName": "MODIFY", "dynamodb": {"Keys": to_item({"PK": "inc_x", "SK": "META"}), "NewImage": {}}},
    ],
)
def test_records_that_are_no_incident_change_give_nothing(raw: dict[str, Any]) -> None:
    assert events_of(raw) == []


def test_entries_are_incident_events_with_no_resources() -> None:
    [event] = events_of(record(1, incident(1)))
    item = entry(event, "bus")
    assert item["Source"] == "alertbridge" and item["DetailType"] == "Incident Event"
    assert item["EventBusName"] == "bus" and "Resources" not in item
    assert json.loads(item["Detail"])["id"] == f"{PK}-1.v1"


def test_the_first_record_the_bus_refuses_is_the_answer() -> None:
    records = [
        record(10 + v, incident(v, severity=s), incident(v - 1) if v > 1 else None)
        for v, s in ((1, "critical"), (2, "high"), (3, "medium"))
    ]
    publisher = FakePublisher(refuse_at=1)
    outcome = publish(records, publisher)  # type: ignore[arg-type]
    assert outcome.response() == {"batchItemFailures": [{"itemIdentifier": "12"}]}
    assert outcome.published == 1 and [e["version"] for e in publisher.taken] == [1]
    assert publish(records, FakePublisher()).response() == {"batchItemFailures": []}  # type: ignore[arg-type]


def test_an_unreadable_record_is_the_answer_after_good_ones_and_fails_the_batch_at_its_head() -> None:
    poison = {
        "eventName": "INSERT",
        "dynamodb": {
            "Keys": to_item({"PK": PK, "SK": "EP#000009"}),
            "NewImage": to_item({"status": "unheard-of"}),
            "SequenceNumber": "20",
        },
    }
    good = record(19, incident(1))
    publisher = FakePublisher()
    outcome = publish([good, poison, record(21, incident(2, status=Status.RESOLVED), incident(1))], publisher)  # type: ignore[arg-type]
    assert outcome.failed_sequence == "20" and [e["type"] for e in publisher.taken] == ["incident.opened"]
    with pytest.raises(UnreadableRecord):
        publish([poison, good], FakePublisher())  # type: ignore[arg-type]
