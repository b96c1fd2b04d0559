"""Service status and the public status board: pure (no storage, no HTTP), built from snapshots passed in.

A service's status is derived from its open incidents, never stored, so it cannot drift:

- ``disruption``: an open incident (triggered or acknowledged) is critical or high;
- ``degraded``: open incidents (triggered or acknowledged) only of lower severities;
- ``operational``: otherwise. An incident in ``monitoring`` (the source recovered under the
  "monitor" policy, a person has yet to confirm) counts as operational (PRODUCT §5), and test
  incidents never count.

The :class:`Board` holds only what the public may see: service names, their status, their open
incidents' title, severity, state and start time, and the incidents resolved recently (title and
time). Never tokens, payloads, descriptions, dedup keys, tags, links or ids. Test incidents are
left out. The HTML (:mod:`.html`) and the JSON (:func:`to_json`) are both rendered from it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

from alertbridge.models.alert import Severity
from alertbridge.models.incident import IncidentSummary, Status
from alertbridge.models.records import Service
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
    """A service with its open incidents and the ones resolved recently, as read from the index."""

    service: Service
    open: list[IncidentSummary]
    resolved: list[IncidentSummary]


@dataclass(frozen=True)
class OpenItem:
    title: str
    severity: Severity
    status: Status
    started_at: datetime


@dataclass(frozen=True)
class ResolvedItem:
    service: str
    title: str
    resolved_at: datetime


@dataclass(frozen=True)
class Row:
    name: str
    status: ServiceStatus
    open: tuple[OpenItem, ...]
    resolved: tuple[ResolvedItem, ...]


@dataclass(frozen=True)
class Board:
    generated_at: datetime
    status: ServiceStatus
    services: tuple[Row, ...]

    @property
    def recently_resolved(self) -> list[ResolvedItem]:
        items = [item for row in self.services for item in row.resolved]
        return sorted(items, key=lambda i: i.resolved_at, reverse=True)

    @property
    def affected(self) -> int:
        return sum(1 for row in self.services if row.status is not ServiceStatus.OPERATIONAL)


def build_board(snapshots: Sequence[Snapshot], at: datetime) -> Board:
    rows = []
    for snap in snapshots:
        shown = [i for i in snap.open if i.is_open and not i.test]
        # What drives the status first (worst severity first), then the rest; oldest first.
        shown.sort(key=lambda i: (not affects_status(i), -i.severity.rank, i.opened_at))
        resolved = sorted(
            (i for i in snap.resolved if not i.test and i.resolved_at is not None),
            key=lambda i: i.resolved_at or at,
            reverse=True,
        )[:MAX_RESOLVED_PER_SERVICE]
        rows.append(
            Row(
                name=snap.service.name,
                status=service_status(snap.open),
                open=tuple(OpenItem(i.title, i.severity, i.status, i.opened_at) for i in shown),
                resolved=tuple(
                    ResolvedItem(snap.service.name, i.title, i.resolved_at)
                    for i in resolved
                    if i.resolved_at is not None
                ),
            )
        )
    return Board(generated_at=at, status=worst(r.status for r in rows), services=tuple(rows))


def to_json(board: Board) -> dict[str, Any]:
    """The board as the ``/status.json`` document (a dict, for ``json.dumps``)."""
    return {
        "status": board.status.value,
        "summary": SUMMARY[board.status],
        "generated_at": iso(board.generated_at),
        "services": [
            {
                "name": row.name,
                "status": row.status.value,
                "open_incidents": [
                    {
                        "title": i.title,
                        "severity": i.severity.value,
                        "status": i.status.value,
                        "started_at": iso(i.started_at),
                    }
                    for i in row.open
                ],
                "recently_resolved": [
                    {"title": i.title, "resolved_at": iso(i.resolved_at)} for i in row.resolved
                ],
            }
            for row in board.services
        ],
    }
