"""Threat Stack webhooks end to end on moto (PRODUCT.md §1, §4; vendors.md §3): one outcome and one
incident per alert of a batch, the per-source severity filter, repeated alert ids in one
incident-function batch, bare alerts, bad elements, and resolution by a person only. Batches of
1,000: tests/flow/test_flow_threatstack_load.py.
"""

from __future__ import annotations

from typing import Any

import pytest
from alertbridge import runtime
from alertbridge.models.incident import Incident, Status
from alertbridge.models.parts import Severity
from alertbridge.models.records import SourceSettings
from alertbridge_tools.harness import Harness

from tests.flow.test_sources_flow import (  # stack, service_id: the shared module fixtures
    Hook,
    accepted,
    add_hook,
    event_json,
    incidents_of,
    only_incident,
    post_event,
    post_json,
    queued,
)


@pytest.fixture
def threatstack(stack: Harness, service_id: str) -> Hook:
    return add_hook(stack, service_id, "threatstack")


def alert(n: int, severity: int | str = 1, **fields: Any) -> dict[str, Any]:
    """A Threat Stack alert with a 24-hex id of its own."""
    return {
        "id": f"{n:024x}",
        "title": f"Suspicious process {n}",
        "created_at": 1715680801000 + n,
        "severity": severity,
        "organization_id": "5d0c2f1e8b3a4c0012ab34cd",
        "server_or_region": f"ip-10-0-{n // 256 % 256}-{n % 256}",
        "source": "Host",
        **fields,
    }


def by_key(service_id: str) -> dict[str, Incident]:
    return {i.dedup_key: i for i in incidents_of(service_id)}


def test_mixed_severities_give_one_outcome_and_one_incident_per_alert(
    stack: Harness, service_id: str, threatstack: Hook
) -> None:
    batch = event_json("threatstack", "mixed-severities")["alerts"]
    outcomes = accepted(post_event(stack, "threatstack", "mixed-severities", threatstack.token), 3)
    assert [(o["index"], o["dedup_key"], o["action"]) for o in outcomes] == [
        (i, a["id"], "trigger") for i, a in enumerate(batch)
    ]
    assert stack.pump().failed == 0
    incidents = by_key(service_id)
    assert {k: (i.severity, i.status, i.recoverable) for k, i in incidents.items()} == {
        batch[0]["id"]: (Severity.HIGH, Status.TRIGGERED, False),
        batch[1]["id"]: (Severity.MEDIUM, Status.TRIGGERED, False),
        batch[2]["id"]: (Severity.LOW, Status.TRIGGERED, False),
    }


def test_severity_filter_records_the_rest_as_ignored_and_opens_nothing_for_them(
    stack: Harness, service_id: str
) -> None:
    hook = add_hook(stack, service_id, "threatstack", SourceSettings(severity_filter=(1, 2)))
    resp = post_event(stack, "threatstack", "mixed-severities", hook.token)
    assert resp.status == 202 and resp.body["outcome"] == "accepted"
    reason = "severity 3 filtered by this source's severity filter (1,2)"
    assert [(o["outcome"], o.get("reason")) for o in resp.body["alerts"]] == [
        ("accepted", None),
        ("accepted", None),
        ("ignored", reason),
    ]
    assert queued(stack) == 2
    record, _ = runtime.delivery_store().get(resp.body["delivery_id"])
    assert [(a.outcome, a.reason) for a in record.alerts][2] == ("ignored", reason)
    stack.pump()
    assert sorted(i.severity for i in incidents_of(service_id)) == [Severity.HIGH, Severity.MEDIUM]


def test_many_copies_of_one_alert_id_in_one_incident_function_batch(
    stack: Harness, service_id: str, threatstack: Hook
) -> None:
    repeated = alert(7, title="the same alert, 50 times")
    batch = {"alerts": [repeated] * 50 + [alert(1000 + n, severity=2) for n in range(50)]}
    accepted(post_json(stack, "threatstack", threatstack.token, batch), 100)
    result = stack.pump()  # the template's batch size is 100: one invocation takes them all
    assert (result.received, result.deleted, result.failed, result.invocations) == (100, 100, 0, 1)
    incidents = by_key(service_id)
    assert len(incidents) == 51
    assert incidents[repeated["id"]].alert_count == 1  # the same alert id is the same alert
    assert {i.alert_count for i in incidents.values()} == {1}
    assert len(runtime.incident_store().list_open(service_id)) == 51


def test_repeated_alert_ids_across_deliveries_in_one_batch(
    stack: Harness, service_id: str, threatstack: Hook
) -> None:
    """Two deliveries of an overlapping batch reach one invocation: no conflict, no double count."""
    accepted(
        post_json(stack, "threatstack", threatstack.token, {"alerts": [alert(n) for n in range(40)]}), 40
    )
    accepted(
        post_json(stack, "threatstack", threatstack.token, {"alerts": [alert(n) for n in range(20, 80)]}), 60
    )
    result = stack.pump()
    assert (result.received, result.failed, result.invocations) == (100, 0, 1)
    incidents = incidents_of(service_id)
    assert len(incidents) == 80 and {i.alert_count for i in incidents} == {1}


def test_a_bare_alert_object_works(stack: Harness, service_id: str, threatstack: Hook) -> None:
    bare = event_json("threatstack", "bare-alert")
    [outcome] = accepted(post_event(stack, "threatstack", "bare-alert", threatstack.token))
    assert outcome["dedup_key"] == bare["id"]
    stack.pump()
    incident = only_incident(service_id)
    assert (incident.dedup_key, incident.severity, incident.title) == (
        bare["id"],
        Severity.HIGH,
        bare["title"],
    )


def test_string_typed_numbers_work(stack: Harness, service_id: str, threatstack: Hook) -> None:
    accepted(post_event(stack, "threatstack", "string-typed-numbers", threatstack.token))
    stack.pump()
    incident = only_incident(service_id)
    assert incident.severity is Severity.MEDIUM and incident.tags["organization"] == "Acme Corp"


def test_a_malformed_element_is_rejected_alone(stack: Harness, service_id: str, threatstack: Hook) -> None:
    batch = {"alerts": [alert(1), alert(2, severity=7), alert(3, severity="2")]}
    resp = post_json(stack, "threatstack", threatstack.token, batch)
    assert resp.status == 202 and resp.body["outcome"] == "accepted"
    assert [(o["outcome"], o.get("reason")) for o in resp.body["alerts"]] == [
        ("accepted", None),
        ("rejected", "alerts[1].severity: Input should be less than or equal to 3"),
        ("accepted", None),
    ]
    record, _ = runtime.delivery_store().get(resp.body["delivery_id"])
    assert [a.outcome for a in record.alerts] == ["accepted", "rejected", "accepted"]
    stack.pump()
    assert set(by_key(service_id)) == {alert(1)["id"], alert(3)["id"]}


def test_the_batch_with_bad_elements_event_file(stack: Harness, service_id: str, threatstack: Hook) -> None:
    resp = post_event(stack, "threatstack", "batch-with-bad-element", threatstack.token)
    assert resp.status == 202
    assert [o["outcome"] for o in resp.body["alerts"]] == ["accepted", "rejected", "rejected", "accepted"]
    assert "alerts[2].id: Field required" in resp.body["alerts"][2]["reason"]
    stack.pump()
    assert len(incidents_of(service_id)) == 2


def test_incidents_are_resolved_only_by_a_person(stack: Harness, service_id: str, threatstack: Hook) -> None:
    outcomes = accepted(post_event(stack, "threatstack", "batch", threatstack.token), 3)
    assert {o["action"] for o in outcomes} == {"trigger"}  # Threat Stack sends no recovery
    stack.pump()
    # The same batch again, later: still open, nothing resolves them but a person.
    accepted(post_event(stack, "threatstack", "batch", threatstack.token), 3)
    stack.pump()
    incidents = incidents_of(service_id)
    assert [(i.status, i.alert_count, i.recoverable) for i in incidents] == [(Status.TRIGGERED, 1, False)] * 3

    # A person resolves one, through the management API.
    answer = stack.call("POST", f"/api/incidents/{incidents[0].id}/resolve", {"by": "alice"})
    assert answer.status == 200, answer.body
    resolved = runtime.incident_store().get(incidents[0].id)
    assert (resolved.status, resolved.resolved_by) == (Status.RESOLVED, "person:operator")  # no IAM locally
    assert [e.kind for e in resolved.timeline] == ["opened", "resolved"]
    assert len(runtime.incident_store().list_open(service_id)) == 2
    # A redelivery of the resolved alert does not reopen it: it is the same alert.
    accepted(post_event(stack, "threatstack", "batch", threatstack.token), 3)
    stack.pump()
    after = runtime.incident_store().get(resolved.id)
    assert (after.status, after.alert_count) == (Status.RESOLVED, 1)
    assert len(incidents_of(service_id)) == 3


def test_a_large_valid_batch_within_the_body_limit_is_kept_and_answered_2xx(
    stack: Harness, service_id: str
) -> None:
    # 3,500 real-shaped alerts: 0.76 MB, under the 1 MiB body limit. Filtered by severity, so that
    # nothing is published (the item size is what matters, and this stays fast on moto).
    hook = add_hook(stack, service_id, "threatstack", SourceSettings(severity_filter=(1,)))
    batch = {"alerts": [alert(n, severity=3) for n in range(3500)]}
    resp = post_json(stack, "threatstack", hook.token, batch)
    assert resp.status < 500, resp.body
    assert len(resp.body["alerts"]) == 3500
    record, _ = runtime.delivery_store().get(resp.body["delivery_id"])
    assert record.outcome == "ignored"
