"""Uptrends mapping (vendors.md §4): the recommended template, Alert/Error/Ok/Reminder."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from alertbridge.models.parts import Action, Link, Severity
from alertbridge.vendors import uptrends
from alertbridge.vendors.base import Draft, Ignored, PayloadError

from tests.conftest import sample, sample_json
from tests.golden.helpers import delivery, one_draft

INCIDENT = "ba8ffcb7-5de0-489e-b649-f00f0b447e80-0-30833627687"
MONITOR = "849b2046-213d-43ad-9efc-5af1faaeb222"
TITLE = "Acme API - health: HTTP error 503 (Service Unavailable)"
LINKS = (
    Link(href=f"https://app.uptrends.com/Probe/Dashboard?probeGuids={MONITOR}", text="Uptrends dashboard"),
    Link(href="https://app.uptrends.com/Report/ProbeLog/Check/30833627687", text="first error check"),
    Link(href="https://api.example.com/health", text="monitored URL"),
)
TAGS = {"monitor_type": "Https", "checkpoint": "Ghent, Belgium", "error_type_id": "5407"}


def alert_with(**fields: Any) -> dict[str, Any]:
    message: dict[str, Any] = sample_json("uptrends-alert.json")
    message["alert"] |= fields
    return message


def test_alert_sample_opens() -> None:
    assert uptrends.map_delivery(delivery(sample("uptrends-alert.json"))) == [
        Draft(
            vendor_id="477bbd87-851b-4906-ad64-63180803b5b6",
            action=Action.TRIGGER,
            dedup_key=INCIDENT,
            severity=Severity.HIGH,
            title=TITLE,
            description="Checkpoint: Ghent, Belgium\nConsecutive errors: 2",
            occurred_at=datetime(2024, 5, 14, 10, 2, 58, tzinfo=UTC),
            links=LINKS,
            tags={"alert_type": "Alert"} | TAGS,
        )
    ]


def test_ok_sample_resolves_the_same_incident_key() -> None:
    assert uptrends.map_delivery(delivery(sample("uptrends-ok.json"))) == [
        Draft(
            vendor_id="a7ac1276-6b74-4647-939c-ea090dd7b1fe",
            action=Action.RESOLVE,
            dedup_key=INCIDENT,
            severity=Severity.HIGH,
            title=TITLE,
            description="Checkpoint: Ghent, Belgium\nConsecutive errors: 2\nDowntime: 00:48:03",
            occurred_at=datetime(2024, 5, 14, 10, 50, 1, tzinfo=UTC),
            links=LINKS,
            tags={"alert_type": "Ok"} | TAGS,
        )
    ]


@pytest.mark.parametrize(
    ("kind", "action"),
    [
        ("Error", Action.TRIGGER),
        ("ALERT", Action.TRIGGER),
        ("ok", Action.RESOLVE),
        ("OK", Action.RESOLVE),
        ("Reminder", Action.REMINDER),
        ("reminder", Action.REMINDER),
    ],
)
def test_types_case_insensitively(kind: str, action: Action) -> None:
    draft = one_draft(uptrends.map_delivery(delivery(alert_with(type=kind))))
    assert isinstance(draft, Draft)
    assert (draft.action, draft.dedup_key, draft.severity, draft.tags["alert_type"]) == (
        action,
        INCIDENT,
        Severity.HIGH,
        kind,
    )


def test_other_types_are_ignored_with_the_reason() -> None:
    assert uptrends.map_delivery(delivery(alert_with(type="Maintenance"))) == [
        Ignored(
            "Uptrends alert type 'Maintenance' is not Alert, Error, Ok or Reminder",
            vendor_id="477bbd87-851b-4906-ad64-63180803b5b6",
        )
    ]


def test_without_incident_key_the_monitor_is_the_key() -> None:
    message = sample_json("uptrends-alert.json")
    message["incident"]["key"] = ""
    assert one_draft(uptrends.map_delivery(delivery(message))).dedup_key == MONITOR
    del message["incident"]
    assert one_draft(uptrends.map_delivery(delivery(message))).dedup_key == MONITOR


def test_without_alert_guid_the_vendor_id_is_key_type_and_time() -> None:
    draft = one_draft(uptrends.map_delivery(delivery(alert_with(alertGuid=""))))
    assert draft.vendor_id == f"{INCIDENT}|alert|2024-05-14T10:02:58"


def test_time_falls_back_to_the_first_error() -> None:
    draft = one_draft(uptrends.map_delivery(delivery(alert_with(timestampUtc=""))))
    assert draft.occurred_at == datetime(2024, 5, 14, 10, 1, 58, tzinfo=UTC)


def test_a_hand_written_template_with_nulls_numbers_and_few_fields() -> None:
    message = {
        "alert": {"type": "Alert", "numberOfConsecutiveErrors": 3, "description": None, "timestampUtc": None},
        "monitor": {"guid": "m-1", "name": "Shop", "dashboardUrl": None},
        "surprise": True,
    }
    assert uptrends.map_delivery(delivery(message)) == [
        Draft(
            vendor_id="m-1|alert|",
            action=Action.TRIGGER,
            dedup_key="m-1",
            severity=Severity.HIGH,
            title="Shop: Alert",
            description="Consecutive errors: 3",
            occurred_at=None,
            tags={"alert_type": "Alert"},
        )
    ]


def test_failure_message_is_in_the_description() -> None:
    draft = one_draft(uptrends.map_delivery(delivery(alert_with(failureMessage="Expected 200, got 503"))))
    assert draft.description.startswith("Expected 200, got 503\nCheckpoint: Ghent, Belgium")


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        ({"incident": {"key": "k"}}, 422, "not an Uptrends alert: alert: Field required"),
        (
            {"alert": "Alert"},
            422,
            "not an Uptrends alert: alert: Input should be a valid dictionary or instance of _Alert",
        ),
        ([], 422, "expected a JSON object (an Uptrends alert), got list"),
        (
            {"alert": {"type": "Alert"}, "incident": {"key": ""}, "monitor": {"guid": ""}},
            422,
            "neither incident.key nor monitor.guid is set: the alert cannot be correlated",
        ),
        (b"type=Alert", 400, "body is not valid JSON: Expecting value: line 1 column 1 (char 0)"),
    ],
)
def test_unreadable_alerts(body: Any, status: int, message: str) -> None:
    with pytest.raises(PayloadError) as caught:
        uptrends.map_delivery(delivery(body))
    assert (caught.value.status, caught.value.message) == (status, message)
