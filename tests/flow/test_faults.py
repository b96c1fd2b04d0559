"""Faults injected at the AWS client level against moto: nothing lost, nothing doubled."""

from __future__ import annotations

import json
import operator
from typing import Any

import pytest
from alertbridge import runtime
from alertbridge_tools.harness import Harness

from tests.conftest import sample
from tests.faults import aws_error, every_nth, first, incident_write, refuse


def batch(n: int, *, same_key_every: int = 0) -> bytes:
    alerts = [
        {
            "id": f"{i:024x}" if not same_key_every or i % same_key_every else "0" * 24,
            "title": f"alert {i}",
            "created_at": 1715680801000 + i,
            "severity": 1 + i % 3,
            "server_or_region": "ip-10-0-0-1",
            "source": "Host",
        }
        for i in range(n)
    ]
    return json.dumps({"alerts": alerts}).encode()


def all_incidents(service_id: str) -> list[Any]:
    found, cursor = runtime.incident_store().for_service(service_id, statuses=None, limit=500)
    while cursor:
        more, cursor = runtime.incident_store().for_service(
            service_id, statuses=None, limit=500, cursor=cursor
        )
        found += more
    return found


@pytest.fixture
def threatstack(stack: Harness, service_id: str) -> str:
    return stack.add_source(service_id, "threatstack")[1]


def test_partial_putevents_failures_then_outage_then_replay(
    stack: Harness, service_id: str, threatstack: str
) -> None:
    events = runtime.publisher()._events
    runtime.publisher()._backoff = 0
    # 30% of PutEvents entries refused on their first try: retried, all published once.
    with refuse(events, lambda call, i: call % 2 == 0 and i % 10 < 3) as calls:  # first tries only
        first = stack.post("threatstack", threatstack, batch(100))
    assert first.status == 202 and len(calls) > 10  # the refused entries went again
    stack.pump()
    assert len(all_incidents(service_id)) == 100

    # Total outage: 503, the delivery kept unpublished, nothing half-applied downstream.
    with aws_error(events, "events.PutEvents", "ServiceUnavailable", lambda _r: True, status=503):
        down = stack.post("threatstack", threatstack, batch(120))
    assert down.status == 503 and "retry" in down.body["error"]
    stack.pump()
    source_id = runtime.source_store().list_sources(service_id)[0].id
    [unpublished] = runtime.delivery_store().list_for_source(source_id, only="unpublished")[0]
    assert len(all_incidents(service_id)) == 100

    # Replay publishes it later, exactly once; a second replay changes nothing.
    for _ in range(2):
        replayed = stack.call("POST", f"/api/deliveries/{unpublished.id}/replay")
        assert replayed.status == 202 and replayed.body["delivery_id"] == unpublished.id
        stack.pump()
    incidents = all_incidents(service_id)
    assert len(incidents) == 120 and {i.alert_count for i in incidents} == {1}
    assert runtime.delivery_store().list_for_source(source_id, only="unpublished")[0] == []


def test_dynamodb_throttling_during_incident_processing_is_redelivered(
    stack: Harness, service_id: str, threatstack: str
) -> None:
    assert stack.post("threatstack", threatstack, batch(60, same_key_every=4)).status == 202
    db = runtime.dynamodb()
    with aws_error(
        db, "dynamodb.PutItem", "ProvisionedThroughputExceededException", every_nth(2, incident_write)
    ) as hit:
        first = stack.pollers[0].poll_once()
    assert hit and first.failed > 0  # some groups failed: their messages go back to the queue
    stack.pump()
    incidents = {i.dedup_key: i for i in all_incidents(service_id)}
    assert len(incidents) == 46  # 45 distinct ids + the shared one
    assert incidents["0" * 24].alert_count == 1  # 15 copies of one vendor alert id: one event
    assert all(i.alert_count == 1 for i in incidents.values())


def test_conditional_check_races_end_correct(stack: Harness, service_id: str) -> None:
    """Another writer wins the first two writes: the loser re-reads and decides again."""
    _, token = stack.add_source(service_id, "kapacitor")
    for level, minute in (("WARNING", 1), ("CRITICAL", 2), ("WARNING", 3)):
        body = json.loads(sample("kapacitor-critical.json"))
        body.update(level=level, time=f"2024-05-14T10:0{minute}:00Z")
        stack.post("kapacitor", token, json.dumps(body).encode())
    db = runtime.dynamodb()
    with aws_error(
        db, "dynamodb.PutItem", "ConditionalCheckFailedException", first(2, incident_write)
    ) as hit:
        stack.pump()
    assert hit
    [incident] = runtime.incident_store().list_open(service_id)
    assert incident.alert_count == 3 and incident.severity == "medium"


def test_incident_function_dying_mid_batch_is_idempotent_on_redelivery(
    stack: Harness, service_id: str, threatstack: str
) -> None:
    assert stack.post("threatstack", threatstack, batch(30)).status == 202
    db = runtime.dynamodb()
    writes = {"n": 0}

    class Died(BaseException):  # not an error the code could handle: the environment is gone
        pass

    def die_after_ten(**_: Any) -> None:
        writes["n"] += 1
        if writes["n"] == 10:
            raise Died

    db.meta.events.register("after-call.dynamodb.PutItem", die_after_ten)
    try:
        first = stack.pollers[0].poll_once()
    finally:
        db.meta.events.unregister("after-call.dynamodb.PutItem", die_after_ten)
    assert first.failed == 30  # an invocation error fails the whole batch
    assert 0 < len(all_incidents(service_id)) < 30  # some writes had landed
    stack.pump()
    incidents = all_incidents(service_id)
    assert len(incidents) == 30 and {i.alert_count for i in incidents} == {1}


def test_poison_message_reaches_the_dlq_after_max_receives_and_is_alarmed(stack: Harness) -> None:
    from alertbridge_tools.template import load_template

    resources = load_template()["Resources"]
    max_receives = resources["AlertQueue"]["Properties"]["RedrivePolicy"]["maxReceiveCount"]
    queue, dlq = stack.stack.physical["AlertQueue"], stack.stack.physical["AlertDeadLetterQueue"]
    stack.sqs.send_message(QueueUrl=queue, MessageBody='{"detail": {"schema_version": "1"}}')
    invocations = 0
    while stack.pollers[0].poll_once().received:
        invocations += 1
    assert invocations == max_receives
    [dead] = stack.sqs.receive_message(QueueUrl=dlq, AttributeNames=["All"]).get("Messages", [])
    assert int(dead["Attributes"]["ApproximateReceiveCount"]) >= max_receives
    alarm = resources["DeadLetterAlarm"]["Properties"]
    assert alarm["MetricName"] == "ApproximateNumberOfMessagesVisible"
    assert alarm["Dimensions"][0]["Value"] == {"Fn::GetAtt": ["AlertDeadLetterQueue", "QueueName"]}
    assert alarms(alarm, [1]) and not alarms(alarm, [0]) and not alarms(alarm, [None])


_COMPARE = {
    "GreaterThanThreshold": operator.gt,
    "GreaterThanOrEqualToThreshold": operator.ge,
    "LessThanThreshold": operator.lt,
    "LessThanOrEqualToThreshold": operator.le,
}


def alarms(alarm: dict[str, Any], minutes: list[float | None]) -> bool:
    """Whether CloudWatch puts ``alarm`` in ALARM given its metric's latest datapoints (None: no
    data): DatapointsToAlarm of the last EvaluationPeriods breach, missing data as TreatMissingData says."""
    window = minutes[-alarm["EvaluationPeriods"] :]
    breaching = sum(
        alarm.get("TreatMissingData") == "breaching"
        if value is None
        else _COMPARE[alarm["ComparisonOperator"]](value, alarm["Threshold"])
        for value in window
    )
    return breaching >= alarm.get("DatapointsToAlarm", alarm["EvaluationPeriods"])


def _errors_alarmed(alarm: dict[str, Any]) -> set[str]:
    """The functions whose Errors metric an alarm watches (plainly or in its metric math)."""
    stats = [alarm] + [m["MetricStat"]["Metric"] for m in alarm.get("Metrics", []) if "MetricStat" in m]
    return {
        d["Value"]["Ref"]
        for stat in stats
        if stat.get("Namespace") == "AWS/Lambda" and stat.get("MetricName") == "Errors"
        for d in stat.get("Dimensions", [])
        if d["Name"] == "FunctionName"
    }


def test_every_function_that_fails_raises_an_alarm() -> None:
    """A function's unhandled errors are alarmed, or (fed by a queue or a stream, retried) what it
    could not do ends in a dead-letter queue that is. The checker, whose failures delay every
    escalation, alarms on two failed minutes in a row and on not running at all."""
    from alertbridge_tools.template import load_template

    resources = load_template()["Resources"]
    functions = {n for n, r in resources.items() if r["Type"] == "AWS::Serverless::Function"}
    alarms_ = {n: r["Properties"] for n, r in resources.items() if r["Type"] == "AWS::CloudWatch::Alarm"}
    watched = set().union(*(_errors_alarmed(a) for a in alarms_.values()))
    dead_letters = {
        "NotifierFunction": "NotifyDeadLetterAlarm",
        "IncidentEventsFunction": "IncidentEventsDeadLetterAlarm",
    }
    assert functions - watched == set(dead_letters)
    for alarm in dead_letters.values():
        assert alarms(alarms_[alarm], [1]) and not alarms(alarms_[alarm], [0])
    errors, stopped = alarms_["CheckerErrorsAlarm"], alarms_["CheckerStoppedAlarm"]
    assert alarms(errors, [1, 1]) and not alarms(errors, [1, 0]) and not alarms(errors, [None, 1])
    assert alarms(stopped, [None, None, None]) and alarms(stopped, [0, 0, 0])
    assert not alarms(stopped, [None, None, 1]) and not alarms(stopped, [1, 1, 1])
