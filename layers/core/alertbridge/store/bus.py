"""Publishing to the EventBridge bus: chunked, size-aware, retried.

One sender for every kind of event: canonical alerts (:meth:`Publisher.publish`, from ingest) and
incident events (``alertbridge.publish_events``, built as entries there, so the ingest functions
never load the incident models) both go through :meth:`Publisher.put`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, NamedTuple

from botocore.exceptions import BotoCoreError, ClientError

if TYPE_CHECKING:
    from mypy_boto3_events.client import EventBridgeClient
    from mypy_boto3_events.type_defs import PutEventsRequestEntryTypeDef

    from alertbridge.models.alert import CanonicalAlert

EVENT_SOURCE = "alertbridge"
DETAIL_TYPE = "Canonical Alert"
MAX_ENTRIES = 10  # PutEvents takes at most 10 entries per call
MAX_REQUEST_BYTES = 256 * 1024  # and at most 256 KiB per call (all entries together)
ATTEMPTS = 4  # first try + retries of the entries EventBridge refused


class PublishError(Exception):
    """The bus would not take every entry, even after retries."""

    def __init__(self, failed: int, total: int, code: str | None) -> None:
        super().__init__(f"{failed} of {total} events not accepted by the bus ({code or 'unknown error'})")
        self.failed = failed
        self.total = total
        self.code = code


def put_entry(source: str, detail_type: str, detail: str, bus_name: str) -> PutEventsRequestEntryTypeDef:
    """A PutEvents entry, every event alertbridge puts (no Resources: an alert or an incident is no
    AWS resource); ``detail`` is the event already serialized."""
    return {"Source": source, "DetailType": detail_type, "Detail": detail, "EventBusName": bus_name}


def entry(alert: CanonicalAlert, bus_name: str) -> PutEventsRequestEntryTypeDef:
    """The PutEvents entry of a canonical alert (its serializer's JSON: model_dump_json without its
    per-call overhead)."""
    return put_entry(
        EVENT_SOURCE, DETAIL_TYPE, alert.__pydantic_serializer__.to_json(alert).decode(), bus_name
    )


def entry_size(item: PutEventsRequestEntryTypeDef) -> int:
    """EventBridge's own accounting: 14 bytes for Time plus the UTF-8 size of the strings."""
    size = 14 + sum(_utf8_size(r) for r in item.get("Resources", []))
    for field in ("Source", "DetailType", "Detail"):
        size += _utf8_size(str(item.get(field, "")))
    return size


def _utf8_size(text: str) -> int:
    return len(text) if text.isascii() else len(text.encode())  # isascii() is O(1) on str


def chunks(entries: Sequence[PutEventsRequestEntryTypeDef]) -> list[list[PutEventsRequestEntryTypeDef]]:
    """Split into PutEvents calls of at most 10 entries and 256 KiB."""
    out: list[list[PutEventsRequestEntryTypeDef]] = []
    current: list[PutEventsRequestEntryTypeDef] = []
    size = 0
    for item in entries:
        item_size = entry_size(item)
        if item_size > MAX_REQUEST_BYTES:
            raise ValueError(f"event of {item_size} bytes exceeds the EventBridge entry limit")
        if current and (len(current) == MAX_ENTRIES or size + item_size > MAX_REQUEST_BYTES):
            out.append(current)
            current, size = [], 0
        current.append(item)
        size += item_size
    if current:
        out.append(current)
    return out


class Sent(NamedTuple):
    """What :meth:`Publisher.put` did: every entry before ``first_failed`` is on the bus; that one
    was refused even after retries (``None``: all were taken). Entries after it may or may not be
    on the bus: the call that refused it may have taken some, and no later call was made."""

    calls: int
    first_failed: int | None = None
    failed: int = 0  # entries of the refusing call still refused after the retries
    code: str | None = None


class Publisher:
    def __init__(self, client: EventBridgeClient, bus_name: str, backoff: float = 0.05) -> None:
        self._events = client
        self._bus = bus_name
        self._backoff = backoff

    @property
    def bus_name(self) -> str:
        return self._bus

    def publish(self, alerts: Sequence[CanonicalAlert]) -> int:
        """Put every alert on the bus; returns the number of PutEvents calls. Raises PublishError."""
        sent = self.put([entry(a, self._bus) for a in alerts])
        if sent.first_failed is not None:
            raise PublishError(sent.failed, len(alerts), sent.code)
        return sent.calls

    def put(self, entries: Sequence[PutEventsRequestEntryTypeDef]) -> Sent:
        """Put the entries on the bus in their order, a PutEvents call at a time, retrying what the
        bus refused; stops at the first call whose entries are still refused after the retries
        (later entries are not sent, so a caller that retries from ``first_failed`` keeps order)."""
        calls = 0
        done = 0  # entries of earlier calls, all accepted
        for batch in chunks(entries):
            pending = list(range(len(batch)))  # indexes in batch not yet accepted
            code: str | None = None
            for attempt in range(ATTEMPTS):
                if attempt:
                    time.sleep(self._backoff * 2 ** (attempt - 1))
                calls += 1
                try:
                    resp = self._events.put_events(Entries=[batch[i] for i in pending])
                except (ClientError, BotoCoreError) as exc:  # botocore already retried what it could
                    code = (
                        exc.response.get("Error", {}).get("Code")
                        if isinstance(exc, ClientError)
                        else type(exc).__name__
                    )
                    continue
                if not resp.get("FailedEntryCount"):
                    pending = []
                    break
                results = resp["Entries"]
                code = next((r.get("ErrorCode") for r in results if r.get("ErrorCode")), None)
                pending = [i for i, r in zip(pending, results, strict=True) if r.get("ErrorCode")]
            if pending:
                return Sent(calls, first_failed=done + pending[0], failed=len(pending), code=code)
            done += len(batch)
        return Sent(calls)


def detail_of(event_body: str) -> CanonicalAlert:
    """The canonical alert inside an EventBridge event (as SQS delivers it)."""
    # Imported here: a function that only puts events on the bus never builds the alert's model.
    from alertbridge.models.alert import CanonicalAlert  # noqa: PLC0415

    return CanonicalAlert.model_validate(json.loads(event_body)["detail"])
