"""Heroku app webhooks end to end on moto (PRODUCT.md §1, §1.1; vendors.md §1): lifecycles open and
resolve incidents, non-problem states are ignored with the reason, retries count once, and the
HMAC signature is verified over the raw bytes when the source has a secret.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from alertbridge import runtime
from alertbridge.models.incident import Status
from alertbridge.models.parts import Severity
from alertbridge.models.records import SourceSettings
from alertbridge.vendors import heroku as heroku_mapping
from alertbridge_tools.apigw import event_body, load_event
from alertbridge_tools.harness import Harness, Response

from tests.flow.test_sources_flow import (  # stack, service_id: the shared module fixtures
    EVENT_ANSWERS,
    Hook,
    accepted,
    add_hook,
    assert_json_error,
    assert_kept_rejected,
    event_json,
    incidents_of,
    only_incident,
    post_event,
    queued,
)

SECRET = "test-webhook-secret"  # the secret events/heroku/*.json are signed with (vendors.md §1)
SIGNATURE = "Heroku-Webhook-Hmac-SHA256"
APP = "566bf9d7-c55a-45f8-91a6-e55e9b9b1325"


@pytest.fixture
def heroku(stack: Harness, service_id: str) -> Hook:
    """A Heroku source without a secret (signatures are not checked)."""
    return add_hook(stack, service_id, "heroku")


@pytest.fixture
def signed_heroku(stack: Harness, service_id: str) -> Hook:
    """A Heroku source with the secret the event files are signed with."""
    return add_hook(stack, service_id, "heroku", SourceSettings(secret=SECRET))


def send(stack: Harness, hook: Hook, *cases: str) -> list[Response]:
    """Deliver events/heroku/<case>.json files (with their signature header), then pump the queue."""
    answers = [post_event(stack, "heroku", case, hook.token) for case in cases]
    assert stack.pump().failed == 0
    return answers


def sign(body: bytes, secret: str = SECRET) -> str:
    return heroku_mapping.sign(secret, body)


def kinds(incident: Any) -> list[str]:
    return [entry.kind for entry in incident.timeline]


# --- lifecycles -----------------------------------------------------------------------------------


def test_dyno_crashed_then_up_opens_then_resolves_one_incident(
    stack: Harness, service_id: str, heroku: Hook
) -> None:
    [crashed] = send(stack, heroku, "dyno-crashed")
    [outcome] = accepted(crashed)
    assert (outcome["action"], outcome["dedup_key"]) == ("trigger", f"{APP}:dyno:web.1")
    [opened] = runtime.incident_store().list_open(service_id)
    assert (opened.status, opened.severity, opened.alert_count) == (Status.TRIGGERED, Severity.HIGH, 1)
    assert "exit status 137" in opened.description

    [up] = send(stack, heroku, "dyno-up")  # another dyno id, same app and dyno name web.1
    assert accepted(up)[0]["action"] == "resolve"
    assert runtime.incident_store().list_open(service_id) == []
    resolved = only_incident(service_id)
    assert (resolved.id, resolved.status, resolved.resolved_by) == (opened.id, Status.RESOLVED, "source")
    assert kinds(resolved) == ["opened", "resolved"]


def test_build_failed_then_succeeded_opens_then_resolves(
    stack: Harness, service_id: str, heroku: Hook
) -> None:
    [failed] = send(stack, heroku, "build-failed")
    assert accepted(failed)[0]["dedup_key"] == f"{APP}:build"
    [opened] = runtime.incident_store().list_open(service_id)
    assert (opened.severity, opened.title) == (Severity.MEDIUM, "Heroku build failed: acme-api-prod")
    assert [link["text"] for link in opened.links] == ["build output"]

    send(stack, heroku, "build-succeeded")
    resolved = only_incident(service_id)
    assert (resolved.id, resolved.status) == (opened.id, Status.RESOLVED)


def test_a_dyno_of_another_name_does_not_resolve_the_crash(
    stack: Harness, service_id: str, heroku: Hook
) -> None:
    send(stack, heroku, "dyno-crashed")
    other = event_json("heroku", "dyno-up")
    other["data"]["name"] = "web.2"
    other["id"] = other["webhook_metadata"]["event"]["id"] = "7d1f1a8e-0000-4000-8000-000000000002"
    assert stack.post("heroku", heroku.token, json.dumps(other).encode()).status == 202
    stack.pump()
    [still_open] = runtime.incident_store().list_open(service_id)
    assert still_open.dedup_key == f"{APP}:dyno:web.1"


@pytest.mark.parametrize(
    ("case", "reason"),
    [
        ("build-pending", "Heroku build status 'pending' is neither a problem ('failed') nor a recovery"),
        ("dyno-starting", "Heroku dyno state 'starting' is neither a problem ('crashed') nor a recovery"),
        ("release-succeeded", "Heroku release status 'succeeded' is not a problem (only 'failed' is)"),
    ],
)
def test_non_problem_states_are_ignored_with_the_reason_and_publish_nothing(
    stack: Harness, service_id: str, heroku: Hook, case: str, reason: str
) -> None:
    resp = post_event(stack, "heroku", case, heroku.token)
    assert resp.status == 202 and resp.body["outcome"] == "ignored"
    [outcome] = resp.body["alerts"]
    assert outcome["outcome"] == "ignored" and outcome["reason"].startswith(reason)
    assert queued(stack) == 0  # nothing was published
    record, raw = runtime.delivery_store().get(resp.body["delivery_id"])
    assert record.outcome == "ignored" and record.status_code == 202
    assert [a.reason for a in record.alerts] == [outcome["reason"]]
    assert raw == event_body(load_event("heroku", case, heroku.token))
    assert stack.pump().received == 0
    assert incidents_of(service_id) == []


def test_release_failed_is_a_trigger_with_no_recovery(stack: Harness, service_id: str, heroku: Hook) -> None:
    [resp] = send(stack, heroku, "release-failed")
    [outcome] = accepted(resp)
    event_id = event_json("heroku", "release-failed")["webhook_metadata"]["event"]["id"]
    assert (outcome["action"], outcome["dedup_key"]) == ("trigger", event_id)
    incident = only_incident(service_id)
    assert (incident.status, incident.severity, incident.recoverable) == (
        Status.TRIGGERED,
        Severity.HIGH,
        False,
    )
    assert "resolve by hand" in incident.timeline[0].message
    # A later successful release is not a recovery: the incident stays open.
    send(stack, heroku, "release-succeeded")
    assert only_incident(service_id).status is Status.TRIGGERED


def test_app_update_is_an_informational_trigger(stack: Harness, service_id: str, heroku: Hook) -> None:
    [resp] = send(stack, heroku, "app-update")
    assert accepted(resp)[0]["action"] == "trigger"
    incident = only_incident(service_id)
    assert (incident.status, incident.severity, incident.recoverable) == (
        Status.TRIGGERED,
        Severity.INFO,
        False,
    )
    assert incident.dedup_key == event_json("heroku", "app-update")["id"]
    assert incident.tags["resource"] == "app" and incident.tags["app"] == "acme-api-prod"


# --- retries --------------------------------------------------------------------------------------


def retried(case: str, attempt: str) -> bytes:
    """A Heroku retry of a delivery: same event and delivery ids, a new attempt id, same body otherwise."""
    event = event_json("heroku", case)
    event["webhook_metadata"]["attempt"]["id"] = attempt
    return json.dumps(event, indent=2).encode()


def test_a_retried_delivery_never_counts_twice(stack: Harness, service_id: str, heroku: Hook) -> None:
    first = post_event(stack, "heroku", "build-failed", heroku.token)
    # The retry arrives before the first is applied (same incident-function batch) ...
    again = stack.post(
        "heroku", heroku.token, retried("build-failed", "a0000000-0000-4000-8000-000000000001")
    )
    assert accepted(again)[0]["event_id"] == accepted(first)[0]["event_id"]
    assert stack.pump().failed == 0
    # ... and once more after it was applied (another batch).
    late = stack.post("heroku", heroku.token, retried("build-failed", "a0000000-0000-4000-8000-000000000002"))
    assert accepted(late)[0]["event_id"] == accepted(first)[0]["event_id"]
    assert stack.pump().failed == 0

    incident = only_incident(service_id)
    assert incident.alert_count == 1 and kinds(incident) == ["opened"]
    # Three deliveries kept, one alert counted.
    deliveries, _ = runtime.delivery_store().list_for_source(heroku.source_id)
    assert len(deliveries) == 3


# --- signatures -----------------------------------------------------------------------------------


@pytest.mark.parametrize("case", sorted(EVENT_ANSWERS["heroku"]))
def test_signed_event_files_pass_with_the_secret(stack: Harness, signed_heroku: Hook, case: str) -> None:
    event = load_event("heroku", case, signed_heroku.token)
    assert event["headers"][SIGNATURE] == sign(event_body(event))
    resp = stack.request(event)
    assert resp.status == 202, resp.body
    assert resp.body["outcome"] == EVENT_ANSWERS["heroku"][case][1]


def test_a_tampered_body_is_401_publishes_nothing_and_is_kept_rejected(
    stack: Harness, service_id: str, signed_heroku: Hook
) -> None:
    # A genuine delivery, captured as we stored it ...
    event = load_event("heroku", "build-failed", signed_heroku.token)
    original = stack.request(event)
    accepted(original)
    stack.pump()
    _, captured = runtime.delivery_store().get(original.body["delivery_id"])
    # ... replayed with one byte changed (still valid JSON) and the same signature header.
    at = captured.index(b"acme-api-prod")
    tampered = captured[:at] + b"b" + captured[at + 1 :]
    assert len(tampered) == len(captured) and tampered != captured

    resp = stack.post("heroku", signed_heroku.token, tampered, {SIGNATURE: event["headers"][SIGNATURE]})
    assert_json_error(resp, 401, "does not match the body")
    assert queued(stack) == 0
    assert_kept_rejected(signed_heroku.source_id, resp, tampered)
    record, _ = runtime.delivery_store().get(resp.body["delivery_id"])
    assert record.headers["heroku-webhook-hmac-sha256"] == "<present>"  # never the signature itself
    assert only_incident(service_id).alert_count == 1  # the genuine one only


def test_a_missing_signature_is_401_when_the_source_has_a_secret(stack: Harness, signed_heroku: Hook) -> None:
    body = event_body(load_event("heroku", "dyno-crashed", "x"))
    resp = stack.post("heroku", signed_heroku.token, body)  # no signature header
    assert_json_error(resp, 401, "missing Heroku-Webhook-Hmac-SHA256")
    assert_kept_rejected(signed_heroku.source_id, resp, body)
    assert queued(stack) == 0


def test_a_signature_with_another_secret_is_401(stack: Harness, signed_heroku: Hook) -> None:
    body = event_body(load_event("heroku", "dyno-crashed", "x"))
    resp = stack.post("heroku", signed_heroku.token, body, {SIGNATURE: sign(body, "another-secret")})
    assert_json_error(resp, 401, "does not match the body")
    assert queued(stack) == 0


def test_without_a_secret_unsigned_deliveries_are_accepted(
    stack: Harness, service_id: str, heroku: Hook
) -> None:
    body = event_body(load_event("heroku", "dyno-crashed", "x"))
    resp = stack.post("heroku", heroku.token, body, {"Content-Type": "application/json"})
    accepted(resp)
    stack.pump()
    assert only_incident(service_id).status is Status.TRIGGERED
