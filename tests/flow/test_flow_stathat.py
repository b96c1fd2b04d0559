"""StatHat webhooks end to end on moto (PRODUCT.md §1; vendors.md §5): JSON, form-encoded and
plain-text bodies each open an incident; the same alert firing again later adds to it; bodies
that are no text at all are a 400 and kept.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from alertbridge import runtime
from alertbridge.models.incident import Status
from alertbridge.models.parts import Severity
from alertbridge_tools.apigw import event_body, load_event
from alertbridge_tools.harness import Harness

from tests.flow.test_sources_flow import (  # stack, service_id: the shared module fixtures
    Hook,
    accepted,
    add_hook,
    assert_json_error,
    assert_kept_rejected,
    only_incident,
    post_event,
    queued,
)

T0 = datetime(2024, 5, 14, 10, 0, 5, tzinfo=UTC)


@pytest.fixture
def stathat(stack: Harness, service_id: str) -> Hook:
    return add_hook(stack, service_id, "stathat")


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> list[datetime]:
    """The time ingest receives deliveries at: ``clock[0]``, settable by the test."""
    current = [T0]
    monkeypatch.setattr("alertbridge.ingest.now", lambda: current[0])
    return current


@pytest.mark.parametrize(
    ("case", "body_format", "key", "title"),
    [
        ("json", "json", "alert:k3Dq", "api request time"),
        ("form-encoded", "form", "alert:k3Dq", "api request time"),
        ("plain-text", "text", None, "api request time was greater than 500 over the last 1h"),
    ],
)
def test_each_body_format_opens_an_incident(
    stack: Harness, service_id: str, stathat: Hook, case: str, body_format: str, key: str | None, title: str
) -> None:
    [outcome] = accepted(post_event(stack, "stathat", case, stathat.token))
    assert outcome["action"] == "trigger"
    assert stack.pump().failed == 0
    incident = only_incident(service_id)
    assert (incident.status, incident.severity, incident.title) == (Status.TRIGGERED, Severity.MEDIUM, title)
    assert incident.recoverable is False and incident.tags["body_format"] == body_format
    if key is not None:
        assert incident.dedup_key == key
    else:  # text: a hash of the title
        assert incident.dedup_key.startswith("stat:") and outcome["dedup_key"] == incident.dedup_key


def test_the_same_alert_later_appends_to_the_open_incident(
    stack: Harness, service_id: str, stathat: Hook, clock: list[datetime]
) -> None:
    first = accepted(post_event(stack, "stathat", "json", stathat.token))
    # A retry within the same minute is the same delivery: it counts once.
    clock[0] = T0 + timedelta(seconds=40)
    retry = accepted(post_event(stack, "stathat", "json", stathat.token))
    assert retry[0]["event_id"] == first[0]["event_id"]
    stack.pump()
    assert only_incident(service_id).alert_count == 1

    # StatHat fires again minutes later (here as a form post of the same alert): a second alert.
    clock[0] = T0 + timedelta(minutes=7)
    later = accepted(post_event(stack, "stathat", "form-encoded", stathat.token))
    assert later[0]["event_id"] != first[0]["event_id"]
    stack.pump()
    incident = only_incident(service_id)
    assert (incident.status, incident.alert_count) == (Status.TRIGGERED, 2)
    assert [e.kind for e in incident.timeline] == ["opened", "alert"]
    assert incident.last_seen_at == T0 + timedelta(minutes=7)  # no vendor time: the time of receipt


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        (b"", "empty body"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01", "not UTF-8"),
        (bytes(range(256)), "not UTF-8"),
    ],
    ids=["empty", "png", "all-bytes"],
)
def test_empty_or_binary_bodies_are_400_and_kept(
    stack: Harness, service_id: str, stathat: Hook, body: bytes, needle: str
) -> None:
    resp = stack.post("stathat", stathat.token, body, {"Content-Type": "application/octet-stream"})
    assert_json_error(resp, 400, needle)
    assert_kept_rejected(stathat.source_id, resp, body)
    assert queued(stack) == 0


def test_the_empty_event_file_is_400_and_kept(stack: Harness, stathat: Hook) -> None:
    event = load_event("stathat", "empty", stathat.token)
    resp = stack.request(event)
    assert_json_error(resp, 400, "empty body")
    assert_kept_rejected(stathat.source_id, resp, event_body(event))
    rejected, _ = runtime.delivery_store().list_for_source(stathat.source_id, only="rejected")
    assert [r.id for r in rejected] == [resp.body["delivery_id"]]
