"""Uptrends custom integration end to end on moto (PRODUCT.md §1, §5; vendors.md §4): Alert (or
Error) opens, Ok resolves or, with the "monitor" recovery policy, moves the incident to monitoring;
Reminder adds to the open incident and never opens one. The template documented in vendors/uptrends/README.md
is valid JSON once filled in, and maps.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from alertbridge import runtime
from alertbridge.models.incident import Incident, Status
from alertbridge.models.parts import Severity
from alertbridge.models.records import SourceSettings
from alertbridge_tools.harness import Harness, Response

from tests.conftest import ROOT
from tests.flow.test_sources_flow import (  # stack, service_id: the shared module fixtures
    Hook,
    accepted,
    add_hook,
    event_json,
    incidents_of,
    only_incident,
    post_event,
    post_json,
)

INCIDENT_KEY = "ba8ffcb7-5de0-489e-b649-f00f0b447e80-0-30833627687"
MONITOR_GUID = "849b2046-213d-43ad-9efc-5af1faaeb222"
DOC = ROOT / "layers/core/alertbridge/vendors/uptrends/README.md"
VENDORS_MD = ROOT.parent / "shared" / "spec" / "vendors.md"


@pytest.fixture
def uptrends(stack: Harness, service_id: str) -> Hook:
    return add_hook(stack, service_id, "uptrends")


def send(stack: Harness, hook: Hook, *cases: str) -> list[Response]:
    """Deliver events/uptrends/<case>.json files, each accepted, then pump the queue."""
    answers = [post_event(stack, "uptrends", case, hook.token) for case in cases]
    for answer in answers:
        accepted(answer)
    assert stack.pump().failed == 0
    return answers


def alert_like(case: str, guid: str, at: str, **changes: Any) -> dict[str, Any]:
    """An events/uptrends/<case>.json body as a new message: another alertGuid and time."""
    body: dict[str, Any] = event_json("uptrends", case)
    body["alert"] |= {"alertGuid": guid, "timestampUtc": at, **changes}
    return body


def kinds(incident: Incident) -> list[str]:
    return [entry.kind for entry in incident.timeline]


# --- Alert / Error / Ok ---------------------------------------------------------------------------


def test_alert_then_ok_opens_then_resolves(stack: Harness, service_id: str, uptrends: Hook) -> None:
    [alert] = send(stack, uptrends, "alert")
    assert accepted(alert)[0] | {"event_id": None} == {
        "index": 0,
        "outcome": "accepted",
        "event_id": None,
        "action": "trigger",
        "dedup_key": INCIDENT_KEY,
    }
    [opened] = runtime.incident_store().list_open(service_id)
    assert (opened.status, opened.severity) == (Status.TRIGGERED, Severity.HIGH)
    assert opened.title == "Acme API - health: HTTP error 503 (Service Unavailable)"

    [ok] = send(stack, uptrends, "ok")
    assert accepted(ok)[0]["action"] == "resolve"
    assert runtime.incident_store().list_open(service_id) == []
    resolved = only_incident(service_id)
    assert (resolved.id, resolved.status, resolved.resolved_by) == (opened.id, Status.RESOLVED, "source")
    assert kinds(resolved) == ["opened", "resolved"]


def test_error_type_is_treated_like_alert(stack: Harness, service_id: str, uptrends: Hook) -> None:
    [error] = send(stack, uptrends, "error-type")
    assert accepted(error)[0]["action"] == "trigger"
    opened = only_incident(service_id)
    assert (opened.status, opened.severity, opened.dedup_key) == (
        Status.TRIGGERED,
        Severity.HIGH,
        INCIDENT_KEY,
    )
    send(stack, uptrends, "ok")
    assert only_incident(service_id).status is Status.RESOLVED


def test_without_incident_key_the_monitor_guid_is_the_key(
    stack: Harness, service_id: str, uptrends: Hook
) -> None:
    [alert] = send(stack, uptrends, "no-incident-key")
    assert accepted(alert)[0]["dedup_key"] == MONITOR_GUID
    assert only_incident(service_id).dedup_key == MONITOR_GUID
    ok = event_json("uptrends", "ok")
    ok["incident"]["key"] = ""
    accepted(post_json(stack, "uptrends", uptrends.token, ok))
    stack.pump()
    resolved = only_incident(service_id)
    assert (resolved.dedup_key, resolved.status) == (MONITOR_GUID, Status.RESOLVED)


# --- Reminder -------------------------------------------------------------------------------------


def test_reminder_adds_to_the_open_incident(stack: Harness, service_id: str, uptrends: Hook) -> None:
    [_, reminder] = send(stack, uptrends, "alert", "reminder")
    assert accepted(reminder)[0]["action"] == "reminder"
    incident = only_incident(service_id)
    assert (incident.status, incident.alert_count) == (Status.TRIGGERED, 2)
    assert kinds(incident) == ["opened", "reminder"]
    # Another reminder later: still the same incident, counted again.
    later = alert_like("reminder", "0d9e7f54-1111-4c1e-9d9b-000000000003", "2024-05-14T11:02:58")
    accepted(post_json(stack, "uptrends", uptrends.token, later))
    stack.pump()
    incident = only_incident(service_id)
    assert incident.alert_count == 3 and kinds(incident) == ["opened", "reminder", "reminder"]


def test_a_reminder_with_no_open_incident_never_opens_one(
    stack: Harness, service_id: str, uptrends: Hook
) -> None:
    send(stack, uptrends, "reminder")
    assert runtime.incident_store().list_open(service_id) == []
    assert incidents_of(service_id) == []
    # Nor after the incident was resolved.
    send(stack, uptrends, "alert", "ok")
    late = alert_like("reminder", "0d9e7f54-1111-4c1e-9d9b-000000000004", "2024-05-14T11:10:00")
    accepted(post_json(stack, "uptrends", uptrends.token, late))
    stack.pump()
    resolved = only_incident(service_id)
    assert (resolved.status, resolved.alert_count) == (Status.RESOLVED, 1)


# --- recovery policy ------------------------------------------------------------------------------


def test_monitor_policy_moves_to_monitoring_and_a_new_alert_reopens_the_same_incident(
    stack: Harness, service_id: str
) -> None:
    hook = add_hook(stack, service_id, "uptrends", SourceSettings(recovery_policy="monitor"))
    send(stack, hook, "alert", "ok")
    monitoring = only_incident(service_id)
    assert monitoring.status is Status.MONITORING
    assert monitoring.resolved_at is None and kinds(monitoring) == ["opened", "monitoring"]
    # Monitoring is still open: one incident for the key, listed with the open ones.
    assert [(i.id, i.status) for i in runtime.incident_store().list_open(service_id)] == [
        (monitoring.id, Status.MONITORING)
    ]

    again = alert_like("alert", "5a0c7e1e-2222-4f43-8a57-000000000005", "2024-05-14T11:05:00")
    accepted(post_json(stack, "uptrends", hook.token, again))
    stack.pump()
    reopened = only_incident(service_id)
    assert (reopened.id, reopened.status, reopened.alert_count) == (monitoring.id, Status.TRIGGERED, 2)
    assert kinds(reopened) == ["opened", "monitoring", "reopened"]


def test_default_policy_resolves_and_a_new_alert_is_a_recurrence(
    stack: Harness, service_id: str, uptrends: Hook
) -> None:
    send(stack, uptrends, "alert", "ok")
    first = only_incident(service_id)
    assert first.status is Status.RESOLVED

    again = alert_like("alert", "5a0c7e1e-2222-4f43-8a57-000000000006", "2024-05-14T11:05:00")
    accepted(post_json(stack, "uptrends", uptrends.token, again))
    stack.pump()
    [old, new] = incidents_of(service_id)
    assert (old.id, old.status) == (first.id, Status.RESOLVED)
    assert (new.status, new.recurrence_of) == (Status.TRIGGERED, first.id)


# --- the documented template (vendors/uptrends/README.md) ---------------------------------------------------

PLACEHOLDER = re.compile(r"\{\{@JsonEncode\(\{\{@([\w.]+)\}\}\)\}\}|\{\{@([\w.]+)\}\}")
# What Uptrends substitutes for each variable (everything else gets a plain sample string).
SAMPLE_VALUES = {
    "alert.type": "Alert",
    "alert.alertGuid": "3f7ab1f0-4a8e-4d4e-9d7c-0c6f3e8a9b01",
    "alert.timestampUtc": "2024-05-14T10:02:58",
    "alert.firstErrorUtc": "2024-05-14T10:01:58",
    "alert.description": 'HTTP error 503 "Service Unavailable"',
    "alert.failureMessage": "Expected 200, got 503\nRetrying from another checkpoint",
    "incident.key": "doc-0-1234567890",
    "monitor.monitorGuid": "0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0",
    "monitor.name": 'Shop "home"',
    "monitor.notes": "line one\nline two\twith a tab and a \\ backslash",
    "monitor.url": "https://shop.example.com/?a=1&b=2",
    "monitor.dashboardUrl": "https://app.uptrends.com/Report/Dashboard",
}


def documented_template(path: Path) -> str:
    blocks = re.findall(r"```json\n(.*?)```", path.read_text(), flags=re.DOTALL)
    assert len(blocks) == 1, f"expected one ```json block in {path.name}"
    return blocks[0]


def fill(template: str, **overrides: str) -> str:
    """The template as Uptrends sends it: every {{@variable}} replaced by text, and
    {{@JsonEncode(...)}} by the JSON-escaped text (inside the template's own quotes)."""
    values = SAMPLE_VALUES | overrides

    def substitute(match: re.Match[str]) -> str:
        encoded, plain = match.groups()
        if encoded:
            return json.dumps(values.get(encoded, f"sample {encoded}"))[1:-1]
        return values.get(plain, f"sample-{plain}")

    return PLACEHOLDER.sub(substitute, template)


def test_the_documented_template_is_the_one_in_vendors_md() -> None:
    if not VENDORS_MD.exists():
        pytest.skip("the spec (../shared/spec/vendors.md) is not checked out next to the repository")
    assert documented_template(DOC) == documented_template_in_vendors_md()


def documented_template_in_vendors_md() -> str:
    text = VENDORS_MD.read_text()
    section = text[text.index("Recommended template") :]
    return re.findall(r"```json\n(.*?)```", section, flags=re.DOTALL)[0]


def test_the_documented_template_is_valid_json_once_filled_in_and_maps(
    stack: Harness, service_id: str, uptrends: Hook
) -> None:
    template = documented_template(DOC)
    assert PLACEHOLDER.search(template)
    filled = fill(template)
    assert "{{@" not in filled
    body = json.loads(filled)  # valid JSON, quotes and newlines in free text included
    assert body["alert"]["type"] == "Alert" and body["monitor"]["notes"] == SAMPLE_VALUES["monitor.notes"]

    [outcome] = accepted(stack.post("uptrends", uptrends.token, filled.encode()))
    assert (outcome["action"], outcome["dedup_key"]) == ("trigger", "doc-0-1234567890")
    stack.pump()
    incident = only_incident(service_id)
    assert incident.title == 'Shop "home": HTTP error 503 "Service Unavailable"'
    assert "Expected 200, got 503" in incident.description
    assert incident.first_seen_at == datetime(2024, 5, 14, 10, 2, 58, tzinfo=UTC)  # timestampUtc is UTC

    ok = fill(
        template,
        **{
            "alert.type": "Ok",
            "alert.alertGuid": "3f7ab1f0-0000-4d4e-9d7c-0c6f3e8a9b02",
            "alert.timestampUtc": "2024-05-14T10:20:00",
        },
    )
    accepted(stack.post("uptrends", uptrends.token, ok.encode()))
    stack.pump()
    assert only_incident(service_id).status is Status.RESOLVED
