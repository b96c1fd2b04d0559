"""Incident events and channels for the notification tests, built directly (not via derive)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from alertbridge.models.channel import Channel
from alertbridge.models.incident_event import EventType, IncidentEvent, IncidentSnapshot

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
INCIDENT_ID = "inc_0123456789abcdef0123-1"


def make_event(
    kind: EventType = "incident.opened",
    version: int = 1,
    *,
    event: dict[str, Any] | None = None,
    **incident: Any,
) -> IncidentEvent:
    fields: dict[str, Any] = {
        "id": INCIDENT_ID,
        "service_id": "svc_1",
        "status": "triggered",
        "severity": "critical",
        "title": "cpu:nil is CRITICAL",
        "source": "kapacitor",
        "source_id": "src_1",
        "dedup_key": "cpu:nil",
        "alert_count": 1,
        "opened_at": NOW,
    }
    fields.update(incident)
    return IncidentEvent.model_validate(
        {
            "id": f"{INCIDENT_ID}.v{version}",
            "type": kind,
            "version": version,
            "occurred_at": NOW,
            "by": "source",
            "incident": IncidentSnapshot.model_validate(fields),
            **(event or {}),
        }
    )


def make_channel(kind: str = "slack", **overrides: Any) -> Channel:
    targets: dict[str, dict[str, Any]] = {
        "slack": {"url": "https://hooks.slack.com/services/T000/B000/abcdefghijklmnopWXYZ"},
        "teams": {
            "url": "https://prod.westeurope.logic.azure.com/workflows/1/triggers/manual/paths/invoke?sig=s3cr"
        },
        "webhook": {"url": "https://receiver.example.com/hook", "secret": "0123456789abcdef-Q7zK"},
        "pagerduty": {"routing_key": "R0123456789abcdef0123456789abcd1"},
        "email": {"address": "oncall@example.com"},
        "sms": {"number": "+14155550123"},
    }
    fields: dict[str, Any] = {
        "id": "ch_1",
        "service_id": "svc_1",
        "kind": kind,
        "name": f"{kind} channel",
        "created_at": NOW,
        **targets[kind],
    }
    fields.update(overrides)
    return Channel.model_validate(fields)
