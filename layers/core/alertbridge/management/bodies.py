"""What every request body model shares, the query parameters more than one route takes, and the
bodies of routes that need more than their field types (maintenance windows)."""

from __future__ import annotations

from datetime import time
from typing import Annotated, Any, Self

from aws_lambda_powertools.event_handler.openapi.params import Query
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator, model_validator

from alertbridge import maintenance
from alertbridge.models.parts import RuleKind, Severity
from alertbridge.models.rule import MAX_EXPRESSION


class Body(BaseModel):
    """A JSON request body: unknown fields are refused (a typo never passes silently)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


Limit = Annotated[int, Query(ge=1, le=500)]


class RuleFields(Body):
    """A rule as written (``alertbridge rules add --rule FILE``): its types; what they do not say
    (expressions that compile, a route to an existing service) is checked by ``operations.new_rule``."""

    name: str = Field(min_length=1, max_length=80)
    kind: RuleKind
    when: str = Field(min_length=1, max_length=MAX_EXPRESSION)
    source_id: str | None = None
    tags: dict[str, str] | None = None
    severity: Severity | None = None
    route_to: str | None = None
    dedup_key: str | None = Field(default=None, min_length=1, max_length=MAX_EXPRESSION)
    window_s: int | None = None

    def fields(self) -> dict[str, Any]:
        return self.model_dump(exclude_none=True)


class NewRule(RuleFields):
    position: int | None = Field(default=None, ge=1, description="1 is evaluated first; default: last")
    expected_version: int | None = Field(default=None, ge=0, description="refused (409) unless current")

    def fields(self) -> dict[str, Any]:
        return self.model_dump(exclude_none=True, exclude={"position", "expected_version"})


class RuleMove(Body):
    position: int = Field(ge=1)
    expected_version: int | None = Field(default=None, ge=0)


class RuleTest(Body):
    rule: RuleFields
    last: int = Field(default=500, ge=1, le=500)


class NewWindow(Body):
    """A maintenance window: ``start`` and ``end`` (ISO 8601 with an offset), or ``days``
    (mon..sun), ``at`` (HH:MM, local), ``duration`` ('2h', '90m', '1d') and ``tz`` (IANA)."""

    name: str = Field(default="", max_length=128)
    start: AwareDatetime | None = None
    end: AwareDatetime | None = None
    days: list[str] | None = Field(default=None, max_length=7)
    at: str | None = None
    duration: str | None = None
    tz: str | None = None

    @field_validator("days")
    @classmethod
    def _days(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else list(maintenance.parse_days(value))

    @field_validator("at")
    @classmethod
    def _at(cls, value: str | None) -> str | None:
        if value is not None:
            _time_of_day(value)
        return value

    @field_validator("duration")
    @classmethod
    def _duration(cls, value: str | None) -> str | None:
        if value is not None:
            maintenance.parse_duration(value)
        return value

    @model_validator(mode="after")
    def _schedule(self) -> Self:
        schedule = self.schedule()
        maintenance.check_schedule(
            schedule.get("start"),
            schedule.get("end"),
            tuple(schedule.get("days", ())),
            schedule.get("at"),
            schedule.get("duration_s"),
            schedule.get("tz"),
        )
        return self

    def schedule(self) -> dict[str, Any]:
        """The window's schedule fields, as ``maintenance.Window`` takes them."""
        fields: dict[str, Any] = {"start": self.start, "end": self.end, "tz": self.tz}
        if self.days:
            fields["days"] = tuple(self.days)
        if self.at is not None:
            fields["at"] = _time_of_day(self.at)
        if self.duration is not None:
            fields["duration_s"] = maintenance.parse_duration(self.duration)
        return {k: v for k, v in fields.items() if v is not None}


def _time_of_day(text: str) -> time:
    try:
        value = time.fromisoformat(text)
    except ValueError:
        raise ValueError(f"at is a local time of day like '02:00' (got {text!r})") from None
    if value.tzinfo is not None:
        raise ValueError("at is a local time of day, without an offset (the zone is tz)")
    return value
