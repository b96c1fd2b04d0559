"""Every function runs as its own IAM role, the one ``sam deploy`` creates from template.yaml, and
the emulator refuses what that role does not allow, as IAM would (alertbridge_tools.roles, moto_iam,
iam_policy). What a refusal does is the design's answer to any AWS error: a webhook answers 503 and
keeps the delivery unpublished; a queue's message goes back to the queue, then to its DLQ."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import pytest
from alertbridge import runtime
from alertbridge.models.records import SourceSettings
from alertbridge_tools import moto_iam, roles
from alertbridge_tools.apigw import EXAMPLE_TOKEN
from alertbridge_tools.harness import Harness
from alertbridge_tools.invoke import HEROKU_SECRET
from alertbridge_tools.template import TEMPLATE
from botocore.exceptions import ClientError

from tests.conftest import ROOT, sample
from tests.flow.receivers import Receiver, receivers

EVENTS = {
    "kapacitor": "critical.json",
    "stathat": "json.json",
    "threatstack": "batch.json",
    "uptrends": "alert.json",
    "heroku": "dyno-crashed.json",
}


@pytest.fixture
def receiver() -> Any:
    yield from receivers()


def _event(source: str, token: str) -> dict[str, Any]:
    """An event file of events/ (what `alertbridge invoke` runs), for the source's real token."""
    text = (ROOT / "events" / source / EVENTS[source]).read_text()
    event: dict[str, Any] = json.loads(text.replace(EXAMPLE_TOKEN, token))
    return event


def test_each_function_runs_as_its_own_role_and_within_it(
    stack: Harness, receiver: Callable[..., Receiver]
) -> None:
    mark = moto_iam.RECORD.mark()
    made = stack.call("POST", "/api/services", {"name": "checkout"})
    assert made.status == 201, made.body
    service_id = made.body["id"]
    tokens = {}
    for source in EVENTS:
        settings = SourceSettings(secret=HEROKU_SECRET) if source == "heroku" else SourceSettings()
        tokens[source] = stack.add_source(service_id, source, settings)[1]
        answer = stack.request(_event(source, tokens[source]))
        assert answer.status == 202, (source, answer.body)
    assert stack.heartbeat(tokens["kapacitor"]).status == 200
    hook = receiver()
    channel = stack.call("POST", f"/api/services/{service_id}/channels", {"kind": "webhook", "url": hook.url})
    assert channel.status == 201, channel.body
    assert stack.post("kapacitor", tokens["kapacitor"], sample("kapacitor-critical.json")).status == 202
    stack.pump()
    assert stack.call("GET", "/status.json").status == 200
    assert hook.requests  # the notifier, fed through the bus, delivered

    calls = moto_iam.RECORD.since(mark)
    assert {call.function for call in calls} == set(stack.stack.functions)  # each under its own keys
    assert all(call.allowed for call in calls)
    iam = boto3.client("iam")
    for function, role in stack.roles.items():
        held = iam.list_role_policies(RoleName=role.arn.rsplit("/", 1)[1])["PolicyNames"]
        assert sorted(held) == sorted(name for name, _ in role.policies), function
        assert role.credentials.access_key != "testing"  # not the process's own credentials


@pytest.mark.refused
def test_a_call_outside_a_role_is_refused_as_aws_refuses_it(
    stack: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    mark = moto_iam.RECORD.mark()
    table = stack.stack.physical["Table"]
    incidents = roles.client(stack.roles["IncidentFunction"], "dynamodb", None)
    incidents.put_item(TableName=table, Item={"PK": {"S": "inc_1"}, "SK": {"S": "x"}})  # its own keys
    with caplog.at_level(logging.WARNING, "alertbridge.local.iam"), pytest.raises(ClientError) as refused:
        incidents.put_item(TableName=table, Item={"PK": {"S": "SVC#1"}, "SK": {"S": "x"}})
    error = refused.value.response["Error"]
    assert error["Code"] == "AccessDeniedException"
    table_arn = stack.stack.attributes[("Table", "Arn")]
    assert error["Message"] == (
        "User: arn:aws:sts::123456789012:assumed-role/alertbridge-IncidentFunction/IncidentFunction is "
        f"not authorized to perform: dynamodb:PutItem on resource: {table_arn} "
        "because no identity-based policy allows the dynamodb:PutItem action"
    )
    assert "AccessDenied: IncidentFunction dynamodb:PutItem" in caplog.text

    # A bus that is not the template's: refused, though the action is the same.
    other = boto3.client("events").create_event_bus(Name="another-bus")["EventBusArn"]
    publisher = roles.client(stack.roles["IncidentEventsFunction"], "events", None)
    entry = {"Source": "alertbridge", "DetailType": "t", "Detail": "{}"}
    assert (
        publisher.put_events(Entries=[{**entry, "EventBusName": stack.stack.physical["Bus"]}])[
            "FailedEntryCount"
        ]
        == 0
    )
    with pytest.raises(ClientError, match="AccessDeniedException"):
        publisher.put_events(Entries=[{**entry, "EventBusName": other}])
    # A queue the role does not name; a table item through a transaction item by item.
    with pytest.raises(ClientError, match="AccessDenied"):
        roles.client(stack.roles["IncidentFunction"], "sqs", None).send_message(
            QueueUrl=stack.stack.physical["NotifyQueue"], MessageBody="{}"
        )
    with pytest.raises(ClientError, match="AccessDeniedException"):
        incidents.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": table, "Item": {"PK": {"S": "inc_2"}, "SK": {"S": "x"}}}},
                {"Put": {"TableName": table, "Item": {"PK": {"S": "DLV#2"}, "SK": {"S": "x"}}}},
            ]
        )
    owner = boto3.client("dynamodb")  # the transaction wrote nothing, its allowed item neither
    assert owner.get_item(TableName=table, Key={"PK": {"S": "inc_2"}, "SK": {"S": "x"}}).get("Item") is None
    refusals = [call for call in moto_iam.RECORD.since(mark) if not call.allowed]
    assert [(call.function, call.operation) for call in refusals] == [
        ("IncidentFunction", "PutItem"),
        ("IncidentEventsFunction", "PutEvents"),
        ("IncidentFunction", "SendMessage"),
        ("IncidentFunction", "TransactWriteItems"),
    ]


def _changed(tmp_path: Path, old: str, new: str, *, after: str) -> Path:
    """template.yaml with the first ``old`` after ``after`` replaced by ``new``."""
    text = TEMPLATE.read_text()
    at = text.index(old, text.index(after))
    path = tmp_path / "template.yaml"
    path.write_text(text[:at] + new + text[at + len(old) :])
    return path


@pytest.mark.refused
def test_an_ingest_role_without_put_events_answers_503_and_keeps_the_delivery(
    tmp_path: Path, aws: None
) -> None:
    statement = ["- Effect: Allow", "  Action: events:PutEvents", "  Resource: !GetAtt Bus.Arn"]
    put_events = "".join(f"          {line}\n" for line in statement)
    template = _changed(tmp_path, put_events, "", after="  IngestPolicy:")
    mark = moto_iam.RECORD.mark()
    stack = Harness.create(template_path=template)
    runtime.publisher()._backoff = 0
    service_id = runtime.source_store().create_service("checkout").id
    source, token = stack.add_source(service_id, "kapacitor")
    answer = stack.post("kapacitor", token, sample("kapacitor-critical.json"))
    assert answer.status == 503 and "retry" in answer.body["error"]
    [kept], _ = runtime.delivery_store().list_for_source(source.id, only="unpublished")
    assert runtime.delivery_store().get(kept.id)[1] == sample("kapacitor-critical.json")  # for a replay
    assert any(
        call.function == "KapacitorIngestFunction" and call.operation == "PutEvents" and not call.allowed
        for call in moto_iam.RECORD.since(mark)
    )


@pytest.mark.refused
def test_an_incident_role_refused_its_writes_leaves_the_alert_for_sqs_to_retry(
    tmp_path: Path, aws: None
) -> None:
    # Its incidents' partitions (inc_*) no longer in its role: every read and write refused.
    leading = 'dynamodb:LeadingKeys: ["inc_*"]'
    template = _changed(tmp_path, leading, 'dynamodb:LeadingKeys: ["nothing_*"]', after="  IncidentFunction:")
    mark = moto_iam.RECORD.mark()
    stack = Harness.create(template_path=template)
    service_id = runtime.source_store().create_service("checkout").id
    _, token = stack.add_source(service_id, "kapacitor")
    assert stack.post("kapacitor", token, sample("kapacitor-critical.json")).status == 202
    for _ in range(6):  # each receive fails; after maxReceiveCount the queue moves it to its DLQ
        stack.pump()
        stack.advance(900)
    assert runtime.incident_store().list_open(service_id) == []
    dlq = stack.stack.physical["AlertDeadLetterQueue"]
    moved = stack.sqs.receive_message(QueueUrl=dlq, MaxNumberOfMessages=10).get("Messages", [])
    assert [json.loads(m["Body"])["detail"]["dedup_key"] for m in moved] == ["kapacitor/cpu/serverA"]
    assert any(
        call.function == "IncidentFunction" and not call.allowed for call in moto_iam.RECORD.since(mark)
    )


def test_calls_are_kept_only_while_recording() -> None:
    """A long-running local stack keeps none (the suite turns recording on)."""
    record = moto_iam.Record()
    call = moto_iam.Call("IncidentFunction", "sqs", "ReceiveMessage", (), True)
    record.add(call)
    assert record.calls == []
    record.recording = True
    record.add(call)
    assert record.since(0) == [call]
