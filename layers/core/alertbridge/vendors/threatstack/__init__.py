"""Threat Stack Alert Webhook API (vendors.md §3).

A delivery is a batch ``{"alerts": [...]}`` (every 10 s, by severity) or, from older setups, one
bare alert object. Every alert is a new problem: Threat Stack sends no recovery, so incidents are
resolved by hand. The alert ``id`` is both the dedup key and the vendor id. Numbers may arrive as
strings (``severity: "3"``, ``created_at: "1715680801000"``, epoch milliseconds) and the
organization name may be spelled ``organization_Name``. An unreadable element of a batch is rejected
alone; the rest of the batch goes through. The source's severity filter (e.g. ``(1, 2)``) records
the other severities as ignored.
"""

from typing import Annotated, Any

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, ValidationError

from alertbridge.models.parts import Action, Severity
from alertbridge.text import validation_message
from alertbridge.timestamps import parse_time
from alertbridge.vendors.base import (
    Delivery,
    Draft,
    Ignored,
    Item,
    PayloadError,
    Rejected,
    Text,
    loads,
    parse_json,
    read_exact,
    require_object,
    validate,
)

NAME = "threatstack"

# Threat Stack severity (1 = highest) -> canonical severity.
SEVERITY: dict[int, Severity] = {
    1: Severity.HIGH,
    2: Severity.MEDIUM,
    3: Severity.LOW,
}


class ThreatStackAlert(BaseModel):
    """One alert of the KB "Webhooks Payloads" field table; unknown fields are ignored."""

    model_config = ConfigDict(extra="ignore", coerce_numbers_to_str=True)

    id: str = Field(min_length=1)
    severity: Annotated[int, Field(ge=1, le=3)]  # an int or a numeric string
    title: Text = ""
    created_at: int | float | str | None = None  # epoch ms, number or string
    organization_id: Text = ""
    organization_name: Text = Field(
        default="", validation_alias=AliasChoices("organization_name", "organization_Name")
    )
    server_or_region: Text = ""
    source: Text = ""


class ThreatStackBatch(BaseModel):
    alerts: list[ThreatStackAlert] = Field(min_length=1)


def map_delivery(delivery: Delivery) -> list[Item]:
    batch = read_exact(ThreatStackBatch, delivery.body)  # the common case: every alert readable as is
    if batch is not None:
        return [_map(alert, delivery) for alert in batch.alerts]
    return _read_leniently(delivery)


def vendor_objects(delivery: Delivery) -> list[Any]:
    """Each alert of the batch as sent (its element of ``alerts``), or the bare alert: what alert
    rules read as ``vendor``."""
    try:
        payload = loads(delivery.body.decode("utf-8"))
    except (ValueError, RecursionError):
        return []
    if isinstance(payload, dict) and isinstance(payload.get("alerts"), list):
        return list(payload["alerts"])
    return [payload]


def _read_leniently(delivery: Delivery) -> list[Item]:
    """A bare alert, string-typed numbers, unreadable elements (rejected one by one) or no batch."""
    payload = require_object(parse_json(delivery), 'a Threat Stack {"alerts": [...]} batch or alert')
    if "alerts" not in payload:
        return [_map(validate(ThreatStackAlert, payload, "a Threat Stack alert"), delivery)]
    elements = payload["alerts"]
    if not isinstance(elements, list):
        raise PayloadError(f"alerts: expected a list of alerts, got {type(elements).__name__}")
    if not elements:
        raise PayloadError("alerts: the list is empty, there is no alert to record")
    items = [_element(index, element, delivery) for index, element in enumerate(elements)]
    if all(isinstance(item, Rejected) for item in items):
        # Not one readable alert: the body as a whole cannot be understood (a 4xx, not a 202).
        reasons = [item.reason for item in items if isinstance(item, Rejected)]
        more = f" (+{len(reasons) - 3} more)" if len(reasons) > 3 else ""
        raise PayloadError(f"no readable alert in the batch: {'; '.join(reasons[:3])}{more}")
    return items


def _element(index: int, element: Any, delivery: Delivery) -> Item:
    if not isinstance(element, dict):
        return Rejected(f"alerts[{index}]: expected an alert object, got {type(element).__name__}")
    try:
        alert = ThreatStackAlert.model_validate(element)
    except ValidationError as exc:
        return Rejected(validation_message(exc, prefix=f"alerts[{index}]."))
    return _map(alert, delivery)


def _map(alert: ThreatStackAlert, delivery: Delivery) -> Item:
    wanted = delivery.settings.severity_filter
    if wanted is not None and alert.severity not in wanted:
        allowed = ",".join(str(s) for s in wanted)
        return Ignored(
            f"severity {alert.severity} filtered by this source's severity filter ({allowed})",
            vendor_id=alert.id,
        )
    organization = alert.organization_name or alert.organization_id
    kind = f"{alert.source} alert" if alert.source else "alert"
    description = f"Threat Stack severity {alert.severity} {kind}"
    if alert.server_or_region:
        description += f" on {alert.server_or_region}"
    if organization:
        description += f" ({organization})"
    tags = {
        "server_or_region": alert.server_or_region,
        "source": alert.source,
        "organization": organization,
    }
    return Draft(
        vendor_id=alert.id,
        action=Action.TRIGGER,
        dedup_key=alert.id,
        severity=SEVERITY[alert.severity],
        title=alert.title or alert.id,
        description=description,
        occurred_at=parse_time(alert.created_at),
        tags={k: v for k, v in tags.items() if v},
        recoverable=False,
    )
