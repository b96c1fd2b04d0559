"""Notifications on moto through the harness: channels, every format against real loopback
receivers, retries, slow channels, storms, escalation with a fast-forwarded clock, SNS."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import jsonschema
import pytest
from alertbridge import runtime
from alertbridge.incident_events import derive
from alertbridge.models.incident import Incident
from alertbridge.models.incident_event import IncidentEvent
from alertbridge.notify import pagerduty, webhook
from alertbridge_tools.harness import Harness

from tests.flow.receivers import Receiver, answer, hang, publish, receivers, sequence

SCHEMA = json.loads(
    (Path(__file__).parents[1] / "unit" / "notify" / "pagerduty-events-v2.schema.json").read_text()
)
ROUTING_KEY = "R0123456789abcdef0123456789abcd1"


@pytest.fixture
def receiver() -> Iterator[Callable[..., Receiver]]:
    yield from receivers()


@pytest.fixture
def token(stack: Harness, service_id: str) -> str:
    return stack.add_source(service_id, "kapacitor")[1]


def add(stack: Harness, service_id: str, kind: str, **fields: Any) -> dict[str, Any]:
    made = stack.call("POST", f"/api/services/{service_id}/channels", {"kind": kind, **fields})
    assert made.status == 201, made.body
    return dict(made.body)


def open_incident(stack: Harness, token: str, key: str = "cpu:web-1", level: str = "CRITICAL") -> Incident:
    """A Kapacitor alert through the real ingest, incident and incident-events functions: its
    incident.opened event reaches the notifier from the table's stream."""
    body = {"id": key, "message": f"{key} is {level}", "level": level, "time": "2026-11-23T10:00:00Z"}
    assert stack.post("kapacitor", token, json.dumps(body).encode()).status == 202
    stack.pump()
    [incident] = [i for i in runtime.incident_store().list_open(_service(stack, token)) if i.dedup_key == key]
    return incident


def redeliver(stack: Harness, old: Incident | None, new: Incident) -> list[IncidentEvent]:
    """The events of a write put on the bus once more, as an at-least-once redelivery would."""
    events = derive(old, new)
    publish(stack.stack.environment()["BUS_NAME"], events, stack.endpoint_url)
    stack.pump()
    return events


def _service(stack: Harness, token: str) -> str:
    source = runtime.source_store().authenticate(token)
    assert source is not None
    return source.service_id


def timeline(stack: Harness, incident_id: str) -> list[dict[str, Any]]:
    shown = stack.call("GET", f"/api/incidents/{incident_id}")
    assert shown.status == 200
    return [e for e in shown.body["timeline"] if e["kind"] == "notification"]


# --- channels ------------------------------------------------------------------------------------
def test_channels_are_masked_on_every_answer_and_sealed_in_the_table(
    stack: Harness, service_id: str, receiver: Callable[..., Receiver]
) -> None:
    slack_url = receiver().url
    made = add(stack, service_id, "slack", url=slack_url, events=["opened", "resolved"])
    assert made["kind"] == "slack" and made["service_id"] == service_id
    assert made["events"] == ["incident.opened", "incident.resolved"]
    assert "s3cr3tpath" not in json.dumps(made)
    hook = add(stack, service_id, "webhook", url=slack_url)
    generated = hook["secret"]  # generated, shown this once
    assert len(generated) >= 16 and hook["has_secret"] is True
    pd = add(stack, service_id, "pagerduty", routing_key=ROUTING_KEY, min_severity="high")
    mail = add(stack, service_id, "email", address="oncall@example.com")
    listed = stack.call("GET", f"/api/services/{service_id}/channels").body
    assert [c["id"] for c in listed] == [made["id"], hook["id"], pd["id"], mail["id"]]
    shown = stack.call("GET", f"/api/channels/{hook['id']}").body
    everything = json.dumps([listed, shown])
    for secret in ("s3cr3tpath", generated, ROUTING_KEY, "oncall@"):
        assert secret not in everything
    items = boto3.client("dynamodb").scan(TableName=stack.stack.environment()["TABLE_NAME"])["Items"]
    for secret in ("s3cr3tpath", generated, ROUTING_KEY, "oncall@"):
        assert secret not in json.dumps(items, default=str)
    assert runtime.channel_store().get(hook["id"]).secret == generated  # the key opens them
    bad = stack.call("POST", f"/api/services/{service_id}/channels", {"kind": "sms", "number": "12"})
    assert bad.status == 400 and "E.164" in bad.body["error"]
    gone = stack.call("DELETE", f"/api/channels/{mail['id']}")
    assert gone.status == 200 and stack.call("GET", f"/api/channels/{mail['id']}").status == 404


def test_every_channel_item_matches_its_row_in_the_data_model_doc(
    stack: Harness, service_id: str, token: str, receiver: Callable[..., Receiver]
) -> None:
    from tests.meta.test_data_model_doc import documented_kinds

    slack = add(stack, service_id, "slack", url=receiver().url, rate_per_minute=1)
    stack.start_of_minute()  # "a" and "b" in one window, so "b" is digested
    stack.call(
        "PUT",
        f"/api/services/{service_id}/escalation",
        {"steps": [{"after": "5m", "channel_ids": [slack["id"]]}]},
    )
    open_incident(stack, token, "a")
    open_incident(stack, token, "b")  # over the cap of 1: a digest
    stack.advance(301)
    stack.pump()
    kinds = documented_kinds(stack)
    assert {
        "channel",
        "escalation policy",
        "notification attempt",
        "send done",
        "rate window",
        "digest entry",
    } <= kinds


# --- formats -------------------------------------------------------------------------------------
def test_each_format_reaches_its_receiver(
    stack: Harness,
    service_id: str,
    token: str,
    receiver: Callable[..., Receiver],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    slack, teams, hook, pd = (
        receiver(),
        receiver(),
        receiver(),
        receiver(answer(202, b'{"status":"success"}')),
    )
    monkeypatch.setattr(pagerduty, "ENQUEUE_URL", pd.url)
    add(stack, service_id, "slack", url=slack.url)
    add(stack, service_id, "teams", url=teams.url)
    secret = add(stack, service_id, "webhook", url=hook.url)["secret"]
    add(stack, service_id, "pagerduty", routing_key=ROUTING_KEY)
    incident = open_incident(stack, token)

    [s] = slack.bodies()
    assert s["blocks"][0]["text"]["text"] == f"Opened: {incident.title}"
    assert "checkout" in json.dumps(s)
    [t] = teams.bodies()
    assert t["attachments"][0]["contentType"] == "application/vnd.microsoft.card.adaptive"
    [request] = hook.requests
    assert webhook.verify(secret, request["headers"], request["body"], time.time())
    sent = json.loads(request["body"])
    assert (sent["type"], sent["incident"]["id"], sent["version"]) == ("incident.opened", incident.id, 1)
    [p] = pd.bodies()
    jsonschema.validate(p, SCHEMA)
    assert (p["event_action"], p["dedup_key"], p["routing_key"]) == ("trigger", incident.id, ROUTING_KEY)

    entries = timeline(stack, incident.id)
    assert len(entries) == 4
    assert {(e["outcome"], e["attempt"]) for e in entries} == {("sent", 1)}
    assert all(e["status_code"] in (200, 202) and e["channel_id"].startswith("ch_") for e in entries)

    # Acknowledged by a person: PagerDuty is told, a redelivered event is not sent twice.
    before = runtime.incident_store().get(incident.id)
    acked = stack.call("POST", f"/api/incidents/{incident.id}/acknowledge", {"by": "ana"})
    assert acked.status == 200
    stack.pump()  # the stream publishes incident.acknowledged
    redeliver(stack, before, runtime.incident_store().get(incident.id))  # the same event again
    assert [b["event_action"] for b in pd.bodies()] == ["trigger", "acknowledge"]
    assert len(slack.requests) == len(hook.requests) == 2


# --- delivery ------------------------------------------------------------------------------------
def test_a_500_then_200_is_retried_and_recorded_as_attempt_2(
    stack: Harness, service_id: str, token: str, receiver: Callable[..., Receiver]
) -> None:
    flaky = receiver(sequence(answer(500), answer(200)))
    channel = add(stack, service_id, "slack", url=flaky.url)
    incident = open_incident(stack, token)
    assert len(flaky.requests) == 1  # the retry waits for its backoff (10-20 s at first)
    stack.advance(20)
    stack.pump()
    assert len(flaky.requests) == 2
    entries = timeline(stack, incident.id)
    assert [(e["attempt"], e["outcome"], e["status_code"]) for e in entries] == [
        (1, "retry", 500),
        (2, "sent", 200),
    ]
    assert {e["channel_id"] for e in entries} == {channel["id"]}


def test_retry_after_of_a_429_is_honoured(
    stack: Harness, service_id: str, token: str, receiver: Callable[..., Receiver]
) -> None:
    busy = receiver(sequence(answer(429, headers={"Retry-After": "120"}), answer(200)))
    add(stack, service_id, "slack", url=busy.url)
    open_incident(stack, token)
    stack.advance(60)  # past any backoff of a first retry, not past Retry-After
    stack.pump()
    assert len(busy.requests) == 1
    stack.advance(61)
    stack.pump()
    assert len(busy.requests) == 2


def test_a_hanging_receiver_never_delays_another_channel(
    stack: Harness,
    service_id: str,
    token: str,
    receiver: Callable[..., Receiver],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("NOTIFY_TIMEOUT_SECONDS", "2")
    runtime.reset()
    stack.handlers["NotifierFunction"] = stack.stack.functions["NotifierFunction"].load()
    slow, fast = receiver(hang(5)), receiver()
    add(stack, service_id, "slack", url=slow.url)
    add(stack, service_id, "teams", url=fast.url)
    started = time.monotonic()
    incident = open_incident(stack, token)
    assert len(fast.requests) == 1 and fast.requests[0]["at"] - started < 1.5
    outcomes = {e["outcome"] for e in timeline(stack, incident.id)}
    assert outcomes == {"sent", "retry"}  # the hanging one timed out after 2 s and will be retried


def test_a_message_that_keeps_failing_ends_in_the_dlq_recorded_as_failed(
    stack: Harness, service_id: str, token: str, receiver: Callable[..., Receiver]
) -> None:
    down = receiver(answer(503))
    add(stack, service_id, "slack", url=down.url)
    incident = open_incident(stack, token)
    for _ in range(6):
        stack.advance(900)
        stack.pump()
    entries = timeline(stack, incident.id)
    assert [e["attempt"] for e in entries] == [1, 2, 3, 4, 5, 6]
    assert entries[-1]["outcome"] == "failed" and "DLQ" in entries[-1]["message"]
    dlq = stack.stack.outputs["NotifyDeadLetterQueueUrl"]
    got = boto3.client("sqs").receive_message(QueueUrl=dlq, MaxNumberOfMessages=10)["Messages"]
    assert len(got) == 1 and json.loads(got[0]["Body"])["attempt"] == 6


# --- storms --------------------------------------------------------------------------------------
def storm(stack: Harness, service_id: str, n: int) -> list[IncidentEvent]:
    """n incident.opened events, put on NotifyQueue the way the rule delivers them."""
    from tests.unit.notify.factories import make_event

    sqs = boto3.client("sqs")
    url = stack.stack.outputs["NotifyQueueUrl"]
    events = [
        make_event(
            event={"id": f"inc_{i:020d}-1.v1"},
            id=f"inc_{i:020d}-1",
            service_id=service_id,
            title=f"disk {i} full",
            severity="high",
        )
        for i in range(n)
    ]
    for start in range(0, n, 10):
        sqs.send_message_batch(
            QueueUrl=url,
            Entries=[
                {
                    "Id": str(j),
                    "MessageBody": json.dumps(
                        {
                            "source": "alertbridge",
                            "detail-type": "Incident Event",
                            "detail": e.model_dump(mode="json"),
                        }
                    ),
                }
                for j, e in enumerate(events[start : start + 10])
            ],
        )
    return events


def test_a_storm_of_1000_incidents_is_cap_messages_and_one_digest_per_minute(
    stack: Harness, service_id: str, receiver: Callable[..., Receiver]
) -> None:
    from alertbridge_tools import moto_speedups

    moto_speedups.apply()  # as the local stack's emulator: a deep queue without moto's walks
    slack = receiver()
    add(stack, service_id, "slack", url=slack.url)  # default cap: 20 a minute
    # A message sent just before a window ends would be counted (at its receipt) in the next one.
    stack.start_of_minute()
    events = storm(stack, service_id, 1000)
    stack.pump()
    stack.advance(61)  # the last window ends: its digest is flushed
    stack.pump()
    singles: dict[int, list[str]] = {}
    digests: dict[int, list[str]] = {}
    for request in slack.requests:
        text = json.loads(request["body"])["text"]
        into = digests if " more incident" in text else singles
        into.setdefault(request["window"], []).append(text)
    assert digests
    assert all(len(texts) <= 20 for texts in singles.values())  # the cap, per channel and minute
    # and one digest per window that overflowed (a fast-forward may deliver two in one minute)
    assert sum(len(texts) for texts in digests.values()) <= len(singles)
    named = {t.split("\n")[0].removeprefix("Opened: ") for texts in singles.values() for t in texts}
    listed = sum(int(t.split(" more")[0]) for texts in digests.values() for t in texts)
    assert len(named) + listed == 1000  # every incident is on some message
    assert named <= {f"disk {i} full" for i in range(1000)}
    notes = runtime.notification_store()  # these incidents exist only as events: their attempts
    digested = [e for i in (999, 500) for e in notes.attempts(events[i].incident.id)]
    assert {e["outcome"] for e in digested} <= {"digested", "sent"}


def test_machine_channels_are_delayed_to_later_windows_never_digested(
    stack: Harness, service_id: str, receiver: Callable[..., Receiver]
) -> None:
    hook = receiver()
    add(stack, service_id, "webhook", url=hook.url, rate_per_minute=20)
    stack.start_of_minute()  # no pump spans two windows
    storm(stack, service_id, 50)
    per_window = []
    for _ in range(4):
        before = len(hook.requests)
        stack.pump()
        per_window.append(len(hook.requests) - before)
        stack.advance(60)
    assert all(n <= 20 for n in per_window), per_window
    assert sorted(json.loads(r["body"])["incident"]["id"] for r in hook.requests) == sorted(
        f"inc_{i:020d}-1" for i in range(50)
    )


# --- SNS and secrets -----------------------------------------------------------------------------
def test_email_and_sms_are_published_to_the_topic_with_the_channel_id_attribute(
    stack: Harness, service_id: str, token: str
) -> None:
    mail = add(stack, service_id, "email", address="oncall@example.com")
    sms = add(stack, service_id, "sms", number="+14155550123", min_severity="critical")
    sns, sqs = boto3.client("sns"), boto3.client("sqs")
    topic = stack.stack.outputs["NotificationsTopicArn"]
    seen = {}
    for channel in (mail, sms):  # a queue subscribed like the channel, to read what SNS delivers
        url = sqs.create_queue(QueueName=f"tap-{channel['id']}")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        sns.subscribe(
            TopicArn=topic,
            Protocol="sqs",
            Endpoint=arn,
            Attributes={"FilterPolicy": json.dumps({"channel_id": [channel["id"]]})},
        )
        seen[channel["id"]] = url
    subs = sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]
    assert {s["Protocol"] for s in subs} == {"email", "sms", "sqs"}
    incident = open_incident(stack, token)
    for channel in (mail, sms):
        [got] = sqs.receive_message(QueueUrl=seen[channel["id"]], MaxNumberOfMessages=10)["Messages"]
        envelope = json.loads(got["Body"])
        assert envelope["MessageAttributes"]["channel_id"]["Value"] == channel["id"]
        assert incident.title in envelope["Message"]
    assert envelope.get("Subject") is None and len(envelope["Message"]) <= 140  # the SMS
    stack.call("DELETE", f"/api/channels/{mail['id']}")
    left = sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]
    assert {s["Protocol"] for s in left} == {"sms", "sqs"}


def test_secrets_never_reach_the_logs_or_the_api(
    stack: Harness,
    service_id: str,
    token: str,
    receiver: Callable[..., Receiver],
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    slack, hook = receiver(sequence(answer(500), answer(200))), receiver()
    secret = "0123456789abcdef-supersecret"
    a = add(stack, service_id, "slack", url=slack.url)
    b = add(stack, service_id, "webhook", url=hook.url, secret=secret)
    pd = receiver()
    monkeypatch.setattr(pagerduty, "ENQUEUE_URL", pd.url)
    c = add(stack, service_id, "pagerduty", routing_key=ROUTING_KEY)
    caplog.set_level("INFO")
    incident = open_incident(stack, token)
    stack.advance(30)
    stack.pump()
    stack.call("POST", f"/api/channels/{a['id']}/test")
    answers = json.dumps(
        [a, b, c, stack.call("GET", f"/api/incidents/{incident.id}").body]
        + [stack.call("GET", f"/api/channels/{x['id']}").body for x in (a, b, c)]
    )
    logs = json.dumps([vars(r) for r in caplog.records], default=str)  # every field of every line
    assert "notification attempt" in logs
    for value in ("s3cr3tpath", secret, ROUTING_KEY):
        assert value not in logs
        assert value not in answers


# --- escalation ------------------------------------------------------------------------------------
def test_escalation_stops_on_monitoring_and_restarts_when_the_incident_reopens(
    stack: Harness, service_id: str, receiver: Callable[..., Receiver]
) -> None:
    """A source with the monitor policy: the recovery stops the chain, a new problem reopens the
    incident and its escalation starts again from the first step, on the new epoch."""
    from alertbridge.models.records import SourceSettings

    _, token = stack.add_source(service_id, "kapacitor", SourceSettings(recovery_policy="monitor"))
    late = receiver()
    channel = add(stack, service_id, "slack", url=late.url, events=["incident.resolved"])
    put = stack.call(
        "PUT",
        f"/api/services/{service_id}/escalation",
        {"steps": [{"after": "10m", "channel_ids": [channel["id"]]}]},
    )
    assert put.status == 200, put.body

    def alert(level: str, at: str) -> None:
        body = {"id": "db:lag", "message": f"db:lag is {level}", "level": level, "time": at}
        assert stack.post("kapacitor", token, json.dumps(body).encode()).status == 202
        stack.pump()

    alert("CRITICAL", "2026-11-23T10:00:00Z")
    stack.advance(5 * 60)
    stack.pump()
    alert("OK", "2026-11-23T10:05:00Z")  # monitoring: the chain stops
    stack.advance(6 * 60)
    stack.pump()
    assert not late.requests
    alert("CRITICAL", "2026-11-23T10:12:00Z")  # reopened: a new chain from step 0
    stack.advance(9 * 60)
    stack.pump()
    assert not late.requests  # 9 minutes into the new chain
    stack.advance(2 * 60)
    stack.pump()
    assert len(late.requests) == 1
    assert "escalat" in json.dumps(late.bodies()[0]).lower()
