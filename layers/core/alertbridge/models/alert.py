"""Canonical alert v1: the one contract between the ingest functions and everything downstream.

Changing this model changes the bus contract: ``schema/canonical-alert.v1.json`` is generated from
it and a test fails when the two drift. Additive, optional fields keep ``schema_version`` at "1";
anything else is a new version.
"""

from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from alertbridge.models.parts import MAX_APPLIED_RULES, Action, AppliedRule, Link, Severity

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
        description="Vendor kind: kapacitor, threatstack, heroku, uptrends, stathat, ...; 'alertbridge' "
        "for what alertbridge raises itself (a source gone silent: dedup key 'silence:<source id>')."
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
    raw_ref: Annotated[str, StringConstraints(min_length=1, max_length=128)] = Field(
        description="Where the raw delivery is kept: 'delivery/<delivery_id>#<index>'."
    )
    rules: list[AppliedRule] = Field(
        default_factory=list,
        max_length=MAX_APPLIED_RULES,
        description="The alert rules that tagged, re-rated, routed or re-keyed it, in the order applied.",
    )
    dedup_window_s: Annotated[int, Field(ge=1)] | None = Field(
        default=None,
        description="Set by a dedup rule's window: an alert for an open incident older than this many "
        "seconds opens a new one.",
    )


def raw_ref(delivery_id: str, index: int) -> str:
    return f"delivery/{delivery_id}#{index}"
