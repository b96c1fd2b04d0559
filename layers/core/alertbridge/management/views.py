"""The answers' shapes: what the management API shows of a record (never a token but the once)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent

from alertbridge import maintenance
from alertbridge.maintenance import Window
from alertbridge.models.channel import ChannelView
from alertbridge.models.incident import Incident
from alertbridge.models.incident_event import EVENT_TYPES
from alertbridge.models.records import PublicUpdate, Source
from alertbridge.models.rule import Rule, RuleSet
from alertbridge.notify.policy import EscalationStep
from alertbridge.operations import SourceHealth
from alertbridge.settings import settings
from alertbridge.status.board import public_id
from alertbridge.store.heartbeats import Seen
from alertbridge.timestamps import iso


def error(status: int, message: str, headers: dict[str, str] | None = None) -> Response[Any]:
    """What goes wrong, in the API's one shape: ``{"error": ..., "status": ...}``."""
    return Response(
        status_code=status,
        content_type="application/json",
        body={"error": message, "status": status},
        headers=headers,
    )


def base_url(event: APIGatewayProxyEvent) -> str:
    """Where webhooks are sent: ``PUBLIC_BASE_URL`` when set (the local stack sets it; so may a
    custom domain), else the URL this request came in on, less the route: API Gateway gives the
    path the caller used (``/<stage>/api/...`` on an execute-api host, the base path mapping's on a
    custom domain) beside the route's own (``/api/...``), and what precedes it is the API's root."""
    configured = settings().public_base_url
    if configured:
        return configured
    headers = event.headers
    host = headers.get("host") or "localhost"
    proto = headers.get("x-forwarded-proto") or "https"
    called = event.request_context.path or event.path
    root = called.removesuffix(event.path) if called.endswith(event.path) else ""
    return f"{proto}://{host}{root}"


def source_view(record: Source) -> dict[str, Any]:
    return {
        "id": record.id,
        "service_id": record.service_id,
        "source": record.source,
        "recovery_policy": record.settings.recovery_policy,
        "severity_filter": list(record.settings.severity_filter) if record.settings.severity_filter else None,
        "has_secret": record.settings.secret is not None,
        "affects_status": record.counts_on_status,
        "expect_every": record.settings.expect_every,
        "silence_severity": record.settings.silence_severity.value,
        "resolve_after_quiet": record.settings.resolve_after_quiet,
        "created_at": iso(record.created_at),
        "token_rotated_at": iso(record.token_rotated_at) if record.token_rotated_at else None,
    }


def token_view(record: Source, token: str, root: str) -> dict[str, Any]:
    """A source with the token just made (shown this once) and its webhook URL under ``root``."""
    return {
        **source_view(record),
        "token": token,
        "webhook_url": f"{root}/hooks/{record.source}/{token}",
        "heartbeat_url": f"{root}/hooks/heartbeat/{token}",
    }


def health_view(health: SourceHealth) -> dict[str, Any]:
    seen = health.seen or Seen()
    return {
        **source_view(health.source),
        "last_delivery_at": _iso(health.last_delivery_at),
        "last_heartbeat_at": _iso(seen.heartbeat_at),
        "silent": seen.silent_since is not None,
        "silent_since": _iso(seen.silent_since),
        "active": health.active,
    }


def _iso(moment: datetime | None) -> str | None:
    return iso(moment) if moment else None


def incident_view(incident: Incident, *, timeline: bool = False) -> dict[str, Any]:
    data = incident.model_dump(mode="json", exclude={"event_ids", "timeline", "ledger", "version"})
    data["public_id"] = public_id(incident.id)  # what the public status page names it
    if timeline:
        data["timeline"] = [e.model_dump(mode="json") for e in incident.timeline]
        data["timeline_omitted"] = incident.timeline_omitted
    return data


def channel_view(channel: ChannelView) -> dict[str, Any]:
    """A channel, its target masked (``ChannelView``), its events in the contract's order."""
    data = channel.model_dump(mode="json")
    data["events"] = sorted(data["events"], key=EVENT_TYPES.index)
    return data


def escalation_view(service_id: str, steps: list[EscalationStep]) -> dict[str, Any]:
    return {
        "service_id": service_id,
        "steps": [{"after_seconds": s.after_seconds, "channel_ids": list(s.channel_ids)} for s in steps],
    }


def public_update_view(update: PublicUpdate) -> dict[str, Any]:
    return update.model_dump(mode="json")


def public_update_entry(update: PublicUpdate) -> dict[str, Any]:
    """A public update as an entry of the incident's timeline (operators see who posted it)."""
    phase = f"[{update.phase}] " if update.phase else ""
    return {
        "at": iso(update.at),
        "kind": "public update",
        "message": f"{phase}{update.message}",
        "by": f"person:{update.by}",
    }


def rule_view(rule: Rule) -> dict[str, Any]:
    """A rule's fields, without the ones its kind does not use."""
    return {k: v for k, v in rule.model_dump(mode="json").items() if v not in (None, {})}


def rule_set_view(rule_set: RuleSet) -> dict[str, Any]:
    return {
        "service_id": rule_set.service_id,
        "version": rule_set.version,
        "rules": [{"position": n, **rule_view(r)} for n, r in enumerate(rule_set.rules, 1)],
    }


def window_view(window: Window, at: datetime) -> dict[str, Any]:
    """A maintenance window, with whether it is active at ``at`` and until when, or else when it
    next starts (None: a one-off window that is over)."""
    data = window.model_dump(mode="json", exclude_none=True)
    data["days"] = list(window.days) or None
    if window.at is not None:
        data["at"] = window.at.strftime("%H:%M")
    interval = window.interval_at(at)
    change = maintenance.next_change([window], at)  # while inactive, the next change is a start
    data["active"] = interval is not None
    data["active_until"] = maintenance.utc_text(interval[1]) if interval else None
    data["next_start"] = maintenance.utc_text(change) if change and not interval else None
    return {k: v for k, v in data.items() if v is not None or k in ("active_until", "next_start")}
