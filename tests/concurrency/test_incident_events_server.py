"""Incident events on the moto server, as `alertbridge local` runs them: the stream is read over
HTTP, and the incident store's transactions (a new episode next to a closed one) are in it."""

from __future__ import annotations

from pathlib import Path

import boto3
import pytest
from alertbridge import runtime
from alertbridge_tools.harness import Harness

from tests.flow.test_incident_events import Subscriber, alert, documented_rule, fire


def test_committed_transactions_become_events_and_cancelled_ones_do_not(
    server_stack: Harness, tmp_path: Path
) -> None:
    stack = server_stack
    service_id = runtime.source_store().create_service("checkout").id
    token = stack.add_source(service_id, "kapacitor")[1]
    pattern = documented_rule(tmp_path)
    pattern.pop("detail")
    every = Subscriber(stack, pattern, "server-every-event")
    fire(stack, token, alert("CRITICAL", 0))
    fire(stack, token, alert("OK", 1))
    fire(stack, token, alert("CRITICAL", 2))  # a new episode: a transaction that bumps the first's version
    events = every.received()
    assert [(e["type"], e["incident"]["id"][-2:], e["version"]) for e in events] == [
        ("incident.opened", "-1", 1),
        ("incident.resolved", "-1", 2),
        ("incident.opened", "-2", 1),
    ]
    db = boto3.client("dynamodb", region_name="us-east-1", endpoint_url=stack.endpoint_url)
    table = stack.stack.physical["Table"]
    key = {"PK": {"S": events[0]["incident"]["id"].rsplit("-", 1)[0]}, "SK": {"S": "EP#000001"}}
    first = db.get_item(TableName=table, Key=key)["Item"]
    third = first | {"SK": {"S": "EP#000003"}, "seq": {"N": "3"}, "status": {"S": "triggered"}}
    with pytest.raises(db.exceptions.TransactionCanceledException):
        db.transact_write_items(
            TransactItems=[
                {
                    "ConditionCheck": {
                        "TableName": table,
                        "Key": key,
                        "ConditionExpression": "attribute_not_exists(PK)",
                    }
                },
                {"Put": {"TableName": table, "Item": third}},
            ]
        )
    stack.pump()
    assert every.received() == []
    fire(stack, token, alert("OK", 3))
    assert [(e["type"], e["incident"]["id"][-2:]) for e in every.received()] == [("incident.resolved", "-2")]
