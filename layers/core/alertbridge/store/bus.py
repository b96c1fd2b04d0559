"""Publishing canonical alerts to the EventBridge bus: chunked, size-aware, retried."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from alertbridge.models.alert import CanonicalAlert

if TYPE_CHECKING:
    from mypy_boto3_events.client import EventBridgeClient
    from mypy_boto3_events.type_defs import PutEventsRequestEntryTypeDef

EVENT_SOURCE = "alertbridge"
DETAIL_TYPE = "Canonical Alert"
MAX_ENTRIES = 10  # PutEvents takes at most 10 entries per call
MAX_REQUEST_BYTES = 256 * 1024  # and at most 256 KiB per call (all entries together)
ATTEMPTS = 4  # first try + retries of the entries EventBridge refused


_json = CanonicalAlert.__pydantic_serializer__.to_json  # model_dump_json, without its per-call overhead


class PublishError(Exception):
    """The bus would not take every entry, even after retries."""

    def __init__(self, failed: int, total: int, code: str | None) -> None:
        super().__init__(f"{failed} of {total} events not accepted by the bus ({code or 'unknown error'})")
        self.failed = failed
        self.total = total
        self.code = code


def entry(alert: CanonicalAlert, bus_name: str) -> PutEventsRequestEntryTypeDef:
    return {
        "Source": EVENT_SOURCE,
        "DetailType": DETAIL_TYPE,
        "Detail": _json(alert).decode(),
        "EventBusName": bus_name,
    }


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


class Publisher:
    def __init__(self, client: EventBridgeClient, bus_name: str, backoff: float = 0.05) -> None:
        self._events = client
        self._bus = bus_name
        self._backoff = backoff

    def publish(self, alerts: Sequence[CanonicalAlert]) -> int:
        """Put every alert on the bus; returns the number of PutEvents calls. Raises PublishError."""
        calls = 0
        for batch in chunks([entry(a, self._bus) for a in alerts]):
            pending = batch
            code: str | None = None
            for attempt in range(ATTEMPTS):
                if attempt:
                    time.sleep(self._backoff * 2 ** (attempt - 1))
                calls += 1
                try:
                    resp = self._events.put_events(Entries=pending)
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
                failed = [e for e, r in zip(pending, results, strict=True) if r.get("ErrorCode")]
                code = next((r.get("ErrorCode") for r in results if r.get("ErrorCode")), None)
                pending = failed
            if pending:
                raise PublishError(len(pending), len(alerts), code)
        return calls


def detail_of(event_body: str) -> CanonicalAlert:
    """The canonical alert inside an EventBridge event (as SQS delivers it)."""
    return CanonicalAlert.model_validate(json.loads(event_body)["detail"])
