"""Service status, derived from a service's open incidents: never stored, so it cannot drift.

- ``disruption``: an open incident (triggered or acknowledged) is critical or high;
- ``degraded``: open incidents (triggered or acknowledged) only of lower severities;
- ``operational``: otherwise. An incident in ``monitoring`` (the source recovered under the
  "monitor" policy, a person has yet to confirm) counts as operational (PRODUCT §5), and test
  incidents never count.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum
from typing import Protocol

from alertbridge.models.alert import Severity
from alertbridge.models.incident import Status

DISRUPTIVE_SEVERITIES = frozenset({Severity.CRITICAL, Severity.HIGH})
COUNTED_STATUSES = frozenset({Status.TRIGGERED, Status.ACKNOWLEDGED})


class ServiceStatus(StrEnum):
    OPERATIONAL = "operational"
    DEGRADED = "degraded"
    DISRUPTION = "disruption"

    @property
    def rank(self) -> int:
        """Higher is worse: operational 0, degraded 1, disruption 2."""
        return _RANK[self]


_RANK = {ServiceStatus.OPERATIONAL: 0, ServiceStatus.DEGRADED: 1, ServiceStatus.DISRUPTION: 2}


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


def counts(incident: Counted) -> bool:
    """Whether an incident affects its service's status."""
    return incident.is_open and not incident.test and incident.status in COUNTED_STATUSES


def service_status(incidents: Iterable[Counted]) -> ServiceStatus:
    """A service's status from its incidents (any of them; only open, non-test ones count)."""
    status = ServiceStatus.OPERATIONAL
    for incident in incidents:
        if not counts(incident):
            continue
        if incident.severity in DISRUPTIVE_SEVERITIES:
            return ServiceStatus.DISRUPTION
        status = ServiceStatus.DEGRADED
    return status


def worst(statuses: Iterable[ServiceStatus]) -> ServiceStatus:
    """The overall status of several services: the worst of theirs (operational when none)."""
    return max(statuses, key=lambda s: s.rank, default=ServiceStatus.OPERATIONAL)
