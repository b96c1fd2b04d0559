"""Incident event v1: what alertbridge publishes on its bus for each committed change of an incident.

Published with source ``alertbridge`` and detail-type ``Incident Event``; this model is the event's
``detail``. ``schema/incident-event.v1.json`` is generated from it and a test fails when the two
drift, as for the canonical alert: additive, optional fields keep ``schema_version`` at "1".

Event ids are deterministic, so a subscriber can drop repeats of an at-least-once delivery:
``{incident_id}.v{version}`` for the one event of a write, and ``{incident_id}.v{version}.{kind}``
(``kind`` being the type without its ``incident.`` prefix) for every event of a write that implies
more than one (a reopen that also changes the severity, say). The same committed write always
gives the same events, so the same ids.
"""

from typing import Annotated, Literal, Self, get_args

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from alertbridge.models.incident import Incident, Status
from alertbridge.models.parts import Link, Severity

SCHEMA_VERSION: Literal["1"] = "1"
EVENT_SOURCE = "alertbridge"
DETAIL_TYPE = "Incident Event"

EventType = Literal[
    "incident.opened",
    "incident.reopened",
    "incident.escalated",
    "incident.deescalated",
    "incident.acknowledged",
    "incident.monitoring",
    "incident.resolved",
]
EVENT_TYPES: tuple[EventType, ...] = get_args(EventType)

# Who caused a change: the source's own signal, a person, the escalation timer, or an alert rule.
By = Annotated[str, StringConstraints(pattern=r"^(source|timeout|person:.+|rule:.+)$", max_length=256)]


class IncidentSnapshot(BaseModel):
    """The incident as it is after the write: what a notification needs, never the timeline or
    the idempotency memory (those stay in the table and would make events large)."""

    # Every field is always serialized, so the schema marks every field required.
    model_config = ConfigDict(frozen=True, extra="forbid", json_schema_serialization_defaults_required=True)

    id: str
    service_id: str
    status: Status
    severity: Severity
    title: str
    source: str
    source_id: str
    dedup_key: str
    alert_count: int
    opened_at: AwareDatetime
    acknowledged_at: AwareDatetime | None = None
    acknowledged_by: str | None = None
    resolved_at: AwareDatetime | None = None
    resolved_by: str | None = None
    recurrence_of: str | None = None
    test: bool = Field(default=False, description="A test incident: sent only to channels that want them.")
    links: list[Link] = Field(default_factory=list)
    tags: dict[str, str] = Field(default_factory=dict)

    @classmethod
    def of(cls, incident: Incident) -> Self:
        return cls.model_validate(
            incident.model_dump(include=set(cls.model_fields) - {"links"})
            | {"links": [Link.model_validate(link) for link in incident.links]}
        )


class IncidentEvent(BaseModel):
    """One change of one incident, as published on the bus (the event's ``detail``)."""

    model_config = ConfigDict(
        frozen=True, extra="forbid", title="IncidentEvent", json_schema_serialization_defaults_required=True
    )

    schema_version: Literal["1"] = SCHEMA_VERSION
    id: Annotated[str, StringConstraints(pattern=r"^.+\.v[0-9]+(\.[a-z]+)?$", max_length=128)] = Field(
        description="Deterministic: '{incident_id}.v{version}', plus '.{kind}' when one write gives "
        "several events. Repeats of an event have the same id."
    )
    type: EventType
    version: int = Field(
        ge=1, description="The incident's version after the write: a late event has a lower one."
    )
    occurred_at: AwareDatetime = Field(description="When the write was made (the incident's updated_at).")
    by: By | None = Field(default=None, description="'source', 'person:<name>', 'timeout' or 'rule:<id>'.")
    previous_severity: Severity | None = Field(
        default=None, description="The severity before an escalation or de-escalation."
    )
    incident: IncidentSnapshot


def event_id(incident_id: str, version: int, kind: EventType | None = None) -> str:
    """The id rule (see the module docstring); ``kind`` only for a write that gives several events."""
    base = f"{incident_id}.v{version}"
    return base if kind is None else f"{base}.{kind.removeprefix('incident.')}"
