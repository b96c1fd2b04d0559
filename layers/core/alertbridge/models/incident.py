"""Incidents as kept in DynamoDB: one item per episode of a (service, dedup key), the summary the
table's index projects of it, and an incident's id. Loaded by the functions that read incidents or
their events (never by ingest); the id's format is here so that those which only name an incident
(the notifier's attempt records) load none of the incident logic.
"""

import hashlib
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from alertbridge.models.parts import Severity


class Status(StrEnum):
    TRIGGERED = "triggered"
    ACKNOWLEDGED = "acknowledged"
    MONITORING = "monitoring"
    RESOLVED = "resolved"

    @property
    def is_open(self) -> bool:
        return self is not Status.RESOLVED


class TimelineEntry(BaseModel):
    model_config = ConfigDict(frozen=True, defer_build=True)

    at: datetime  # when alertbridge recorded it
    kind: (
        str  # opened, alert, escalated, deescalated, resolved, monitoring, reopened, acknowledged, late, ...
    )
    message: str
    event_id: str | None = None
    occurred_at: datetime | None = None  # vendor time of the signal, when there is one
    by: str | None = None  # "source" or "person:<who>"


class Incident(BaseModel):
    """One episode of trouble for a (service, dedup_key).

    ``seq`` numbers the episodes of one key (from 1); at most one is open. A ``ledger`` episode is
    not an incident: it is created when a key's first signal opens nothing (a recovery arriving
    before its problem, say) and remembers it, so that order independence holds from the first signal.
    """

    model_config = ConfigDict(defer_build=True)

    id: str
    ledger: bool = False
    service_id: str
    dedup_key: str
    seq: int
    source: str
    source_id: str
    status: Status
    severity: Severity
    title: str
    description: str = ""
    alert_count: int = 0
    first_seen_at: datetime | None = None  # vendor time of the first trigger
    last_seen_at: datetime | None = None  # vendor time of the latest signal
    last_trigger_at: datetime | None = None  # latest trigger's vendor time (drives level changes)
    last_resolve_at: datetime | None = None  # latest applied recovery's vendor time (drives ordering)
    opened_at: datetime
    updated_at: datetime
    acknowledged_at: datetime | None = None
    acknowledged_by: str | None = None
    resolved_at: datetime | None = None
    resolved_by: str | None = None
    recurrence_of: str | None = None
    recoverable: bool = True
    test: bool = False
    links: list[dict[str, str]] = Field(default_factory=list)
    tags: dict[str, str] = Field(default_factory=dict)
    event_ids: list[str] = Field(default_factory=list)  # recent event ids, bounded: idempotency
    timeline: list[TimelineEntry] = Field(default_factory=list)  # bounded, see incidents.py
    timeline_omitted: int = 0
    version: int = 0

    @property
    def is_ledger(self) -> bool:
        return self.ledger

    @property
    def is_open(self) -> bool:
        return not self.is_ledger and self.status.is_open


class IncidentSummary(BaseModel):
    """What the table's GSI1 projects of an incident: enough for the status page without reading
    the incidents themselves (the projected attributes are listed in template.yaml)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    id: str
    source: str
    source_id: str
    status: Status
    severity: Severity
    title: str
    opened_at: datetime
    resolved_at: datetime | None = None
    test: bool = False

    @property
    def is_open(self) -> bool:
        return self.status.is_open


# An incident's identity: its key's id (the partition of its episodes) and the episode's seq.
def key_id(service_id: str, dedup_key: str) -> str:
    """Stable, short id of a (service, dedup_key): the partition of its episodes."""
    digest = hashlib.sha256(f"{service_id}\x00{dedup_key}".encode()).hexdigest()
    return f"inc_{digest[:20]}"


def incident_id(service_id: str, dedup_key: str, seq: int) -> str:
    return f"{key_id(service_id, dedup_key)}-{seq}"


def parse_incident_id(value: str) -> tuple[str, int] | None:
    """(key id, seq) of an incident id, or None when it is not one."""
    head, sep, tail = value.rpartition("-")
    if not sep or not tail.isdigit() or not head.startswith("inc_") or len(head) != 24:
        return None
    seq = int(tail)
    return (head, seq) if seq > 0 else None
