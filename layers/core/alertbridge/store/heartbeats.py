"""What alertbridge keeps of when each source was last heard from (``SEEN#<source id>`` / ``SEEN``),
and the source's entry in the due index (``DUE#<shard>`` / ``<due at>#src#<source id>``).

The seen item is small (four timestamps): ``seen_at`` (the last delivery that moved the due entry,
or the last heartbeat), ``heartbeat_at``, ``due_at`` (the one due entry that counts) and, while a
silence incident is open, ``silent_since``. A heartbeat always updates it (the compact heartbeat:
one ~100-byte write, no delivery kept); a delivery only when it moves the due entry
(``silence.should_move``). Moving writes the new entry first, then points ``due_at`` at it: a
crash in between leaves the old entry in charge, never none. Entries that ``due_at`` no longer
names are orphans; the checker drops them unread (one read of the seen item, one delete).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, NamedTuple

from botocore.exceptions import ClientError

from alertbridge.silence import should_move
from alertbridge.store.due import DueIndex
from alertbridge.store.table import from_item, to_item
from alertbridge.timestamps import iso

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient


class Seen(NamedTuple):
    seen_at: datetime | None = None
    heartbeat_at: datetime | None = None
    due_at: datetime | None = None
    silent_since: datetime | None = None

    @classmethod
    def of(cls, item: dict[str, Any]) -> Seen:
        def at(name: str) -> datetime | None:
            return datetime.fromisoformat(item[name]) if item.get(name) else None

        return cls(at("seen_at"), at("heartbeat_at"), at("due_at"), at("silent_since"))


def _key(source_id: str) -> dict[str, Any]:
    return to_item({"PK": f"SEEN#{source_id}", "SK": "SEEN"})


class HeartbeatStore:
    def __init__(self, client: DynamoDBClient, table: str) -> None:
        self._db = client
        self._table = table
        self._due = DueIndex(client, table)
        self._moved: dict[str, datetime] = {}  # source id -> when this instance last moved its entry

    def touch(self, source_id: str, at: datetime, every: int | None, *, heartbeat: bool) -> Seen | None:
        """A delivery (``heartbeat`` False) or a heartbeat of the source at ``at``. Writes nothing for
        a delivery that need not move the due entry (None then); else what the seen item held before
        (its ``silent_since`` says whether a silence incident is open)."""
        move = every is not None and should_move(self._moved.get(source_id), at, every)
        if not move and not heartbeat:
            return None
        sets, values = ["seen_at = :at"], {":at": iso(at)}
        if heartbeat:
            sets.append("heartbeat_at = :at")
        if move and every is not None:
            due = at + timedelta(seconds=every)
            self._due.put("src", source_id, due)
            sets.append("due_at = :due")
            values[":due"] = iso(due)
        resp = self._db.update_item(
            TableName=self._table,
            Key=_key(source_id),
            UpdateExpression="SET " + ", ".join(sets),
            ExpressionAttributeValues=to_item(values),
            ReturnValues="ALL_OLD",
        )
        if move:
            self._moved[source_id] = at
        return Seen.of(from_item(resp.get("Attributes", {})))

    def forget(self, source_id: str) -> None:
        """The next delivery of the source moves its entry again (and reads whether it is silent)."""
        self._moved.pop(source_id, None)

    def get(self, source_id: str) -> Seen | None:
        resp = self._db.get_item(TableName=self._table, Key=_key(source_id), ConsistentRead=True)
        return Seen.of(from_item(resp["Item"])) if "Item" in resp else None

    def watch(self, source_id: str, due: datetime, *, replacing: datetime | None, at: datetime) -> bool:
        """Make ``due`` the source's due entry, if ``due_at`` is still ``replacing`` (None: whatever
        it is; ``seen_at`` starts at ``at`` when the source was never seen). False when a delivery
        moved it meanwhile (the entry just written is then an orphan)."""
        self._due.put("src", source_id, due)
        kwargs: dict[str, Any] = {}
        values = {":due": iso(due), ":at": iso(at)}
        if replacing is not None:
            kwargs["ConditionExpression"] = "due_at = :was"
            values[":was"] = iso(replacing)
        try:
            self._db.update_item(
                TableName=self._table,
                Key=_key(source_id),
                UpdateExpression="SET due_at = :due, seen_at = if_not_exists(seen_at, :at)",
                ExpressionAttributeValues=to_item(values),
                **kwargs,
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def mark_silent(self, source_id: str, since: datetime, *, due: datetime) -> bool:
        """The source is silent since ``since``: True for the one caller that marks it, only when
        nothing was heard after ``since`` and no delivery moved the due entry (``due``) meanwhile."""
        try:
            self._db.update_item(
                TableName=self._table,
                Key=_key(source_id),
                UpdateExpression="SET silent_since = :since",
                ConditionExpression="attribute_not_exists(silent_since) AND due_at = :due "
                "AND (attribute_not_exists(seen_at) OR seen_at <= :since)",
                ExpressionAttributeValues=to_item({":since": iso(since), ":due": iso(due)}),
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def resumed(self, source_id: str, since: datetime) -> None:
        """The silence since ``since`` is over (its resolve is on the bus)."""
        try:
            self._db.update_item(
                TableName=self._table,
                Key=_key(source_id),
                UpdateExpression="REMOVE silent_since",
                ConditionExpression="silent_since = :since",
                ExpressionAttributeValues=to_item({":since": iso(since)}),
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise
