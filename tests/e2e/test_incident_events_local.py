"""`alertbridge local` publishes incident events: its poll loop reads the table's stream."""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from alertbridge_tools.local import LocalStack

from tests.flow.test_incident_events import alert


@pytest.fixture
def local() -> Iterator[LocalStack]:
    stack = LocalStack(port=0, quiet=True).start()
    yield stack
    stack.stop()


def test_a_webhook_becomes_an_incident_event_on_the_local_bus(local: LocalStack) -> None:
    url = local.emulator.url
    sqs = boto3.client("sqs", region_name="us-east-1", endpoint_url=url)
    events = boto3.client("events", region_name="us-east-1", endpoint_url=url)
    queue = sqs.create_queue(QueueName="local-subscriber")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    bus = local.harness.stack.physical["Bus"]
    pattern = {"source": ["alertbridge"], "detail-type": ["Incident Event"]}
    events.put_rule(Name="local-subscriber", EventBusName=bus, EventPattern=json.dumps(pattern))
    events.put_targets(Rule="local-subscriber", EventBusName=bus, Targets=[{"Id": "q", "Arn": arn}])
    from alertbridge import runtime

    service_id = runtime.source_store().create_service("checkout").id
    _, token = local.harness.add_source(service_id, "kapacitor")
    request = urllib.request.Request(f"{local.base_url}/hooks/kapacitor/{token}", data=alert("CRITICAL", 0))
    with urllib.request.urlopen(request, timeout=30) as answer:
        assert answer.status == 202
    got: list[dict[str, Any]] = []
    deadline = time.monotonic() + 20
    while not got and time.monotonic() < deadline:
        got = sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=0).get("Messages", [])
        time.sleep(0.2)
    assert [json.loads(m["Body"])["detail"]["type"] for m in got] == ["incident.opened"]
