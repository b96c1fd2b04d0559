"""Canonical alert v1: the one contract between the ingest functions and everything downstream.

Changing this model changes the bus contract: ``schema/canonical-alert.v1.json`` is generated from
it and a test fails when the two drift. Additive, optional fields keep ``schema_version`` at "1";
anything else is a new version.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

SCHEMA_VERSION: Literal["1"] = "1"

# Limits that keep one alert far below EventBridge's 256 KiB entry limit, whatever a vendor sends.
MAX_TITLE = 512
MAX_DESCRIPTION = 8192
MAX_KEY = 512
MAX_TAGS = 50
MAX_TAG_VALUE = 256
MAX_LINKS = 10

SourceName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_-]{1,31}$")]
Text = Annotated[str, StringConstraints(max_length=MAX_DESCRIPTION)]


class Action(StrEnum):
    TRIGGER = "trigger"
    RESOLVE = "resolve"
    REMINDER = "reminder"


class Severity(StrEnum):
    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    INFO = "info"

    @property
    def rank(self) -> int:
        """Higher is worse: info 0 ... critical 4."""
        return _SEVERITY_RANK[self]


_SEVERITY_RANK = {
    Severity.INFO: 0,
    Severity.LOW: 1,
    Severity.MEDIUM: 2,
    Severity.HIGH: 3,
    Severity.CRITICAL: 4,
}


class Link(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    href: Annotated[str, StringConstraints(max_length=2048)]
    text: Annotated[str, StringConstraints(max_length=256)] = ""


class CanonicalAlert(BaseModel):
    """One normalized alert, as published on the bus (the event's ``detail``)."""

    model_config = ConfigDict(frozen=True, extra="forbid", title="CanonicalAlert")

    schema_version: Literal["1"] = SCHEMA_VERSION
    event_id: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{32}$")] = Field(
        description="Deterministic from the vendor's own ids: a retried delivery gives the same id."
    )
    delivery_id: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    service_id: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    source_id: Annotated[str, StringConstraints(min_length=1, max_length=64)] = Field(
        description="The alert source (a service's integration) the delivery came in through."
    )
    source: SourceName = Field(
        description="Vendor kind: kapacitor, threatstack, heroku, uptrends, stathat, ..."
    )
    action: Action
    dedup_key: Annotated[str, StringConstraints(min_length=1, max_length=MAX_KEY)]
    severity: Severity
    title: Annotated[str, StringConstraints(min_length=1, max_length=MAX_TITLE)]
    description: Text = ""
    occurred_at: AwareDatetime = Field(
        description="Vendor time of the signal (received_at when the vendor gives none)."
    )
    received_at: AwareDatetime
    links: list[Link] = Field(default_factory=list, max_length=MAX_LINKS)
    tags: dict[str, Annotated[str, StringConstraints(max_length=MAX_TAG_VALUE)]] = Field(
        default_factory=dict, max_length=MAX_TAGS
    )
    recoverable: bool = Field(
        default=True,
        description="False when the source said no recovery will ever be sent (Kapacitor noRecoveries).",
    )
    test: bool = Field(default=False, description="A test alert pushed by an operator.")
    dedup_window_s: int | None = None
    raw_ref: Annotated[str, StringConstraints(min_length=1, max_length=128)] = Field(
        description="Where the raw delivery is kept: 'delivery/<delivery_id>#<index>'."
    )


def raw_ref(delivery_id: str, index: int) -> str:
    return f"delivery/{delivery_id}#{index}"
