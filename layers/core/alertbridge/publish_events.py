"""The incident events function's work: a DynamoDB Streams batch -> incident events on the bus.

The table's stream holds every committed write, and only those, with the item before and after
(NEW_AND_OLD_IMAGES): publishing from it is publishing "from the committed write itself". A write
that did not commit (a condition that failed, a cancelled transaction) is not in the stream, so it
has no event; a committed one stays in the stream until its events are on the bus, so a bus outage
delays them and loses none.

Lambda's stream event source checkpoints per shard: the answer names the first record that failed
(``batchItemFailures``), records before it are done, and it and everything after it come again. So
records are published in their order and the first one whose events the bus refused is the
answer. Repeats are expected (a record retried after a later one was already published): an event
id is the same on every derivation, and subscribers drop repeats by it.

A record that cannot be read (an image that is no incident) will never become readable. When good
records come before it, they are published and it is answered as the failure, so it heads the
retry; when it heads the batch, the invocation fails, so Lambda's bisection isolates it and only it
reaches the DLQ after the retries.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from alertbridge.incident_events import derive
from alertbridge.models.incident import Incident
from alertbridge.models.incident_event import DETAIL_TYPE, EVENT_SOURCE, IncidentEvent
from alertbridge.observability import logger
from alertbridge.store.bus import Publisher, put_entry
from alertbridge.store.table import from_item

if TYPE_CHECKING:
    from mypy_boto3_events.type_defs import PutEventsRequestEntryTypeDef

_json = IncidentEvent.__pydantic_serializer__.to_json


class UnreadableRecord(Exception):
    """The batch's first record holds no readable incident: fail the invocation (see the module)."""


@dataclass(frozen=True)
class Outcome:
    records: int
    published: int  # events the bus took
    failed_sequence: str | None = None  # the first record to deliver again

    def response(self) -> dict[str, Any]:
        """The answer Lambda's stream event source expects (ReportBatchItemFailures)."""
        if self.failed_sequence is None:
            return {"batchItemFailures": []}
        return {"batchItemFailures": [{"itemIdentifier": self.failed_sequence}]}


def events_of(record: Mapping[str, Any]) -> list[IncidentEvent]:
    """The incident events of one stream record: none for a removal (episodes are never deleted;
    a TTL or manual delete is no incident change), for an item that is not an incident episode, or
    for a write ``derive`` finds nothing in. Raises ValueError for an unreadable image."""
    if record.get("eventName") not in ("INSERT", "MODIFY"):
        return []
    change = record.get("dynamodb") or {}
    keys = change.get("Keys") or {}
    if not (_string(keys, "PK").startswith("inc_") and _string(keys, "SK").startswith("EP#")):
        return []
    if "NewImage" not in change:
        raise ValueError("stream record without a new image (the stream must be NEW_AND_OLD_IMAGES)")
    try:
        new = Incident.model_validate(from_item(change["NewImage"]))
        old = Incident.model_validate(from_item(change["OldImage"])) if "OldImage" in change else None
    except ValidationError as exc:
        raise ValueError(f"not an incident: {str(exc)[:300]}") from exc
    return derive(old, new)


def entry(event: IncidentEvent, bus_name: str) -> PutEventsRequestEntryTypeDef:
    """The PutEvents entry of an incident event."""
    return put_entry(EVENT_SOURCE, DETAIL_TYPE, _json(event).decode(), bus_name)


def publish(records: Sequence[Mapping[str, Any]], publisher: Publisher) -> Outcome:
    """Publish the events of a stream batch in record order; see the module for the failures."""
    owners: list[int] = []  # for each entry, the index of its record
    entries: list[PutEventsRequestEntryTypeDef] = []
    unreadable: int | None = None
    for index, record in enumerate(records):
        try:
            events = events_of(record)
        except ValueError as exc:
            logger.error(
                "unreadable stream record",
                extra={"sequence_number": _sequence(record), "error": str(exc)[:500]},
            )
            if index == 0:
                raise UnreadableRecord(_sequence(record)) from exc
            unreadable = index
            break
        for event in events:
            owners.append(index)
            entries.append(entry(event, publisher.bus_name))
    sent = publisher.put(entries)
    if sent.first_failed is not None:
        failed = owners[sent.first_failed]
        logger.error(
            "bus refused incident events; the stream delivers them again",
            extra={"failed": sent.failed, "code": sent.code, "sequence_number": _sequence(records[failed])},
        )
        return Outcome(len(records), sent.first_failed, _sequence(records[failed]))
    if unreadable is not None:
        return Outcome(len(records), len(entries), _sequence(records[unreadable]))
    return Outcome(len(records), len(entries))


def _string(keys: Mapping[str, Any], name: str) -> str:
    value = keys.get(name) or {}
    return str(value.get("S", "")) if isinstance(value, Mapping) else ""


def _sequence(record: Mapping[str, Any]) -> str:
    return str((record.get("dynamodb") or {}).get("SequenceNumber", ""))
