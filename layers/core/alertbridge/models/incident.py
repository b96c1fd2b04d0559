"""Incidents as kept in DynamoDB: one item per episode of a (service, dedup key), and the summary
the table's index projects of it. Loaded by the incident, management and status functions only.
"""

from __future__ import annotations

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
