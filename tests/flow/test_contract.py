"""The bus contract: the model, its checked-in JSON Schema and the template's rule agree."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import boto3
import pytest
from alertbridge.models.alert import CanonicalAlert
from alertbridge.models.parts import Action, Severity
from alertbridge.store.bus import DETAIL_TYPE, EVENT_SOURCE, entry
from alertbridge_tools.harness import Harness
from alertbridge_tools.schema import SCHEMA_FILE, render
from alertbridge_tools.template import load_template
from pydantic import ValidationError


def make_alert(**overrides: object) -> CanonicalAlert:
    fields: dict[str, object] = {
        "event_id": "0" * 32,
        "delivery_id": "dlv_1",
        "service_id": "svc_1",
        "source_id": "src_1",
        "source": "kapacitor",
        "action": Action.TRIGGER,
        "dedup_key": "cpu:nil",
        "severity": Severity.CRITICAL,
        "title": "cpu:nil is CRITICAL",
        "occurred_at": datetime(2024, 5, 14, 10, 0, 10, tzinfo=UTC),
        "received_at": datetime(2024, 5, 14, 10, 0, 11, tzinfo=UTC),
        "raw_ref": "delivery/dlv_1#0",
    }
    fields.update(overrides)
    return CanonicalAlert.model_validate(fields)


def test_checked_in_schema_matches_the_model() -> None:
    assert json.loads(SCHEMA_FILE.read_text()) == json.loads(render()), (
        "schema/canonical-alert.v1.json is out of date: run `python -m alertbridge_tools.schema` "
        "and review the contract change"
    )


def test_schema_requires_the_contract_fields() -> None:
    schema = json.loads(SCHEMA_FILE.read_text())
    for name in (
        "schema_version",
        "event_id",
        "delivery_id",
        "service_id",
        "source",
        "action",
        "dedup_key",
        "severity",
        "title",
        "description",
        "occurred_at",
        "received_at",
        "links",
        "tags",
        "raw_ref",
    ):
        assert name in schema["properties"], name
    assert schema["additionalProperties"] is False


def test_model_refuses_naive_times_and_unknown_fields() -> None:
    with pytest.raises(ValidationError):
        make_alert(occurred_at=datetime(2024, 5, 14, 10, 0, 10))
    with pytest.raises(ValidationError):
        make_alert(surprise=1)


def test_rule_pattern_agrees_with_the_model() -> None:
    rule = load_template()["Resources"]["CanonicalAlertRule"]["Properties"]["EventPattern"]
    assert rule["source"] == [EVENT_SOURCE]
    assert rule["detail-type"] == [DETAIL_TYPE]
    assert rule["detail"]["schema_version"] == [CanonicalAlert.model_fields["schema_version"].default]
    assert sorted(rule["detail"]["action"]) == sorted(a.value for a in Action)


def test_rule_routes_every_model_action_to_the_queue_and_nothing_else(stack: Harness) -> None:
    """Real pattern matching (moto's EventBridge): what the model produces reaches the queue."""
    events = boto3.client("events", region_name="us-east-1")
    bus = stack.stack.physical["Bus"]
    alerts = [make_alert(action=action, event_id=f"{i:032x}") for i, action in enumerate(Action)]
    resp = events.put_events(Entries=[entry(a, bus) for a in alerts])
    assert resp["FailedEntryCount"] == 0
    foreign = {
        "Source": "someone.else",
        "DetailType": DETAIL_TYPE,
        "Detail": alerts[0].model_dump_json(),
        "EventBusName": bus,
    }
    v2 = {
        **entry(alerts[0], bus),
        "Detail": json.dumps({**json.loads(alerts[0].model_dump_json()), "schema_version": "2"}),
    }
    assert events.put_events(Entries=[foreign, v2])["FailedEntryCount"] == 0

    queue = stack.stack.physical["AlertQueue"]
    bodies = []
    while True:
        got = stack.sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", [])
        if not got:
            break
        bodies += [json.loads(m["Body"]) for m in got]
    assert sorted(b["detail"]["action"] for b in bodies) == sorted(a.value for a in Action)
    assert all(CanonicalAlert.model_validate(b["detail"]) in alerts for b in bodies)
