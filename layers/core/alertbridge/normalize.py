"""Normalization, pure: a delivery and its source -> canonical alerts and one outcome per vendor alert.

No AWS here: the orchestrator (``ingest``) authenticates, keeps and publishes; this module runs the
source's signature check and mapping, cuts vendor-controlled text to the canonical limits (an alert
is never rejected for length) and derives each alert's deterministic event id.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from alertbridge.models.alert import (
    MAX_DESCRIPTION,
    MAX_KEY,
    MAX_TAG_VALUE,
    MAX_TAGS,
    MAX_TITLE,
    CanonicalAlert,
    raw_ref,
)
from alertbridge.models.delivery import Outcome
from alertbridge.models.records import Source
from alertbridge.text import cut
from alertbridge.vendors.base import Delivery, Draft, Ignored, PayloadError, VendorMapping

MAX_TAG_KEY = 64  # tag names are the mappings' own; cut anyway, like every vendor-controlled text


@dataclass
class Normalized:
    """A delivery's canonical alerts, and one outcome per vendor alert in it, as the webhook answers
    it (JSON-ready, no null fields); the delivery record reads them as ``AlertOutcome``."""

    alerts: list[CanonicalAlert] = field(default_factory=list)
    outcomes: list[dict[str, Any]] = field(default_factory=list)

    @property
    def outcome(self) -> Outcome:
        kinds = {o["outcome"] for o in self.outcomes}
        if "accepted" in kinds:
            return "accepted"
        if "suppressed" in kinds:  # kept, deliberately not published (rules, maintenance)
            return "suppressed"
        if kinds == {"ignored"}:
            return "ignored"
        return "rejected" if kinds else "ignored"


def event_id(service_id: str, source: str, vendor_id: str) -> str:
    """Deterministic: the same vendor signal to the same service always gets the same id."""
    return hashlib.sha256(f"{service_id}\x1f{source}\x1f{vendor_id}".encode()).hexdigest()[:32]


def normalize(
    mapping: VendorMapping,
    source: Source,
    delivery: Delivery,
    delivery_id: str,
    *,
    test: bool = False,
    verify: bool = True,
) -> Normalized:
    """Run the source's mapping over a delivery. Raises PayloadError (4xx), vendors.Unauthorized and
    ValidationError (a draft the canonical model refuses)."""
    verifier: Callable[[Delivery], None] | None = getattr(mapping, "verify", None) if verify else None
    if verifier is not None:
        verifier(delivery)
    items = mapping.map_delivery(delivery)
    if not items:
        raise PayloadError("the body holds no alert")
    shared = delivery_fields(source, delivery, delivery_id, test=test)
    validate = CanonicalAlert.model_validate
    result = Normalized()
    alerts, outcomes = result.alerts, result.outcomes
    for index, item in enumerate(items):
        if isinstance(item, Draft):
            alert = validate(_canonical(item, index, shared))
            alerts.append(alert)
            outcomes.append(
                {
                    "index": index,
                    "outcome": "accepted",
                    "event_id": alert.event_id,
                    "action": item.action.value,
                    "dedup_key": alert.dedup_key,
                }
            )
        elif isinstance(item, Ignored):
            outcomes.append({"index": index, "outcome": "ignored", "reason": item.reason})
        else:
            outcomes.append({"index": index, "outcome": "rejected", "reason": item.reason})
    return result


def delivery_fields(source: Source, delivery: Delivery, delivery_id: str, *, test: bool) -> dict[str, Any]:
    """The canonical fields that are the same in every alert of a delivery."""
    return {
        "delivery_id": delivery_id,
        "service_id": source.service_id,
        "source_id": source.id,
        "source": source.source,
        "received_at": delivery.received_at,
        "test": test,
    }


def _canonical(draft: Draft, index: int, shared: dict[str, Any]) -> dict[str, Any]:
    """The canonical alert's fields: the draft's, with vendor-controlled text cut to the canonical
    limits (an alert is never rejected for length), and the delivery's."""
    vendor_id, dedup_key, tags = draft.vendor_id, cut(draft.dedup_key, MAX_KEY), draft.tags
    delivery_id = shared["delivery_id"]
    if shared["test"]:  # a test alert is its own event, on its own key: it never touches real incidents
        vendor_id = f"{vendor_id}|test|{delivery_id}"
        dedup_key = f"test:{dedup_key}"[:MAX_KEY]
    if len(tags) > MAX_TAGS or any(len(k) > MAX_TAG_KEY or len(v) > MAX_TAG_VALUE for k, v in tags.items()):
        tags = {cut(k, MAX_TAG_KEY): cut(v, MAX_TAG_VALUE) for k, v in list(tags.items())[:MAX_TAGS]}
    return {
        **shared,
        "event_id": event_id(shared["service_id"], shared["source"], vendor_id),
        "action": draft.action,
        "dedup_key": dedup_key,
        "severity": draft.severity,
        "title": cut(draft.title.strip() or draft.dedup_key, MAX_TITLE),
        "description": cut(draft.description, MAX_DESCRIPTION),
        "occurred_at": draft.occurred_at or shared["received_at"],
        "links": list(draft.links),
        "tags": tags,
        "recoverable": draft.recoverable,
        "raw_ref": raw_ref(delivery_id, index),
    }
