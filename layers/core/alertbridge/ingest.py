"""The webhook path, one function per source: token -> raw delivery -> mapping -> bus.

Order matters and is the point of this module:
1. the token is checked before anything else (unknown: 404, nothing stored);
2. the alerts go to the bus;
3. the body is kept raw with its outcome, and whether the bus took it, before we answer (nothing a
   vendor sent is lost). If the bus would not take the alerts we answer 503 so the vendor retries,
   and the delivery stays marked unpublished for replay. Event ids are deterministic, so a retry or
   a replay never counts twice downstream.
Publishing before storing makes the raw record one write per delivery, not a write and an update
(DynamoDB bills an update by the whole item's size); if the function dies in between, the vendor
had no answer and retries, and the retry maps to the same event ids.
A body we cannot understand is a 4xx with a JSON error, whatever it holds: never a 5xx.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from alertbridge import sources
from alertbridge.models.alert import (
    MAX_DESCRIPTION,
    MAX_KEY,
    MAX_TAG_VALUE,
    MAX_TAGS,
    MAX_TITLE,
    CanonicalAlert,
    raw_ref,
)
from alertbridge.models.records import DeliveryRecord, Outcome, Source
from alertbridge.observability import logger
from alertbridge.sources.base import Delivery, Draft, Ignored, PayloadError, validation_message
from alertbridge.store.bus import Publisher
from alertbridge.store.deliveries import DeliveryStore, new_delivery_id, safe_headers
from alertbridge.store.sources import SourceStore
from alertbridge.timestamps import now

MAX_BODY_BYTES = 1024 * 1024
MAX_TAG_KEY = 64  # tag names are the mappings' own; cut anyway, like every vendor-controlled text


@dataclass(frozen=True)
class Answer:
    """What the webhook answers: an HTTP status and a JSON body."""

    status: int
    body: dict[str, Any]
    delivery_id: str | None = None


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
        if kinds == {"ignored"}:
            return "ignored"
        return "rejected" if kinds else "ignored"


def event_id(service_id: str, source: str, vendor_id: str) -> str:
    """Deterministic: the same vendor signal to the same service always gets the same id."""
    return hashlib.sha256(f"{service_id}\x1f{source}\x1f{vendor_id}".encode()).hexdigest()[:32]


def normalize(
    source: Source, delivery: Delivery, delivery_id: str, *, test: bool = False, verify: bool = True
) -> Normalized:
    """Run the source's mapping over a delivery. Raises PayloadError (4xx), sources.Unauthorized and
    ValidationError (a draft the canonical model refuses)."""
    verifier = sources.verifier(source.source) if verify else None
    if verifier is not None:
        verifier(delivery)
    items = sources.mapper(source.source)(delivery)
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
    vendor_id, dedup_key, tags = draft.vendor_id, _cut(draft.dedup_key, MAX_KEY), draft.tags
    delivery_id = shared["delivery_id"]
    if shared["test"]:  # a test alert is its own event, on its own key: it never touches real incidents
        vendor_id = f"{vendor_id}|test|{delivery_id}"
        dedup_key = f"test:{dedup_key}"[:MAX_KEY]
    if len(tags) > MAX_TAGS or any(len(k) > MAX_TAG_KEY or len(v) > MAX_TAG_VALUE for k, v in tags.items()):
        tags = {_cut(k, MAX_TAG_KEY): _cut(v, MAX_TAG_VALUE) for k, v in list(tags.items())[:MAX_TAGS]}
    return {
        **shared,
        "event_id": event_id(shared["service_id"], shared["source"], vendor_id),
        "action": draft.action,
        "dedup_key": dedup_key,
        "severity": draft.severity,
        "title": _cut(draft.title.strip() or draft.dedup_key, MAX_TITLE),
        "description": _cut(draft.description, MAX_DESCRIPTION),
        "occurred_at": draft.occurred_at or shared["received_at"],
        "links": list(draft.links),
        "tags": tags,
        "recoverable": draft.recoverable,
        "raw_ref": raw_ref(delivery_id, index),
    }


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def decode_body(raw: str | None, is_base64: bool) -> bytes:
    """The exact bytes the vendor sent (API Gateway base64-encodes binary media types)."""
    if raw is None:
        return b""
    if is_base64:
        try:
            return base64.b64decode(raw, validate=True)
        except (binascii.Error, ValueError):
            return raw.encode("utf-8", "surrogateescape")
    return raw.encode("utf-8", "surrogateescape")


class Ingest:
    """One source's webhook endpoint, with its adapters."""

    def __init__(
        self,
        source: str,
        tokens: SourceStore,
        deliveries: DeliveryStore,
        publisher: Publisher,
        *,
        max_body: int = MAX_BODY_BYTES,
    ) -> None:
        self.source = source
        self._tokens = tokens
        self._deliveries = deliveries
        self._publisher = publisher
        self._max_body = max_body

    def handle(self, token: str | None, body: bytes, headers: Mapping[str, str]) -> Answer:
        """A webhook delivery: the token first, then everything else."""
        record = self._tokens.authenticate(token) if token else None
        if record is None or record.source != self.source:
            # Same answer for "no such token" and "token of another source": nothing to learn.
            return Answer(404, {"error": "unknown webhook token", "status": 404})
        return self.receive(record, body, headers)

    def receive(
        self,
        record: Source,
        body: bytes,
        headers: Mapping[str, str],
        *,
        test: bool = False,
        replay_of: DeliveryRecord | None = None,
    ) -> Answer:
        """An authenticated delivery: keep it, map it, publish it.

        ``replay_of``: run a kept delivery again through today's mapping, under its own id and
        time, so its event ids are the ones it had (a replay never counts twice downstream). Its
        signature was checked when it arrived; a delivery that failed it is not replayed.
        """
        lowered = {k.lower(): v for k, v in headers.items()}
        received_at = replay_of.received_at if replay_of else now()
        delivery_id = replay_of.id if replay_of else new_delivery_id(record.id)
        test = replay_of.test if replay_of else test
        logger.append_keys(delivery_id=delivery_id)
        delivery = Delivery(body=body, headers=lowered, received_at=received_at, settings=record.settings)

        if len(body) > self._max_body:
            return self._reject(
                record,
                delivery,
                delivery_id,
                413,
                f"body of {len(body)} bytes exceeds {self._max_body}",
                test,
            )
        try:
            result = normalize(record, delivery, delivery_id, test=test, verify=replay_of is None)
        except sources.Unauthorized as exc:
            return self._reject(record, delivery, delivery_id, 401, str(exc), test)
        except PayloadError as exc:
            return self._reject(record, delivery, delivery_id, exc.status, exc.message, test)
        except ValidationError as exc:
            # A mapping produced something the canonical model refuses: still the body's fault.
            reason = f"cannot normalize: {validation_message(exc)}"
            return self._reject(record, delivery, delivery_id, 422, reason, test)
        except Exception:  # a mapping bug must not turn a vendor's body into a 5xx or a loss
            logger.exception("mapping failed", extra={"source": self.source})
            reason = "the body could not be mapped (kept; replay it once the mapping is fixed)"
            return self._reject(record, delivery, delivery_id, 422, reason, test)

        status = 202
        stored = self._record(
            record, delivery, delivery_id, result.outcome, None, status, result.outcomes, test
        )
        stored.replays = replay_of.replays + 1 if replay_of else 0
        try:
            if result.alerts:
                self._publisher.publish(result.alerts)
            stored.published = True
        finally:  # kept either way; on PublishError as unpublished, and the caller answers 503
            self._deliveries.put(stored, body)
        return Answer(
            status,
            {
                "delivery_id": delivery_id,
                "outcome": result.outcome,
                "alerts": result.outcomes,
            },
            delivery_id,
        )

    def _reject(
        self, record: Source, delivery: Delivery, delivery_id: str, status: int, reason: str, test: bool
    ) -> Answer:
        stored = self._record(record, delivery, delivery_id, "rejected", reason, status, [], test)
        self._deliveries.put(stored, delivery.body)
        return Answer(status, {"error": reason, "status": status, "delivery_id": delivery_id}, delivery_id)

    def _record(
        self,
        record: Source,
        delivery: Delivery,
        delivery_id: str,
        outcome: Outcome,
        reason: str | None,
        status: int,
        outcomes: list[dict[str, Any]],
        test: bool,
    ) -> DeliveryRecord:
        return DeliveryRecord(
            id=delivery_id,
            service_id=record.service_id,
            source_id=record.id,
            source=record.source,
            received_at=delivery.received_at,
            headers=safe_headers(dict(delivery.headers)),
            body_size=len(delivery.body),
            outcome=outcome,
            reason=reason,
            status_code=status,
            alerts=outcomes,
            test=test,
        )
