"""What every channel's message is made of: the outbound request, the shared wording, digests.

The formatters (``notify.slack``, ``notify.teams``, ...) turn an ``IncidentEvent`` plus a
``Context`` (what the event does not carry: the service's name, the incident's page, a few
timeline lines the caller picked) into an ``Outbound`` request; ``notify.http`` sends it.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple
from urllib.parse import urlsplit

from alertbridge.models.incident_event import EventType, IncidentEvent
from alertbridge.models.parts import Severity

DIGEST_LISTED = 10  # incidents named in a digest; the rest are counted

_LABELS: dict[EventType, str] = {
    "incident.opened": "Opened",
    "incident.reopened": "Reopened",
    "incident.escalated": "Escalated",
    "incident.deescalated": "De-escalated",
    "incident.acknowledged": "Acknowledged",
    "incident.monitoring": "Monitoring",
    "incident.resolved": "Resolved",
}


@dataclass(frozen=True)
class Outbound:
    """One HTTP POST to make. The URL and headers can hold credentials (a Slack webhook path, a
    signature), so the repr shows only the host and the size. A dataclass, not a NamedTuple like
    the other records: a tuple gives its fields out (iteration, ``_asdict``, ``json.dumps``)."""

    url: str
    headers: dict[str, str]
    body: bytes

    def __repr__(self) -> str:
        return f"Outbound(host={urlsplit(self.url).hostname!r}, bytes={len(self.body)})"


class Context(NamedTuple):
    """What a message shows beyond the event: chosen by the caller, who reads the service and the
    incident's timeline (the event carries neither, to stay small)."""

    service_name: str
    incident_url: str | None = None
    timeline: tuple[str, ...] = ()
    maintenance: str | None = None  # the service's active maintenance window, when it has one


class DigestItem(NamedTuple):
    incident_id: str
    title: str
    severity: Severity
    type: EventType


class Digest(NamedTuple):
    """The events over a channel's rate cap in one minute window, sent as one message."""

    channel_id: str
    service_name: str
    window_start: datetime
    items: tuple[DigestItem, ...]

    def summary(self) -> str:
        """'37 more incidents opened in checkout: a (critical), b (high), ... and 27 more'."""
        counts = Counter(item.type for item in self.items)
        n = len(self.items)
        if len(counts) == 1:
            verb = label(next(iter(counts))).lower()
            head = f"{n} more {'incident' if n == 1 else 'incidents'} {verb} in {self.service_name}"
        else:
            parts = ", ".join(f"{c} {label(t).lower()}" for t, c in counts.most_common())
            head = f"{n} more incident updates in {self.service_name} ({parts})"
        named = ", ".join(f"{item.title} ({item.severity})" for item in self.items[:DIGEST_LISTED])
        rest = f" and {n - DIGEST_LISTED} more" if n > DIGEST_LISTED else ""
        return f"{head}: {named}{rest}"


def label(kind: EventType) -> str:
    return _LABELS[kind]


def by_text(by: str | None) -> str:
    """'ana' for person:ana, 'the source', 'timeout', 'rule r1': who, in words."""
    match by:
        case None:
            return ""
        case "source":
            return "the source"
        case "timeout":
            return "timeout"
        case _:
            kind, _, who = by.partition(":")
            return who if kind == "person" else f"{kind} {who}"


def headline(event: IncidentEvent) -> str:
    """'[TEST] Resolved: cpu is high': the one line every channel leads with."""
    test = "[TEST] " if event.incident.test else ""
    return f"{test}{label(event.type)}: {event.incident.title}"


def severity_text(event: IncidentEvent) -> str:
    if event.previous_severity is not None:
        return f"{event.incident.severity} (was {event.previous_severity})"
    return str(event.incident.severity)


def link(event: IncidentEvent, context: Context) -> str | None:
    """The incident's own page, else the first link the source gave."""
    if context.incident_url:
        return context.incident_url
    return event.incident.links[0].href if event.incident.links else None


def facts(event: IncidentEvent, context: Context) -> list[tuple[str, str]]:
    """The labelled facts every rich message shows, in order."""
    rows = [
        ("Service", context.service_name),
        ("Severity", severity_text(event)),
        ("Status", event.incident.status.value),
        ("Source", event.incident.source),
    ]
    if event.by:
        rows.append(("By", by_text(event.by)))
    if event.incident.recurrence_of:
        rows.append(("Recurrence of", event.incident.recurrence_of))
    if context.maintenance:
        rows.append(("Maintenance", context.maintenance))
    return rows


def text_summary(event: IncidentEvent, context: Context) -> str:
    """The plain-text form (email body, chat fallbacks): headline, facts, link, timeline."""
    lines = [headline(event), ""]
    lines += [f"{name}: {value}" for name, value in facts(event, context)]
    url = link(event, context)
    if url:
        lines.append(f"Link: {url}")
    if context.timeline:
        lines += ["", "Timeline:"]
        lines += [f"- {entry}" for entry in context.timeline]
    return "\n".join(lines)
