"""The incident events implied by one committed write: pure, no AWS.

The stream handler gives ``derive`` the old and new image of an incident item (DynamoDB Streams'
OLD_IMAGE / NEW_IMAGE), so events exist only for writes that committed and are derived again,
identically, when a stream record is retried (the ids are deterministic, see
``alertbridge.models.incident_event``).

Only what people act on is an event: the episode's status and, while it is open, its severity.
A write that only counts a repeat alert, moves ``last_seen_at``, adds to the timeline or the event
id memory, or only bumps the version (a concurrent writer's guard) gives no event. The comparison
is of the two images: a write whose alerts went triggered -> monitoring -> triggered within one
batch ends where it started, and says nothing.
"""

from __future__ import annotations

from alertbridge.models.incident import Incident, Status
from alertbridge.models.incident_event import EventType, IncidentEvent, IncidentSnapshot, event_id
from alertbridge.models.parts import Severity

_STATUS_EVENTS: dict[Status, EventType] = {
    Status.TRIGGERED: "incident.reopened",
    Status.ACKNOWLEDGED: "incident.acknowledged",
    Status.MONITORING: "incident.monitoring",
    Status.RESOLVED: "incident.resolved",
}


def derive(old: Incident | None, new: Incident) -> list[IncidentEvent]:
    """The events of the write ``old`` -> ``new`` (``old`` None: the episode was created).

    A new episode is ``incident.opened`` (a recurrence too: ``recurrence_of`` says so), followed by
    its status event when the same write already moved it on (opened and resolved in one batch).
    Ledger episodes are not incidents and never give events; neither does a write whose version
    did not move forward (an out-of-order or replayed image).
    """
    if new.is_ledger or (old is not None and old.is_ledger):
        return []
    if old is not None and new.version <= old.version:
        return []

    changes: list[tuple[EventType, str | None, Severity | None]] = []
    if old is None:
        changes.append(("incident.opened", "source", None))
        before_status, before_severity = Status.TRIGGERED, new.severity
    else:
        before_status, before_severity = old.status, old.severity

    if new.status is not before_status:
        changes.append((_STATUS_EVENTS[new.status], _by(new), None))
    if new.is_open and new.severity is not before_severity:
        kind: EventType = (
            "incident.escalated" if new.severity.rank > before_severity.rank else "incident.deescalated"
        )
        changes.append((kind, "source", before_severity))

    snapshot = IncidentSnapshot.of(new)
    several = len(changes) > 1
    return [
        IncidentEvent(
            id=event_id(new.id, new.version, kind if several else None),
            type=kind,
            version=new.version,
            occurred_at=new.updated_at,
            by=by,
            previous_severity=previous,
            incident=snapshot,
        )
        for kind, by, previous in changes
    ]


def _by(new: Incident) -> str | None:
    """Who moved the incident into its new status, from what the write recorded on it."""
    match new.status:
        case Status.RESOLVED:
            return new.resolved_by or "source"
        case Status.ACKNOWLEDGED:
            return f"person:{new.acknowledged_by}" if new.acknowledged_by else None
        case Status.MONITORING | Status.TRIGGERED:
            # Only a source's recovery starts monitoring, and only a source's trigger reopens.
            return "source"
