"""Maintenance windows through the real functions (moto, controlled clock): an alert in a window is
kept as suppressed and opens nothing; recoveries pass; an incident opened before the window still
updates and resolves, and its notifications say the service is in maintenance; a change made
elsewhere takes effect within 60 s; /api/status shows the service in maintenance; a read that
fails is a 503 the vendor retries, never a loss."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import boto3
import pytest
from alertbridge import maintenance, runtime, timestamps
from alertbridge.maintenance import Window
from alertbridge.models.incident import Status
from alertbridge.store.maintenance import MaintenanceStore
from alertbridge.timestamps import iso, now
from alertbridge_tools.harness import Harness

from tests.faults import aws_error
from tests.flow.receivers import Receiver, receivers
from tests.flow.test_observability import lines


@pytest.fixture
def token(stack: Harness, service_id: str) -> str:
    return stack.add_source(service_id, "kapacitor")[1]


@pytest.fixture
def receiver() -> Iterator[Callable[..., Receiver]]:
    yield from receivers()


def kapacitor(level: str, minute: int, key: str = "cpu:web-1") -> bytes:
    at = f"2026-11-23T10:{minute:02d}:00Z"
    return json.dumps({"id": key, "message": f"{key} is {level}", "level": level, "time": at}).encode()


def window_now(stack: Harness, service_id: str, name: str = "db upgrade", hours: int = 2) -> dict[str, Any]:
    """A one-off window from a minute ago for ``hours``."""
    start = now() - timedelta(minutes=1)
    body = {"name": name, "start": iso(start), "end": iso(start + timedelta(hours=hours))}
    made = stack.call("POST", f"/api/services/{service_id}/maintenance", body)
    assert made.status == 201, made.body
    return dict(made.body)


def post(stack: Harness, token: str, body: bytes) -> dict[str, Any]:
    answer = stack.post("kapacitor", token, body)
    assert answer.status == 202, answer.body
    return dict(answer.body)


def test_an_alert_in_a_window_is_kept_as_suppressed_and_opens_nothing(
    stack: Harness, service_id: str, token: str
) -> None:
    window = window_now(stack, service_id)
    answer = post(stack, token, kapacitor("CRITICAL", 0))
    assert answer["outcome"] == "suppressed"
    [alert] = answer["alerts"]
    assert alert["outcome"] == "suppressed"
    assert alert["reason"] == f"maintenance window {window['id']} 'db upgrade' (until {window['end'][:19]}Z)"
    assert alert["event_id"]  # still named: a replay after the window maps to the same event
    assert stack.pump().received == 0  # nothing was published
    assert runtime.incident_store().list_open(service_id) == []
    kept = stack.call("GET", "/api/deliveries", query={"only": "suppressed", "service": service_id})
    [delivery] = kept.body["deliveries"]
    assert delivery["id"] == answer["delivery_id"]
    assert delivery["outcome"] == "suppressed"
    assert delivery["reason"] == alert["reason"]
    assert delivery["alerts"][0]["reason"] == alert["reason"]
    shown = stack.call("GET", f"/api/deliveries/{answer['delivery_id']}")
    assert json.loads(shown.body["body"])["level"] == "CRITICAL"  # the raw body is kept


def test_recoveries_always_pass(stack: Harness, service_id: str, token: str) -> None:
    window_now(stack, service_id)
    answer = post(stack, token, kapacitor("OK", 5))
    assert answer["outcome"] == "accepted"
    assert stack.pump().received == 1


def test_an_incident_opened_before_the_window_still_updates_and_resolves(
    stack: Harness, service_id: str, token: str
) -> None:
    post(stack, token, kapacitor("WARNING", 0))
    stack.pump()
    [incident] = runtime.incident_store().list_open(service_id)
    window_now(stack, service_id)
    assert post(stack, token, kapacitor("CRITICAL", 1))["outcome"] == "accepted"  # escalates
    assert post(stack, token, kapacitor("CRITICAL", 1, key="cpu:web-2"))["outcome"] == "suppressed"
    stack.pump()
    updated = runtime.incident_store().get(incident.id)
    assert updated.alert_count == 2
    assert updated.severity == "critical"
    assert post(stack, token, kapacitor("OK", 2))["outcome"] == "accepted"
    stack.pump()
    assert runtime.incident_store().get(incident.id).status is Status.RESOLVED
    assert runtime.incident_store().list_open(service_id) == []  # web-2 opened nothing


def test_a_batch_is_split_alert_by_alert(stack: Harness, service_id: str) -> None:
    _, token = stack.add_source(service_id, "threatstack")
    alerts = [
        {"id": f"{i:024x}", "title": f"alert {i}", "created_at": 1715680801000 + i, "severity": 1}
        for i in range(3)
    ]
    first = stack.post("threatstack", token, json.dumps({"alerts": alerts[:1]}).encode())
    assert first.status == 202
    stack.pump()  # alert 0's incident opens before the window
    window_now(stack, service_id)
    answer = stack.post("threatstack", token, json.dumps({"alerts": alerts}).encode())
    assert answer.status == 202
    assert [a["outcome"] for a in answer.body["alerts"]] == ["accepted", "suppressed", "suppressed"]
    assert answer.body["outcome"] == "accepted"
    assert stack.pump().received == 1


def test_a_recurring_window_that_started_yesterday_is_still_on(
    stack: Harness, service_id: str, token: str
) -> None:
    yesterday = (now() - timedelta(days=1)).strftime("%a").lower()
    made = stack.call(
        "POST",
        f"/api/services/{service_id}/maintenance",
        {
            "days": [yesterday],
            "at": (now() - timedelta(days=1)).strftime("%H:%M"),
            "duration": "2d",
            "tz": "UTC",
        },
    )
    assert made.status == 201, made.body
    assert made.body["active"] is True
    assert post(stack, token, kapacitor("CRITICAL", 0))["outcome"] == "suppressed"


def test_changes_made_by_another_container_take_effect_within_60_seconds(
    stack: Harness, service_id: str, token: str
) -> None:
    assert post(stack, token, kapacitor("CRITICAL", 0, key="a"))["outcome"] == "accepted"  # caches: none
    elsewhere = MaintenanceStore(boto3.client("dynamodb"), stack.stack.environment()["TABLE_NAME"])
    start = now() - timedelta(minutes=1)
    window = Window(
        id="mw_elsewhere",
        service_id=service_id,
        name="x",
        created_at=now(),
        start=start,
        end=start + timedelta(hours=2),
    )
    elsewhere.add(window)  # another container (the management function's): ingest's cache is stale
    assert post(stack, token, kapacitor("CRITICAL", 1, key="b"))["outcome"] == "accepted"
    timestamps.advance(61)
    assert post(stack, token, kapacitor("CRITICAL", 2, key="c"))["outcome"] == "suppressed"
    elsewhere.remove(window.id)
    assert post(stack, token, kapacitor("CRITICAL", 3, key="d"))["outcome"] == "suppressed"
    timestamps.advance(61)
    assert post(stack, token, kapacitor("CRITICAL", 4, key="e"))["outcome"] == "accepted"


def test_a_window_that_ends_lets_alerts_through_on_the_minute(
    stack: Harness, service_id: str, token: str
) -> None:
    window_now(stack, service_id, hours=1)  # started a minute ago: 59 minutes left
    assert post(stack, token, kapacitor("CRITICAL", 0, key="a"))["outcome"] == "suppressed"
    timestamps.advance(59 * 60)  # the cached windows are still the same: the end is computed
    assert post(stack, token, kapacitor("CRITICAL", 1, key="b"))["outcome"] == "accepted"


def test_status_shows_the_service_in_maintenance(stack: Harness, service_id: str, token: str) -> None:
    [before] = stack.call("GET", "/api/status").body
    assert before["status"] == "operational"
    window_now(stack, service_id)
    [during] = stack.call("GET", "/api/status").body
    assert during["status"] == "maintenance"


def test_notifications_of_an_incident_opened_before_say_the_service_is_in_maintenance(
    stack: Harness, service_id: str, token: str, receiver: Callable[..., Receiver]
) -> None:
    slack = receiver()
    made = stack.call("POST", f"/api/services/{service_id}/channels", {"kind": "slack", "url": slack.url})
    assert made.status == 201
    post(stack, token, kapacitor("CRITICAL", 0))
    stack.pump()
    [opened] = slack.bodies()
    assert "Maintenance" not in json.dumps(opened)
    window = window_now(stack, service_id)
    post(stack, token, kapacitor("OK", 5))
    stack.pump()
    [_, resolved] = slack.bodies()
    text = json.dumps(resolved)
    assert "Maintenance" in text
    assert window["id"] in text


def test_a_failed_read_of_the_incident_is_a_503_the_vendor_retries(
    stack: Harness, service_id: str, token: str
) -> None:
    window_now(stack, service_id)
    client = runtime.dynamodb()
    with aws_error(
        client, "dynamodb.Query", "ProvisionedThroughputExceededException", lambda r: "inc_" in json.dumps(r)
    ) as failed:
        refused = stack.post("kapacitor", token, kapacitor("CRITICAL", 0))
    assert failed
    assert refused.status == 503
    retried = post(stack, token, kapacitor("CRITICAL", 0))
    assert retried["outcome"] == "suppressed"


def test_suppressed_alerts_are_counted_in_the_ingest_metrics_and_not_as_published(
    stack: Harness,
    service_id: str,
    token: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "false")
    window_now(stack, service_id)
    capsys.readouterr()
    post(stack, token, kapacitor("CRITICAL", 0))
    post(stack, token, kapacitor("OK", 1))
    totals: dict[str, float] = {}
    for record in lines(capsys.readouterr().out):
        for directive in record.get("_aws", {}).get("CloudWatchMetrics", []):
            for metric in directive["Metrics"]:
                value = record[metric["Name"]]
                totals[metric["Name"]] = totals.get(metric["Name"], 0) + (
                    sum(value) if isinstance(value, list) else value
                )
    assert totals == {"received": 2, "suppressed": 1, "accepted": 1, "published": 1}


def test_the_management_api_names_what_is_wrong(stack: Harness, service_id: str) -> None:
    weekly = {"days": ["sat"], "at": "02:00", "duration": "2h", "tz": "UTC"}
    missing = stack.call("POST", "/api/services/svc_nope/maintenance", weekly)
    assert (missing.status, missing.body["error"]) == (404, "service svc_nope not found")
    gone = stack.call("DELETE", "/api/maintenance/mw_nope")
    assert (gone.status, gone.body["error"]) == (404, "maintenance window mw_nope not found")
    assert stack.call("GET", "/api/maintenance", query={"service": "svc_nope"}).status == 404
    typo = stack.call("POST", f"/api/services/{service_id}/maintenance", {**weekly, "zone": "UTC"})
    assert typo.status == 400
    assert "zone" in typo.body["error"]
    for _ in range(maintenance.MAX_WINDOWS):
        assert stack.call("POST", f"/api/services/{service_id}/maintenance", weekly).status == 201
    over = stack.call("POST", f"/api/services/{service_id}/maintenance", weekly)
    assert (over.status, over.body["error"]) == (
        409,
        f"service {service_id} has 50 maintenance windows already",
    )
