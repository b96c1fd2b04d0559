"""Service status and the public status board: pure (no storage, no HTTP), built from snapshots passed in.

A service's status is derived from its open incidents, never stored, so it cannot drift:

- ``disruption``: an open incident (triggered or acknowledged) is critical or high;
- ``degraded``: open incidents (triggered or acknowledged) only of lower severities;
- ``operational``: otherwise. An incident in ``monitoring`` (the source recovered under the
  "monitor" policy, a person has yet to confirm) counts as operational (PRODUCT §5), and test
  incidents never count.

The :class:`Board` is what the public may see, and only what the operator chose (issue 18): the
services marked public, under their public name and description, in their order; their status from
the incidents of the sources that affect it (Threat Stack's do not, by default); each such incident
as "<public name>: investigating an issue" with its public phase (investigating, identified,
monitoring, resolved) and the operators' public updates, newest first. Nothing a vendor controls
(titles, dedup keys, hosts, ids) reaches it unless the service shows titles, and then only a real
title, never the dedup key an untitled alert falls back to. An incident is named by an opaque
public id (a hash of its id). Never tokens, payloads, descriptions, tags, links or internal ids.
The HTML (:mod:`.html`) and the JSON (:func:`to_json`) are both rendered from it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Protocol, get_args

from alertbridge.models.incident import IncidentSummary, Status, key_id
from alertbridge.models.parts import Severity
from alertbridge.models.records import PublicPhase, PublicUpdate, Service, StatusPageSettings
from alertbridge.timestamps import iso

DISRUPTIVE_SEVERITIES = frozenset({Severity.CRITICAL, Severity.HIGH})
COUNTED_STATUSES = frozenset({Status.TRIGGERED, Status.ACKNOWLEDGED})
MAX_RESOLVED_PER_SERVICE = 10


# --- service status ------------------------------------------------------------------------------
class ServiceStatus(StrEnum):
    OPERATIONAL = "operational"
    MAINTENANCE = "maintenance"  # in an active maintenance window (see ``in_maintenance``)
    DEGRADED = "degraded"
    DISRUPTION = "disruption"

    @property
    def rank(self) -> int:
        """Higher is worse: operational 0, maintenance 1, degraded 2, disruption 3."""
        return _RANK[self]


_RANK = {
    ServiceStatus.OPERATIONAL: 0,
    ServiceStatus.MAINTENANCE: 1,
    ServiceStatus.DEGRADED: 2,
    ServiceStatus.DISRUPTION: 3,
}

SUMMARY = {
    ServiceStatus.OPERATIONAL: "All systems operational",
    ServiceStatus.MAINTENANCE: "Scheduled maintenance",
    ServiceStatus.DEGRADED: "Partial outage",
    ServiceStatus.DISRUPTION: "Major outage",
}


class Counted(Protocol):
    """What status needs of an incident: an Incident, or the IncidentSummary the index projects."""

    @property
    def is_open(self) -> bool: ...
    @property
    def test(self) -> bool: ...
    @property
    def status(self) -> Status: ...
    @property
    def severity(self) -> Severity: ...


def affects_status(incident: Counted) -> bool:
    """Whether an incident affects its service's status."""
    return incident.is_open and not incident.test and incident.status in COUNTED_STATUSES


def service_status(incidents: Iterable[Counted]) -> ServiceStatus:
    """A service's status from its incidents (any of them; only open, non-test ones count)."""
    status = ServiceStatus.OPERATIONAL
    for incident in incidents:
        if not affects_status(incident):
            continue
        if incident.severity in DISRUPTIVE_SEVERITIES:
            return ServiceStatus.DISRUPTION
        status = ServiceStatus.DEGRADED
    return status


def in_maintenance(status: ServiceStatus, window_active: bool) -> ServiceStatus:
    """What a service shows while a maintenance window of it is active: ``maintenance``, whatever
    its incidents say (its alerts are held back; incidents opened before are still listed)."""
    return ServiceStatus.MAINTENANCE if window_active else status


def worst(statuses: Iterable[ServiceStatus]) -> ServiceStatus:
    """The overall status of several services: the worst of theirs (operational when none)."""
    return max(statuses, key=lambda s: s.rank, default=ServiceStatus.OPERATIONAL)


# --- the board -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Snapshot:
    """A service with its open incidents and the ones resolved recently, as read from the index;
    which of its sources affect its public status (by source id; an unknown one does not), and the
    public updates of its incidents (by incident id, oldest first)."""

    service: Service
    open: list[IncidentSummary]
    resolved: list[IncidentSummary]
    counted_sources: Mapping[str, bool] = field(default_factory=dict)
    updates: Mapping[str, list[PublicUpdate]] = field(default_factory=dict)


PHASES: tuple[PublicPhase, ...] = get_args(PublicPhase)  # in the order an incident goes through them
HEADLINE: dict[PublicPhase, str] = {
    "investigating": "investigating an issue",
    "identified": "issue identified",
    "monitoring": "monitoring the recovery",
    "resolved": "issue resolved",
}


@dataclass(frozen=True)
class PublicIncident:
    id: str  # opaque: see public_id
    title: str  # "<public name>: investigating an issue", or the vendor title if the service shows titles
    phase: PublicPhase
    started_at: datetime
    resolved_at: datetime | None
    updates: tuple[PublicUpdate, ...]  # newest first


@dataclass(frozen=True)
class Row:
    name: str
    description: str | None
    status: ServiceStatus
    open: tuple[PublicIncident, ...]
    resolved: tuple[PublicIncident, ...]


@dataclass(frozen=True)
class Board:
    generated_at: datetime
    status: ServiceStatus
    services: tuple[Row, ...]
    settings: StatusPageSettings = field(default_factory=StatusPageSettings)

    @property
    def recently_resolved(self) -> list[tuple[Row, PublicIncident]]:
        items = [(row, item) for row in self.services for item in row.resolved]
        return sorted(items, key=lambda pair: pair[1].resolved_at or self.generated_at, reverse=True)

    @property
    def affected(self) -> int:
        return sum(1 for row in self.services if row.status is not ServiceStatus.OPERATIONAL)


def public_id(incident_id: str) -> str:
    """The id visitors see: a one-way hash of the internal id (itself a hash of the service id and
    the dedup key), so neither can be read back from the page."""
    return "pi_" + hashlib.sha256(f"alertbridge-public\x00{incident_id}".encode()).hexdigest()[:16]


def phase(incident: IncidentSummary, updates: Sequence[PublicUpdate]) -> PublicPhase:
    """Resolved once the incident is; else the phase an operator set last (investigating when none),
    moved on to monitoring when the source recovered into monitoring meanwhile."""
    if not incident.is_open:
        return "resolved"
    said: PublicPhase = next(
        (u.phase for u in reversed(updates) if u.phase and u.phase != "resolved"), "investigating"
    )
    if incident.status is Status.MONITORING and PHASES.index(said) < PHASES.index("monitoring"):
        return "monitoring"
    return said


def _title(service: Service, incident: IncidentSummary, shown: PublicPhase) -> str:
    """The generic headline, or with ``show_titles`` the vendor's title when the alert had one (an
    untitled alert's title is its dedup key: recognised by hashing it like the incident's key)."""
    untitled = key_id(service.id, incident.title) == incident.id.rpartition("-")[0]
    if service.show_titles and incident.title.strip() and not untitled:
        return incident.title
    return f"{service.shown_name}: {HEADLINE[shown]}"


def _public(service: Service, incident: IncidentSummary, updates: Sequence[PublicUpdate]) -> PublicIncident:
    shown = phase(incident, updates)
    return PublicIncident(
        id=public_id(incident.id),
        title=_title(service, incident, shown),
        phase=shown,
        started_at=incident.opened_at,
        resolved_at=incident.resolved_at,
        updates=tuple(sorted(updates, key=lambda u: u.at, reverse=True)),
    )


def build_board(
    snapshots: Sequence[Snapshot], at: datetime, settings: StatusPageSettings | None = None
) -> Board:
    """The public board: public services only, by (order, public name); their incidents from the
    sources that affect their status, test ones left out; resolved ones of the history window."""
    settings = settings or StatusPageSettings()
    window = timedelta(hours=settings.history_hours)
    rows = []
    for snap in sorted(
        (s for s in snapshots if s.service.public), key=lambda s: (s.service.order, s.service.shown_name)
    ):
        counted = [i for i in snap.open if snap.counted_sources.get(i.source_id, False)]
        shown = [i for i in counted if i.is_open and not i.test]
        # What drives the status first (worst severity first), then the rest; oldest first.
        shown.sort(key=lambda i: (not affects_status(i), -i.severity.rank, i.opened_at))
        resolved = sorted(
            (
                i
                for i in snap.resolved
                if snap.counted_sources.get(i.source_id, False)
                and not i.test
                and i.resolved_at is not None
                and at - i.resolved_at <= window
            ),
            key=lambda i: i.resolved_at or at,
            reverse=True,
        )[:MAX_RESOLVED_PER_SERVICE]
        rows.append(
            Row(
                name=snap.service.shown_name,
                description=snap.service.public_description,
                status=service_status(counted),
                open=tuple(_public(snap.service, i, snap.updates.get(i.id, [])) for i in shown),
                resolved=tuple(_public(snap.service, i, snap.updates.get(i.id, [])) for i in resolved),
            )
        )
    return Board(
        generated_at=at, status=worst(r.status for r in rows), services=tuple(rows), settings=settings
    )


def _incident_json(item: PublicIncident) -> dict[str, Any]:
    return {
        "id": item.id,
        "title": item.title,
        "phase": item.phase,
        "started_at": iso(item.started_at),
        "resolved_at": iso(item.resolved_at) if item.resolved_at else None,
        "updates": [{"message": u.message, "at": iso(u.at)} for u in item.updates],
    }


def to_json(board: Board) -> dict[str, Any]:
    """The board as the ``/status.json`` document (a dict, for ``json.dumps``)."""
    return {
        "title": board.settings.title,
        "status": board.status.value,
        "summary": SUMMARY[board.status],
        "generated_at": iso(board.generated_at),
        "history_hours": board.settings.history_hours,
        "services": [
            {
                "name": row.name,
                "description": row.description,
                "status": row.status.value,
                "incidents": [_incident_json(i) for i in row.open],
                "recently_resolved": [_incident_json(i) for i in row.resolved],
            }
            for row in board.services
        ],
    }
