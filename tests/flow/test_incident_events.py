"""Incident events end to end on moto: webhook -> incident write -> the table's stream -> the
incident events function -> the bus -> a subscriber's rule -> its SQS queue.

The subscriber's rule is the one README.md documents (read from it), and every event received is
validated against ``schema/incident-event.v1.json``.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from pathlib import Path
from typing import Any

import boto3
import jsonschema
import pytest
from alertbridge import runtime
from alertbridge.models.records import SourceSettings
from alertbridge_tools.harness import Harness
from alertbridge_tools.template import load_template
from botocore.awsrequest import AWSResponse

from tests.conftest import ROOT
from tests.faults import refuse

SCHEMA = json.loads((ROOT / "schema" / "incident-event.v1.json").read_text())


def documented_rule(tmp_path: Path) -> dict[str, Any]:
    """The subscription rule README.md shows, as CloudFormation reads it."""
    readme = (ROOT / "README.md").read_text()
    found = re.search(
        r"<!-- incident-event-rule -->\n```yaml\n(.*?)```\n<!-- /incident-event-rule -->", readme, re.S
    )
    assert found, "README.md lost its incident event rule"
    path = tmp_path / "rule.yaml"
    path.write_text("Resources:\n" + found.group(1))
    [rule] = load_template(path)["Resources"].values()
    assert rule["Type"] == "AWS::Events::Rule"
    pattern: dict[str, Any] = rule["Properties"]["EventPattern"]
    return pattern


class Subscriber:
    """A queue of the subscriber's own, behind a rule on alertbridge's bus."""

    def __init__(self, stack: Harness, pattern: dict[str, Any], name: str = "subscriber") -> None:
        self.sqs = stack.sqs
        self.url = self.sqs.create_queue(QueueName=name)["QueueUrl"]
        arn = self.sqs.get_queue_attributes(QueueUrl=self.url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        events = boto3.client("events", region_name="us-east-1")
        bus = stack.stack.physical["Bus"]
        events.put_rule(Name=name, EventBusName=bus, EventPattern=json.dumps(pattern))
        events.put_targets(Rule=name, EventBusName=bus, Targets=[{"Id": "queue", "Arn": arn}])

    def received(self) -> list[dict[str, Any]]:
        """The incident events (details) received since the last call, each checked against the schema."""
        out: list[dict[str, Any]] = []
        while got := self.sqs.receive_message(QueueUrl=self.url, MaxNumberOfMessages=10).get("Messages", []):
            for message in got:
                event = json.loads(message["Body"])
                assert event["source"] == "alertbridge" and event["detail-type"] == "Incident Event"
                jsonschema.validate(event["detail"], SCHEMA)
                out.append(event["detail"])
                self.sqs.delete_message(QueueUrl=self.url, ReceiptHandle=message["ReceiptHandle"])
        return out


@pytest.fixture
def every_event(stack: Harness, tmp_path: Path) -> Subscriber:
    """The documented rule without its ``detail`` filter: every incident event."""
    pattern = documented_rule(tmp_path)
    pattern.pop("detail")
    return Subscriber(stack, pattern, "every-event")


@pytest.fixture(autouse=True)
def no_backoff(stack: Harness) -> None:
    runtime.incident_event_publisher()._backoff = 0


def alert(level: str, minute: int, key: str = "cpu:web-1") -> bytes:
    return json.dumps(
        {"id": key, "message": f"{key} is {level}", "level": level, "time": f"2026-11-23T10:{minute:02d}:00Z"}
    ).encode()


def fire(stack: Harness, token: str, body: bytes) -> None:
    assert stack.post("kapacitor", token, body).status == 202
    stack.pump()


def summary(events: list[dict[str, Any]]) -> list[tuple[str, str, int, str | None]]:
    return [(e["id"], e["type"], e["version"], e["by"]) for e in events]


def test_each_change_is_one_event_with_its_id_and_version(
    stack: Harness, service_id: str, every_event: Subscriber
) -> None:
    token = stack.add_source(service_id, "kapacitor", SourceSettings(recovery_policy="monitor"))[1]
    fire(stack, token, alert("WARNING", 0))
    [opened] = every_event.received()
    incident = opened["incident"]["id"]
    assert summary([opened]) == [(f"{incident}.v1", "incident.opened", 1, "source")]
    assert opened["incident"]["status"] == "triggered" and opened["incident"]["severity"] == "medium"

    fire(stack, token, alert("CRITICAL", 1))
    fire(stack, token, alert("OK", 2))  # monitoring (the source's recovery policy)
    fire(stack, token, alert("CRITICAL", 3))  # back: reopened
    assert stack.call("POST", f"/api/incidents/{incident}/acknowledge", {"note": "ann"}).status == 200
    assert stack.call("POST", f"/api/incidents/{incident}/resolve", {"note": "bob"}).status == 200
    stack.pump()
    events = every_event.received()
    assert summary(events) == [
        (f"{incident}.v2", "incident.escalated", 2, "source"),
        (f"{incident}.v3", "incident.monitoring", 3, "source"),
        (f"{incident}.v4", "incident.reopened", 4, "source"),
        (f"{incident}.v5", "incident.acknowledged", 5, "person:operator"),
        (f"{incident}.v6", "incident.resolved", 6, "person:operator"),
    ]
    assert events[0]["previous_severity"] == "medium" and events[0]["incident"]["severity"] == "critical"
    assert (
        events[-1]["incident"]["status"] == "resolved"
        and events[-1]["incident"]["resolved_by"] == "person:operator"
    )


def test_a_repeated_alert_publishes_nothing(stack: Harness, service_id: str, every_event: Subscriber) -> None:
    token = stack.add_source(service_id, "kapacitor")[1]
    fire(stack, token, alert("CRITICAL", 0))
    assert [e["type"] for e in every_event.received()] == ["incident.opened"]
    for minute in (1, 2, 3):
        fire(stack, token, alert("CRITICAL", minute))
    [incident] = runtime.incident_store().list_open(service_id)
    assert incident.alert_count == 4 and incident.version == 4  # four committed writes ...
    assert every_event.received() == []  # ... and three of them changed nothing people act on


def test_the_documented_rule_receives_what_it_says(
    stack: Harness, service_id: str, tmp_path: Path, every_event: Subscriber
) -> None:
    pattern = documented_rule(tmp_path)
    pages = Subscriber(stack, pattern, "pages")
    token = stack.add_source(service_id, "kapacitor", SourceSettings(recovery_policy="monitor"))[1]
    for level, minute in (("WARNING", 0), ("CRITICAL", 1), ("OK", 2), ("CRITICAL", 3), ("OK", 4)):
        fire(stack, token, alert(level, minute))
    every = [e["type"] for e in every_event.received()]
    assert set(every) > set(pattern["detail"]["type"])  # other kinds were published too ...
    assert [e["type"] for e in pages.received()] == [  # ... and the rule took just its own
        "incident.opened",
        "incident.escalated",
        "incident.reopened",
    ]


def test_a_bus_outage_delays_events_and_loses_none(
    stack: Harness, service_id: str, every_event: Subscriber
) -> None:
    token = stack.add_source(service_id, "kapacitor")[1]
    client = runtime.incident_event_publisher()._events

    def outage(**_: Any) -> tuple[AWSResponse, dict[str, Any]]:
        return AWSResponse("https://events", 503, {}, None), {
            "Error": {"Code": "ServiceUnavailable", "Message": "down"},
            "ResponseMetadata": {"HTTPStatusCode": 503},
        }

    client.meta.events.register("before-call.events.PutEvents", outage)
    try:
        for minute, (level, key) in enumerate(
            [
                ("CRITICAL", "cpu:a"),
                ("CRITICAL", "cpu:b"),
                ("OK", "cpu:a"),
                ("WARNING", "cpu:b"),
                ("OK", "cpu:b"),
            ]
        ):
            assert stack.post("kapacitor", token, alert(level, minute, key)).status == 202
            stack.pollers[0].drain()  # the incidents are written: the webhook path does not wait for the bus
            stack.stream_pollers[0].poll_once()  # and the stream's retries meet the outage
        assert every_event.received() == []
    finally:
        client.meta.events.unregister("before-call.events.PutEvents", outage)
    stack.pump()
    events = every_event.received()
    by_incident: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for event in events:
        by_incident[event["incident"]["dedup_key"]].append((event["version"], event["type"]))
    assert by_incident == {
        "cpu:a": [(1, "incident.opened"), (2, "incident.resolved")],
        "cpu:b": [(1, "incident.opened"), (2, "incident.deescalated"), (3, "incident.resolved")],
    }
    assert (
        stack.sqs.receive_message(QueueUrl=stack.stack.physical["IncidentEventsDLQ"]).get("Messages") is None
    )


def test_writes_that_did_not_commit_publish_nothing(
    stack: Harness, service_id: str, every_event: Subscriber
) -> None:
    token = stack.add_source(service_id, "kapacitor")[1]
    fire(stack, token, alert("CRITICAL", 0))
    fire(stack, token, alert("OK", 1))
    assert [e["type"] for e in every_event.received()] == ["incident.opened", "incident.resolved"]
    db = boto3.client("dynamodb", region_name="us-east-1")
    table = stack.stack.physical["Table"]
    [episode] = db.scan(
        TableName=table,
        FilterExpression="begins_with(SK, :ep)",
        ExpressionAttributeValues={":ep": {"S": "EP#"}},
    )["Items"]
    stale = {":v": {"N": "1"}}  # another writer's decision, made on the episode's first version
    reopened = episode | {"status": {"S": "triggered"}, "version": {"N": "2"}}
    with pytest.raises(db.exceptions.ConditionalCheckFailedException):
        db.put_item(
            TableName=table,
            Item=reopened,
            ConditionExpression="version = :v",
            ExpressionAttributeValues=stale,
        )
    # The incident store's transaction (a new episode next to the key's latest, whose version is
    # bumped): cancelled, after moto had applied its second half.
    second = episode | {
        "SK": {"S": "EP#000002"},
        "id": {"S": episode["id"]["S"][:-1] + "2"},
        "seq": {"N": "2"},
        "status": {"S": "triggered"},
        "version": {"N": "1"},
    }
    with pytest.raises(db.exceptions.TransactionCanceledException):
        db.transact_write_items(
            TransactItems=[
                {
                    "Update": {
                        "TableName": table,
                        "Key": {"PK": episode["PK"], "SK": episode["SK"]},
                        "UpdateExpression": "SET version = :n",
                        "ConditionExpression": "version = :v",
                        "ExpressionAttributeValues": stale | {":n": {"N": "3"}},
                    }
                },
                {
                    "Put": {
                        "TableName": table,
                        "Item": second,
                        "ConditionExpression": "attribute_not_exists(PK)",
                    }
                },
            ]
        )
    stack.pump()
    assert every_event.received() == []
    fire(stack, token, alert("CRITICAL", 2))  # the stream goes on with the next committed write
    assert [(e["type"], e["incident"]["id"][-2:]) for e in every_event.received()] == [
        ("incident.opened", "-2")
    ]


def test_a_refused_third_record_is_retried_from_it(
    stack: Harness, service_id: str, every_event: Subscriber
) -> None:
    token = stack.add_source(service_id, "kapacitor")[1]
    for i in range(5):
        assert stack.post("kapacitor", token, alert("CRITICAL", i, f"cpu:{i}")).status == 202
    stack.pollers[0].drain()  # five incidents written: five stream records, one batch
    client = runtime.incident_event_publisher()._events
    # The first PutEvents call refuses the third entry; the publisher's three retries of it too.
    with refuse(client, lambda call, i: (call == 0 and i == 2) or 1 <= call <= 3) as calls:
        first = stack.stream_pollers[0].poll_once()
        assert first.invocations == 1 and first.failed_invocations == 1 and first.records == 5
        retry = stack.stream_pollers[0].poll_once()
        assert retry.records == 3 and retry.failed_invocations == 0  # records 3..5 again, not 1 and 2
    assert calls == [5, 1, 1, 1, 3]
    events = every_event.received()
    keys = [e["incident"]["dedup_key"] for e in events]
    assert sorted(set(keys)) == [f"cpu:{i}" for i in range(5)]  # none lost
    assert keys.count("cpu:0") == keys.count("cpu:1") == keys.count("cpu:2") == 1
    # 4 and 5 were taken by the first call and come again with the retried batch: the same ids.
    assert len(events) == 7 and len({e["id"] for e in events}) == 5


def test_a_poison_record_ends_in_the_dlq_after_retries_and_the_rest_is_published(
    stack: Harness, service_id: str, every_event: Subscriber
) -> None:
    token = stack.add_source(service_id, "kapacitor")[1]
    assert stack.post("kapacitor", token, alert("CRITICAL", 0, "cpu:a")).status == 202
    stack.pollers[0].drain()
    db = boto3.client("dynamodb", region_name="us-east-1")
    poison = {
        "PK": {"S": "inc_0000000000000000poison"},
        "SK": {"S": "EP#000001"},
        "status": {"S": "unheard-of"},
    }
    db.put_item(TableName=stack.stack.physical["Table"], Item=poison)
    assert stack.post("kapacitor", token, alert("CRITICAL", 1, "cpu:b")).status == 202
    stack.pump()
    assert sorted(e["incident"]["dedup_key"] for e in every_event.received()) == ["cpu:a", "cpu:b"]
    [message] = stack.sqs.receive_message(QueueUrl=stack.stack.physical["IncidentEventsDLQ"]).get("Messages")
    failure = json.loads(message["Body"])
    info = failure["DDBStreamBatchInfo"]
    assert info["batchSize"] == 1 and info["startSequenceNumber"] == info["endSequenceNumber"]
    assert info["streamArn"] == stack.stack.attributes[("Table", "StreamArn")]
    assert failure["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert failure["requestContext"]["approximateInvokeCount"] == 21  # the first try and 20 retries
    # The DLQ names where the record is: it can be read again from the stream.
    iterator = stack.streams.get_shard_iterator(
        StreamArn=info["streamArn"],
        ShardId=info["shardId"],
        ShardIteratorType="AT_SEQUENCE_NUMBER",
        SequenceNumber=info["startSequenceNumber"],
    )["ShardIterator"]
    [record] = stack.streams.get_records(ShardIterator=iterator, Limit=1)["Records"]
    assert record["dynamodb"]["Keys"]["PK"] == poison["PK"]
