"""Kapacitor alert ``post`` handler (vendors.md §2).

One alert per request, no retries. ``level`` INFO/WARNING/CRITICAL is a problem, OK a recovery;
the alert ``id`` is the dedup key. ``details`` is HTML-escaped (Go html/template). An httpPost
*node* posts raw rows (``{"series": [...]}``, no ``level``): that is a configuration mistake we
name in the 422.
"""

import html
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidatorFunctionWrapHandler,
    field_validator,
)

from alertbridge.models.parts import Action, Severity
from alertbridge.timestamps import parse_time
from alertbridge.vendors.base import (
    Delivery,
    Draft,
    Item,
    PayloadError,
    Text,
    read,
)

NAME = "kapacitor"

# Kapacitor level -> canonical severity; OK is the recovery.
SEVERITY: dict[str, Severity] = {
    "CRITICAL": Severity.CRITICAL,
    "WARNING": Severity.MEDIUM,
    "INFO": Severity.INFO,
}

Level = Literal["OK", "INFO", "WARNING", "CRITICAL"]


class _Series(BaseModel):
    model_config = ConfigDict(extra="ignore")
    name: str = ""
    tags: dict[str, Any] = Field(default_factory=dict)


class _Data(BaseModel):
    model_config = ConfigDict(extra="ignore")
    series: list[_Series] | None = None
    error: str | None = None


class KapacitorAlert(BaseModel):
    """alert/types.go ``Data``, the fields the mapping reads; the others are ignored, never validated:
    ``duration`` (nanoseconds, or a Go duration string such as ``"5m0s"`` in other tools' fixtures)
    must not reject an alert the mapping does not need it for."""

    model_config = ConfigDict(extra="ignore")

    id: str = Field(min_length=1)
    message: Text = ""
    details: Text = ""
    time: str | None = None
    level: Level
    previousLevel: Level | None = None
    recoverable: bool = True
    data: _Data | None = None

    @field_validator("level", "previousLevel", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        # The docs say WARN; the wire says WARNING. Take both, any case.
        if isinstance(value, str):
            value = value.strip().upper()
            return "WARNING" if value == "WARN" else value
        return value

    @field_validator("previousLevel", mode="wrap")
    @classmethod
    def _known_or_none(cls, value: object, handler: ValidatorFunctionWrapHandler) -> object:
        # Only a recovery's severity reads it: an unknown previous level is not worth the alert.
        try:
            return handler(value)
        except ValidationError:
            return None


def _not_a_node_row(payload: dict[str, Any]) -> None:
    if "level" not in payload and "series" in payload:
        raise PayloadError(
            "this is a Kapacitor httpPost node row (series without level), not an alert: "
            "send alerts with the alert node's .post() handler"
        )


def map_delivery(delivery: Delivery) -> list[Item]:
    alert = read(KapacitorAlert, delivery, "a Kapacitor alert", check=_not_a_node_row)
    details = html.unescape(alert.details).strip()
    description = "\n\n".join(part for part in (alert.message, details) if part)
    if alert.data and alert.data.error:
        description += f"\n\nerror: {alert.data.error}"
    if not alert.recoverable:
        description += "\n\n(recoverable: false: Kapacitor will send no recovery; resolve by hand)"
    tags: dict[str, str] = {}
    if alert.data and alert.data.series:
        first = alert.data.series[0]
        if first.name:
            tags["measurement"] = first.name
        tags.update({str(k): str(v) for k, v in first.tags.items()})
    if alert.previousLevel:
        tags["previous_level"] = alert.previousLevel
    tags["level"] = alert.level

    is_ok = alert.level == "OK"
    # A recovery keeps the severity of the level it recovers from (informational when unknown).
    level_for_severity = (alert.previousLevel or "INFO") if is_ok else alert.level
    return [
        Draft(
            vendor_id=f"{alert.id}|{alert.level}|{alert.time or ''}",
            action=Action.RESOLVE if is_ok else Action.TRIGGER,
            dedup_key=alert.id,
            severity=SEVERITY.get(level_for_severity, Severity.INFO),
            title=alert.message or alert.id,
            description=description,
            occurred_at=parse_time(alert.time),
            tags=tags,
            recoverable=alert.recoverable,
        )
    ]
