"""A webhook delivery as kept in DynamoDB (``store.deliveries``), with what became of each vendor
alert in it. Apart from ``models.records`` so that the functions that read services and sources
but never a delivery (the incident, notifier, heartbeat and status functions) build none of these
validators.
"""

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from alertbridge.models.parts import Action, AppliedRule

Outcome = Literal["accepted", "ignored", "suppressed", "rejected"]
OUTCOMES: tuple[Outcome, ...] = ("accepted", "ignored", "suppressed", "rejected")


class AlertOutcome(BaseModel):
    """The fate of one vendor alert in a delivery (a Threat Stack batch of N has N of them)."""

    model_config = ConfigDict(frozen=True)

    index: int
    outcome: Outcome
    reason: str | None = None
    event_id: str | None = None
    action: Action | None = None
    dedup_key: str | None = None
    service_id: str | None = None  # the service a route rule moved it to
    rules: list[AppliedRule] = Field(default_factory=list)  # the rules that changed or suppressed it


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
