"""The dedup window through the real incident function and DynamoDB (moto): the roll-over is one
transactional write, and the incident events say who resolved the old incident (the rule) and
that the new one opened as its recurrence."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta

from alertbridge import runtime
from alertbridge.consumer import Message, process
from alertbridge.decisions import WINDOW_RULE
from alertbridge.models.alert import CanonicalAlert
from alertbridge.models.incident import Status
from alertbridge_tools.harness import Harness

from tests.flow.test_contract import make_alert
from tests.flow.test_incident_events import Subscriber
from tests.unit.test_decisions import T0


def alert(service_id: str, minute: int) -> CanonicalAlert:
    return make_alert(
        service_id=service_id,
        dedup_key="db:slow",
        occurred_at=T0 + timedelta(minutes=minute),
        event_id=hashlib.sha256(f"{service_id}|{minute}".encode()).hexdigest()[:32],
        dedup_window_s=3600,
    )


def apply(alerts: list[CanonicalAlert]) -> None:
    messages = [
        Message(str(i), json.dumps({"detail": json.loads(a.model_dump_json())})) for i, a in enumerate(alerts)
    ]
    assert process(messages, runtime.incident_store(), lambda _a: "resolve").failed == []


def test_a_trigger_past_the_window_rolls_the_incident_over_in_one_write(
    stack: Harness, service_id: str
) -> None:
    apply([alert(service_id, 0)])
    [first] = runtime.incident_store().list_open(service_id)
    apply([alert(service_id, 30), alert(service_id, 90)])  # one batch: append, then roll over
    [second] = runtime.incident_store().list_open(service_id)
    old = runtime.incident_store().get(first.id)
    assert (old.status, old.resolved_by, old.alert_count) == (Status.RESOLVED, WINDOW_RULE, 2)
    assert second.recurrence_of == first.id
    assert second.alert_count == 1
    apply([alert(service_id, 90)])  # a redelivery of the trigger that rolled over: nothing new
    assert runtime.incident_store().get(second.id).alert_count == 1
    assert [i.id for i in runtime.incident_store().list_open(service_id)] == [second.id]


def test_the_incident_events_name_the_rule_and_the_recurrence(stack: Harness, service_id: str) -> None:
    subscriber = Subscriber(
        stack, {"source": ["alertbridge"], "detail-type": ["Incident Event"]}, "dedup-window"
    )
    apply([alert(service_id, 0)])
    stack.pump()
    [opened] = subscriber.received()
    apply([alert(service_id, 90)])
    stack.pump()
    events = {e["type"]: e for e in subscriber.received()}
    assert events["incident.resolved"]["by"] == WINDOW_RULE
    assert events["incident.resolved"]["incident"]["id"] == opened["incident"]["id"]
    assert events["incident.opened"]["incident"]["recurrence_of"] == opened["incident"]["id"]
