"""What the notifier keeps in the table: attempts, sends done, rate windows, digests, due work.

- **Attempts** are items in the incident's own partition (``PK = <key id>``, ``SK = NT#<seq>#<at>#
  <channel>#<attempt>``): the incident function's conditional writes of the episode item never
  contend with them and the episode item does not grow; ``GET /api/incidents/{id}`` reads them
  with one Query of the ``NT#<seq>#`` prefix.
- **Sends done** (``SENT#<key>`` / ``<channel>``): written after a success, read before a send, so
  an SQS redelivery of the same (event, channel) does not send twice. Expire after 14 days (past
  SQS's longest retention).
- **Rate windows** (``RATE#<channel>`` / ``W#<minute>``): one atomic ``ADD`` per event; the new
  count says whether the event is within the channel's cap. **Digests** (``DIGEST#<channel>#<minute>``
  / ``<event id>``): what was over the cap, one small item per event (an append to one growing list
  would bill every append by the whole list's size and hit the 400 KB item limit in a storm); the
  flush reads the partition with one paginated Query.
- **Due work** (``DUE#<shard>`` / ``<due at>#esc#<incident>#<step>``): escalation steps by due
  time, in the due index the checker reads (``store.due``).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, NamedTuple

from alertbridge.models.incident import parse_incident_id
from alertbridge.store.due import DueIndex
from alertbridge.store.table import from_item, to_item
from alertbridge.timestamps import iso

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

SENT_DAYS = 14
WINDOW_DAYS = 1


class AttemptRecord(NamedTuple):
    incident_id: str
    channel_id: str
    event_id: str
    event_type: str
    attempt: int
    outcome: str  # sent, retry, failed, digested, dead_lettered
    status_code: int | None
    error: str | None
    at: datetime

    def entry(self) -> dict[str, Any]:
        """The incident timeline entry of this attempt (``"kind": "notification"``)."""
        return {
            "at": iso(self.at),
            "kind": "notification",
            "message": f"{self.event_type} to {self.channel_id}: {self.outcome}"
            + (f" ({self.error})" if self.error else ""),
            "channel_id": self.channel_id,
            "event_id": self.event_id,
            "outcome": self.outcome,
            "status_code": self.status_code,
            "attempt": self.attempt,
        }


class NotificationStore:
    def __init__(self, client: DynamoDBClient, table: str) -> None:
        self._db = client
        self._table = table
        self._due = DueIndex(client, table)

    # attempts -----------------------------------------------------------------------------------
    def record(self, rec: AttemptRecord) -> None:
        parsed = parse_incident_id(rec.incident_id)
        if parsed is None:  # a test notification: no incident to record it on
            return
        key_id, seq = parsed
        sk = f"NT#{seq:06d}#{iso(rec.at)}#{rec.channel_id}#{rec.attempt}"
        item = {"PK": key_id, "SK": sk, **{k: v for k, v in rec.entry().items() if v is not None}}
        self._db.put_item(TableName=self._table, Item=to_item(item))

    def attempts(self, incident_id: str) -> list[dict[str, Any]]:
        """The incident's notification entries, oldest first."""
        parsed = parse_incident_id(incident_id)
        if parsed is None:
            return []
        key_id, seq = parsed
        pages = self._db.get_paginator("query").paginate(
            TableName=self._table,
            KeyConditionExpression="PK = :pk AND begins_with(SK, :nt)",
            ExpressionAttributeValues=to_item({":pk": key_id, ":nt": f"NT#{seq:06d}#"}),
        )
        out = []
        for page in pages:
            for raw in page.get("Items", []):
                item = from_item(raw)
                out.append({k: v for k, v in item.items() if k not in ("PK", "SK")} | _nulls(item))
        return out

    # sends done ---------------------------------------------------------------------------------
    def was_sent(self, key: str, channel_id: str) -> bool:
        resp = self._db.get_item(
            TableName=self._table, Key=to_item({"PK": f"SENT#{key}", "SK": channel_id}), ConsistentRead=True
        )
        return "Item" in resp

    def mark_sent(self, key: str, channel_id: str, now: datetime) -> None:
        expires = int((now + timedelta(days=SENT_DAYS)).timestamp())
        self._db.put_item(
            TableName=self._table,
            Item=to_item({"PK": f"SENT#{key}", "SK": channel_id, "expires_at": expires}),
        )

    # rate windows and digests -------------------------------------------------------------------
    def count(self, channel_id: str, window: int, now: datetime) -> int:
        """One more event in the channel's window; the window's count including it (atomic)."""
        resp = self._db.update_item(
            TableName=self._table,
            Key=to_item({"PK": f"RATE#{channel_id}", "SK": f"W#{window}"}),
            UpdateExpression="ADD n :one SET expires_at = if_not_exists(expires_at, :exp)",
            ExpressionAttributeValues=to_item({":one": 1, ":exp": _expiry(now)}),
            ReturnValues="UPDATED_NEW",
        )
        return int(resp["Attributes"]["n"]["N"])

    def add_to_digest(
        self, channel_id: str, window: int, event_id: str, entry: dict[str, str], now: datetime
    ) -> None:
        """Keep one over-the-cap event for the channel's digest of the window (idempotent per event)."""
        item = {"PK": f"DIGEST#{channel_id}#{window}", "SK": event_id, **entry, "expires_at": _expiry(now)}
        self._db.put_item(TableName=self._table, Item=to_item(item))

    def digest(self, channel_id: str, window: int) -> list[dict[str, str]]:
        """The window's digested events, in event-id order."""
        pages = self._db.get_paginator("query").paginate(
            TableName=self._table,
            KeyConditionExpression="PK = :pk",
            ExpressionAttributeValues=to_item({":pk": f"DIGEST#{channel_id}#{window}"}),
            ConsistentRead=True,
        )
        return [
            {k: v for k, v in from_item(i).items() if k not in ("PK", "SK", "expires_at")}
            for page in pages
            for i in page.get("Items", [])
        ]

    # due work (escalation) ----------------------------------------------------------------------
    def schedule(self, incident_id: str, step: int, due: datetime, epoch: datetime) -> None:
        """Index step ``step`` of the incident's escalation as due at ``due`` (idempotent)."""
        self._due.put("esc", incident_id, due, step, incident_id=incident_id, step=step, epoch=iso(epoch))


def _expiry(now: datetime) -> int:
    return int((now + timedelta(days=WINDOW_DAYS)).timestamp())


def _nulls(item: dict[str, Any]) -> dict[str, Any]:
    """Entries always carry status_code (None when there was no HTTP answer)."""
    return {"status_code": item.get("status_code")}
