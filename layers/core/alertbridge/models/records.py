"""What alertbridge keeps in DynamoDB: services, alert sources, deliveries and incidents.

These are plain pydantic models; ``alertbridge.store`` maps them to items and keys. Models the
ingest functions never use build their validators on first use (``defer_build``), not at import:
an ingest cold start does not pay for the incident records.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from alertbridge.models.alert import Action, Severity

RecoveryPolicy = Literal["resolve", "monitor"]


class SourceSettings(BaseModel):
    """Per-source settings an operator can change (``alertbridge sources ...``)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    recovery_policy: RecoveryPolicy = "resolve"
    severity_filter: tuple[int, ...] | None = None  # Threat Stack: severities that open incidents
    secret: str | None = Field(default=None, repr=False)  # Heroku HMAC secret: never logged nor returned


class Service(BaseModel):
    model_config = ConfigDict(frozen=True, defer_build=True)

    id: str
    name: str
    created_at: datetime


class Source(BaseModel):
    """An alert source: one vendor integration of one service, with its own webhook token."""

    model_config = ConfigDict(frozen=True)

    id: str
    service_id: str
    source: str
    settings: SourceSettings = Field(default_factory=SourceSettings)
    token_hash: str  # sha256 of the token; the token itself is never stored
    created_at: datetime
    token_rotated_at: datetime | None = None


Outcome = Literal["accepted", "ignored", "rejected"]


class AlertOutcome(BaseModel):
    """The fate of one vendor alert in a delivery (a Threat Stack batch of N has N of them)."""

    model_config = ConfigDict(frozen=True)

    index: int
    outcome: Outcome
    reason: str | None = None
    event_id: str | None = None
    action: Action | None = None
    dedup_key: str | None = None


class DeliveryRecord(BaseModel):
    """One webhook delivery as received, with what became of it. The raw body is stored beside it."""

    id: str
    service_id: str
    source_id: str
    source: str
    received_at: datetime
    headers: dict[str, str]
    body_size: int
    outcome: Outcome
    reason: str | None = None
    status_code: int
    alerts: list[AlertOutcome] = Field(default_factory=list)
    published: bool = False
    test: bool = False
    replays: int = 0


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
