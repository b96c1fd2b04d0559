"""Every case of every vendor (``vendors/<name>/cases.json``) through the real webhook path: its
events/ file posted to the source's function, the answer, the kept delivery and the canonical alerts
on the incident queue checked against the case's expected outcome.

``expect`` holds ``status`` (HTTP), ``outcome`` (the delivery's) and, per vendor alert in order,
``outcome`` and as far as the case fixes them ``action``, ``dedup_key``, ``severity``, ``title``
and ``reason`` (why an alert is ignored or rejected); for a 4xx, ``error`` (a part of the message).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from alertbridge import runtime, vendors
from alertbridge.models.records import SourceSettings
from alertbridge_tools import make_events
from alertbridge_tools.apigw import load_event
from alertbridge_tools.harness import Harness

CASES = [(source, case) for source in vendors.SOURCES for case in make_events.load(source).cases]
ALERT_FIELDS = ("outcome", "action", "dedup_key", "severity", "title", "reason")


def queued(stack: Harness) -> dict[str, dict[str, Any]]:
    """The canonical alerts on the incident function's queue, by event id (left on the queue)."""
    [source] = [es for es in stack.stack.event_sources if es.function == "IncidentFunction"]
    found: dict[str, dict[str, Any]] = {}
    for _ in range(3):
        answer = stack.sqs.receive_message(
            QueueUrl=source.queue_url, MaxNumberOfMessages=10, VisibilityTimeout=0
        )
        for message in answer.get("Messages", []):
            detail = json.loads(message["Body"])["detail"]
            found[detail["event_id"]] = detail
    return found


def observe(stack: Harness, source: str, token: str, case: str) -> dict[str, Any]:
    """What happened to one case, in the shape of its ``expect``."""
    answer = stack.request(load_event(source, case, token))
    seen: dict[str, Any] = {"status": answer.status}
    delivery_id = answer.body.get("delivery_id")
    if delivery_id is not None:
        record, _ = runtime.delivery_store().get(delivery_id)
        seen["outcome"] = record.outcome
    if answer.status >= 400:
        seen["error"] = answer.body["error"]
        return seen
    assert answer.body["outcome"] == seen["outcome"]
    alerts = queued(stack)
    seen["alerts"], seen["event_ids"] = [], [a.get("event_id") for a in answer.body["alerts"]]
    for alert in answer.body["alerts"]:
        published = alerts.get(alert.get("event_id", ""), {})
        assert published.get("source", source) == source
        seen["alerts"].append(
            {k: alert.get(k, published.get(k)) for k in ALERT_FIELDS if k in alert or k in published}
        )
    return seen


@pytest.mark.parametrize(("source", "case"), CASES, ids=lambda v: v if isinstance(v, str) else v.name)
def test_case_has_its_expected_outcome(
    stack: Harness, service_id: str, source: str, case: make_events.Case
) -> None:
    settings = make_events.load(source).settings
    _, token = stack.add_source(service_id, source, SourceSettings(**settings))
    expect = case.expect
    assert {"status", "outcome"} <= set(expect), f"{source}/{case.name}: no expected outcome in cases.json"
    seen = observe(stack, source, token, case.name)
    assert seen["status"] == expect["status"]
    assert seen.get("outcome") == expect["outcome"]
    if seen["status"] >= 400:
        assert expect["error"] in seen["error"]
        return
    assert len(seen["alerts"]) == len(expect["alerts"])
    for index, (got, wanted) in enumerate(zip(seen["alerts"], expect["alerts"], strict=True)):
        assert {k: got.get(k) for k in wanted} == wanted, f"alert {index}"
    accepted = [event_id for event_id in seen["event_ids"] if event_id is not None]
    assert len(set(accepted)) == len(accepted)
    # The same delivery again (a vendor's retry) gives the same event ids: it never counts twice.
    again = stack.request(load_event(source, case.name, token))
    assert [a.get("event_id") for a in again.body["alerts"]] == seen["event_ids"]
