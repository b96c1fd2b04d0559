"""Uptrends custom integration, with the recommended JSON template (vendors.md §4).

Every value arrives as a string (the template is filled by text substitution). ``alert.type``
Alert (the UI says Error) is a problem, Ok its recovery, Reminder an addition to the open incident
that never opens one. An error and its Ok share ``incident.key``, the dedup key; without it the
monitor (``monitor.guid``) is. ``timestampUtc`` is ISO-8601 without a zone, in UTC.
"""

from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from alertbridge.models.parts import Action, Severity
from alertbridge.text import cut
from alertbridge.timestamps import parse_time
from alertbridge.vendors.base import (
    Delivery,
    Draft,
    Ignored,
    Item,
    PayloadError,
    links,
    read,
)

NAME = "uptrends"

# alert.type (any case) -> what it does and its canonical severity; other types are ignored.
ACTIONS: dict[str, Action] = {
    "alert": Action.TRIGGER,
    "error": Action.TRIGGER,
    "ok": Action.RESOLVE,
    "reminder": Action.REMINDER,
}
SEVERITY: dict[str, Severity] = {
    "alert": Severity.HIGH,
    "error": Severity.HIGH,
    "ok": Severity.HIGH,
    "reminder": Severity.HIGH,
}

# A template variable that is null or a number still reads as text.
Text = Annotated[str, BeforeValidator(lambda value: "" if value is None else value)]
_LENIENT = ConfigDict(extra="ignore", coerce_numbers_to_str=True, str_strip_whitespace=True)


class _Alert(BaseModel):
    model_config = _LENIENT
    alertGuid: Text = ""  # wire names, here and below
    type: Text = ""
    description: Text = ""
    failureMessage: Text = ""
    errorTypeId: Text = ""
    checkpointName: Text = ""
    numberOfConsecutiveErrors: Text = ""
    timestampUtc: Text = ""
    firstErrorUtc: Text = ""
    firstErrorCheckUrl: Text = ""
    downtimeDuration: Text = ""


class _Monitor(BaseModel):
    model_config = _LENIENT
    guid: Text = ""
    name: Text = ""
    type: Text = ""
    url: Text = ""
    dashboardUrl: Text = ""


class _Incident(BaseModel):
    model_config = _LENIENT
    key: Text = ""


class UptrendsAlert(BaseModel):
    model_config = _LENIENT

    alert: _Alert
    incident: _Incident = Field(default_factory=_Incident)
    monitor: _Monitor = Field(default_factory=_Monitor)


def map_delivery(delivery: Delivery) -> list[Item]:
    label = "an Uptrends alert"
    message = read(UptrendsAlert, delivery, label)
    alert, monitor = message.alert, message.monitor
    kind = alert.type.lower()
    key = message.incident.key or monitor.guid
    vendor_id = alert.alertGuid or f"{key}|{kind}|{alert.timestampUtc}"
    if kind not in ACTIONS:
        shown = cut(alert.type, 64)  # reasons are stored
        reason = f"Uptrends alert type {shown!r} is not Alert, Error, Ok or Reminder"
        return [Ignored(reason, vendor_id=vendor_id)]
    if not key:
        raise PayloadError("neither incident.key nor monitor.guid is set: the alert cannot be correlated")

    details = [
        alert.failureMessage,
        f"Checkpoint: {alert.checkpointName}" if alert.checkpointName else "",
        f"Consecutive errors: {alert.numberOfConsecutiveErrors}" if alert.numberOfConsecutiveErrors else "",
        f"Downtime: {alert.downtimeDuration}" if alert.downtimeDuration else "",
    ]
    tags = {
        "alert_type": alert.type,
        "monitor_type": monitor.type,
        "checkpoint": alert.checkpointName,
        "error_type_id": alert.errorTypeId,
    }
    return [
        Draft(
            vendor_id=vendor_id,
            action=ACTIONS[kind],
            dedup_key=key,
            severity=SEVERITY[kind],
            title=f"{monitor.name or monitor.url or key}: {alert.description or alert.type}",
            description="\n".join(line for line in details if line),
            occurred_at=parse_time(alert.timestampUtc) or parse_time(alert.firstErrorUtc),
            links=links(
                (monitor.dashboardUrl, "Uptrends dashboard"),
                (alert.firstErrorCheckUrl, "first error check"),
                (monitor.url, "monitored URL"),
            ),
            tags={k: v for k, v in tags.items() if v},
        )
    ]
