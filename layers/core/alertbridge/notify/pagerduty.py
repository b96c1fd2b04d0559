"""Forwarding to PagerDuty: an Events API v2 alert event (POST to ``ENQUEUE_URL``).

The dedup key is the incident id, so PagerDuty folds every event of one alertbridge incident into
one alert: opened, reopened and severity changes are ``trigger`` (a trigger on an open alert
updates it), acknowledged is ``acknowledge``, resolved is ``resolve``.

``incident.monitoring`` sends nothing: PagerDuty has no monitoring state, and alertbridge's
monitoring means "recovered, waiting for a person to confirm". Resolving in PagerDuty there would
close the page before anyone confirmed, and a reopen would then page again as a new PagerDuty
incident; the PagerDuty alert stays open and is resolved with the alertbridge incident.

Limits from the documentation: routing key 32 characters, dedup key at most 255, summary at most
1,024; severity one of critical, error, warning, info.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from alertbridge.models.incident_event import EventType, IncidentEvent
from alertbridge.models.parts import Severity
from alertbridge.notify.message import Context, Outbound, headline
from alertbridge.text import cut

ENQUEUE_URL = "https://events.pagerduty.com/v2/enqueue"
SUMMARY_LIMIT = 1024
KEY_LIMIT = 255
MAX_LINKS = 10

Action = Literal["trigger", "acknowledge", "resolve"]

ACTIONS: dict[EventType, Action | None] = {
    "incident.opened": "trigger",
    "incident.reopened": "trigger",
    "incident.escalated": "trigger",
    "incident.deescalated": "trigger",
    "incident.acknowledged": "acknowledge",
    "incident.monitoring": None,
    "incident.resolved": "resolve",
}

# PagerDuty has four levels to our five: "low" is not a problem worth a PagerDuty warning.
SEVERITIES: dict[Severity, str] = {
    Severity.CRITICAL: "critical",
    Severity.HIGH: "error",
    Severity.MEDIUM: "warning",
    Severity.LOW: "info",
    Severity.INFO: "info",
}


def build(event: IncidentEvent, context: Context, *, routing_key: str) -> Outbound | None:
    """The enqueue request, or None for an event PagerDuty is not told about (monitoring)."""
    body = enqueue_body(event, context, routing_key=routing_key)
    if body is None:
        return None
    return Outbound(
        url=ENQUEUE_URL,
        headers={"Content-Type": "application/json"},
        body=json.dumps(body, ensure_ascii=False).encode(),
    )


def enqueue_body(event: IncidentEvent, context: Context, *, routing_key: str) -> dict[str, Any] | None:
    action = ACTIONS[event.type]
    if action is None:
        return None
    incident = event.incident
    body: dict[str, Any] = {
        "routing_key": routing_key,
        "event_action": action,
        "dedup_key": incident.id[:KEY_LIMIT],
    }
    if action != "trigger":
        return body
    details: dict[str, Any] = {
        "incident_id": incident.id,
        "status": incident.status.value,
        "severity": incident.severity.value,
        "alert_count": incident.alert_count,
        "source_id": incident.source_id,
        "test": incident.test,
    }
    if event.previous_severity is not None:
        details["previous_severity"] = event.previous_severity.value
    if incident.recurrence_of:
        details["recurrence_of"] = incident.recurrence_of
    if incident.tags:
        details["tags"] = dict(incident.tags)
    if context.timeline:
        details["timeline"] = list(context.timeline)
    body["payload"] = {
        "summary": cut(f"{headline(event)} ({context.service_name})", SUMMARY_LIMIT),
        "source": context.service_name,
        "severity": SEVERITIES[incident.severity],
        "timestamp": event.occurred_at.isoformat(),
        "component": cut(incident.dedup_key, KEY_LIMIT),
        "class": incident.source,
        "custom_details": details,
    }
    body["client"] = "alertbridge"
    links = [{"href": link.href, "text": link.text} for link in incident.links]
    if context.incident_url:
        body["client_url"] = context.incident_url
        links.insert(0, {"href": context.incident_url, "text": "alertbridge incident"})
    if links:
        body["links"] = links[:MAX_LINKS]
    return body
