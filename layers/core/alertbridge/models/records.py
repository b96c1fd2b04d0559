"""What alertbridge keeps in DynamoDB of services, alert sources and deliveries (the incidents are
in ``models.incident``, which the ingest functions never import).

These are plain pydantic models; ``alertbridge.store`` maps them to items and keys. A model the
ingest functions do not use builds its validator on first use (``defer_build``), not at import.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from alertbridge.models.alert import Action

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


Outcome = Literal["accepted", "ignored", "suppressed", "rejected"]


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
