"""Incident episodes in DynamoDB, written with optimistic concurrency.

Every episode of one (service, dedup_key) lives in one partition (``PK = <key id>``, ``SK = EP#<seq>``),
so "the key's latest episode" is one Query, and "at most one open incident per key" is a condition on
the write: a new episode must not exist yet, an updated one must still have the version it was read
at. A losing writer gets ``Conflict`` and decides again on fresh state (read strongly consistent).

Cost: an incident is one item (attributes at their defaults are left out, so a typical one stays
under 1 KiB = 1 WRU) and one entry in the service's partition of GSI1, whose sort key starts with
``O#`` while the incident is open and ``C#`` once it is closed: open incidents list first, and the
status page reads a service's open and recently closed incidents in one Query of the projected
attributes. Repeated alerts change no projected attribute, so they cost the item's write alone.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from alertbridge.decisions import Decision
from alertbridge.models.incident import Incident, IncidentSummary, Status, key_id, parse_incident_id
from alertbridge.store.sources import NotFound
from alertbridge.store.table import (
    GSI1,
    batch_get,
    decode_cursor,
    encode_cursor,
    from_item,
    to_item,
)
from alertbridge.timestamps import iso

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import TransactWriteItemTypeDef

OPEN_STATUSES = tuple(s.value for s in Status if s.is_open)
# GSI1 sort key prefixes of a service's incidents: "O" sorts after "C", so a newest-first Query
# yields the open incidents before the closed ones.
OPEN_PREFIX = "O#"
CLOSED_PREFIX = "C#"
SUMMARY_CAP = 500  # incidents per service on the status page (open first)


class Conflict(Exception):
    """Someone else wrote the key first: read again and decide again."""


def _sk(seq: int) -> str:
    return f"EP#{seq:06d}"


class IncidentStore:
    def __init__(self, client: DynamoDBClient, table: str) -> None:
        self._db = client
        self._table = table

    def latest(self, service_id: str, dedup_key: str, *, consistent: bool = True) -> Incident | None:
        """The key's latest episode. An eventually consistent read costs half, and is safe where the
        write that follows is conditional: a stale read only ends in ``Conflict``."""
        resp = self._db.query(
            TableName=self._table,
            KeyConditionExpression="PK = :pk AND begins_with(SK, :ep)",
            ExpressionAttributeValues=to_item({":pk": key_id(service_id, dedup_key), ":ep": "EP#"}),
            ScanIndexForward=False,
            Limit=1,
            ConsistentRead=consistent,
        )
        items = resp.get("Items", [])
        return Incident.model_validate(from_item(items[0])) if items else None

    def has_open(self, service_id: str, dedup_key: str) -> bool:
        """Whether the key has an open incident: its latest episode, strongly consistent, only the
        two attributes that say so (ingest asks this of an alert in a maintenance window)."""
        resp = self._db.query(
            TableName=self._table,
            KeyConditionExpression="PK = :pk AND begins_with(SK, :ep)",
            ExpressionAttributeValues=to_item({":pk": key_id(service_id, dedup_key), ":ep": "EP#"}),
            ExpressionAttributeNames={"#st": "status"},
            ProjectionExpression="#st, ledger",
            ScanIndexForward=False,
            Limit=1,
            ConsistentRead=True,
        )
        items = [from_item(i) for i in resp.get("Items", [])]
        return bool(items) and not items[0].get("ledger") and Status(items[0]["status"]).is_open

    def get(self, incident_id: str) -> Incident:
        parsed = parse_incident_id(incident_id)
        if parsed is None:
            raise NotFound(f"incident {incident_id} not found")
        resp = self._db.get_item(
            TableName=self._table, Key=to_item({"PK": parsed[0], "SK": _sk(parsed[1])}), ConsistentRead=True
        )
        incident = Incident.model_validate(from_item(resp["Item"])) if "Item" in resp else None
        if incident is None or incident.is_ledger:
            raise NotFound(f"incident {incident_id} not found")
        return incident

    def save(self, decision: Decision) -> list[Incident]:
        """Write a decision's episodes if nobody changed the key since it was read.

        One PutItem in the common cases (a key's first episode, an update of the latest one); a
        transaction when a decision writes two episodes or opens a new one next to an existing one.
        Then the existing one's version is bumped, not just checked: a writer that decided on it
        (say, a late note on a closed episode) must see that the key moved on, and conflict. (An
        update costs what a transactional condition check costs.)
        """
        writes = decision.writes
        staged: list[tuple[dict[str, Any], str, dict[str, Any]]] = []
        checks: list[TransactWriteItemTypeDef] = []
        if decision.basis is not None and decision.basis[0] not in writes and writes:
            seq, version = decision.basis
            incident = next(iter(writes.values()))[0]
            checks.append(
                {
                    "Update": {
                        "TableName": self._table,
                        "Key": to_item(
                            {"PK": key_id(incident.service_id, incident.dedup_key), "SK": _sk(seq)}
                        ),
                        "UpdateExpression": "SET version = :next",
                        "ConditionExpression": "version = :v",
                        "ExpressionAttributeValues": to_item({":v": version, ":next": version + 1}),
                    }
                }
            )
        saved: list[Incident] = []
        for incident, expected in writes.values():
            stored = incident.model_copy(update={"version": (expected or 0) + 1})
            saved.append(stored)
            if expected is None:
                staged.append((self._item(stored), "attribute_not_exists(PK)", {}))
            else:
                staged.append((self._item(stored), "version = :v", to_item({":v": expected})))
        try:
            if len(staged) == 1 and not checks:
                item, condition, values = staged[0]
                kwargs: dict[str, Any] = {
                    "TableName": self._table,
                    "Item": item,
                    "ConditionExpression": condition,
                }
                if values:
                    kwargs["ExpressionAttributeValues"] = values
                self._db.put_item(**kwargs)
            elif staged:
                ops: list[TransactWriteItemTypeDef] = list(checks)
                for item, condition, values in staged:
                    put: dict[str, Any] = {
                        "TableName": self._table,
                        "Item": item,
                        "ConditionExpression": condition,
                    }
                    if values:
                        put["ExpressionAttributeValues"] = values
                    ops.append({"Put": put})  # type: ignore[typeddict-item]
                self._db.transact_write_items(TransactItems=ops)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code")
            if code == "ConditionalCheckFailedException":
                raise Conflict(str(exc)) from exc
            if code == "TransactionCanceledException":
                reasons = exc.response.get("CancellationReasons", [])
                if any(r.get("Code") == "ConditionalCheckFailed" for r in reasons):
                    raise Conflict(str(exc)) from exc
            raise
        return saved

    def for_service(
        self,
        service_id: str,
        *,
        statuses: tuple[str, ...] | None = None,
        source: str | None = None,
        since: str | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> tuple[list[Incident], str | None]:
        """A service's incidents: the open ones first, then the closed ones, each newest first;
        optionally only some statuses, one source kind or source id, opened since an ISO time."""
        wanted = set(statuses or ())
        open_wanted = not wanted or bool(wanted & set(OPEN_STATUSES))
        closed_wanted = not wanted or Status.RESOLVED.value in wanted
        if not (open_wanted or closed_wanted):
            return [], None
        key = "GSI1PK = :pk"
        values: dict[str, Any] = {":pk": _index_pk(service_id)}
        filters: list[str] = []
        names: dict[str, str] = {}
        if open_wanted != closed_wanted:  # one half of the partition: a key condition
            prefix = OPEN_PREFIX if open_wanted else CLOSED_PREFIX
            key += " AND GSI1SK BETWEEN :lo AND :hi"
            values.update({":lo": prefix + (since or ""), ":hi": prefix + "\uffff"})
        elif since:
            filters.append("opened_at >= :since")
            values[":since"] = since
        if wanted:
            placeholders = [f":s{i}" for i in range(len(wanted))]
            filters.append(f"#st IN ({', '.join(placeholders)})")
            names["#st"] = "status"
            values.update(dict(zip(placeholders, sorted(wanted), strict=True)))
        if source:
            filters.append("(#src = :src OR source_id = :src)")
            names["#src"] = "source"
            values[":src"] = source
        kwargs: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": GSI1,
            "KeyConditionExpression": key,
            "ExpressionAttributeValues": to_item(values),
            "ScanIndexForward": False,
            "Limit": limit,
            "ProjectionExpression": "PK, SK",  # the items are read whole below
        }
        if filters:
            kwargs["FilterExpression"] = " AND ".join(filters)
        if names:
            kwargs["ExpressionAttributeNames"] = names
        start = decode_cursor(cursor)
        if start:
            kwargs["ExclusiveStartKey"] = start
        resp = self._db.query(**kwargs)
        keys = [{"PK": i["PK"], "SK": i["SK"]} for i in resp.get("Items", [])]
        incidents = [Incident.model_validate(from_item(i)) for i in batch_get(self._db, self._table, keys)]
        return incidents, encode_cursor(resp.get("LastEvaluatedKey"))

    def list_open(self, service_id: str) -> list[Incident]:
        """Open incidents of a service: the ``O#`` half of its index partition."""
        keys: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": GSI1,
            "KeyConditionExpression": "GSI1PK = :pk AND begins_with(GSI1SK, :o)",
            "ExpressionAttributeValues": to_item({":pk": _index_pk(service_id), ":o": OPEN_PREFIX}),
            "ProjectionExpression": "PK, SK",
        }
        for page in self._db.get_paginator("query").paginate(**kwargs):
            keys.extend({"PK": i["PK"], "SK": i["SK"]} for i in page.get("Items", []))
        found = [Incident.model_validate(from_item(i)) for i in batch_get(self._db, self._table, keys)]
        return [i for i in found if i.is_open]

    def summaries(self, service_id: str, closed_since: str, cap: int = SUMMARY_CAP) -> list[IncidentSummary]:
        """A service's open incidents and those opened since ``closed_since`` and closed since,
        from the index's projection alone: one Query (more pages only past 1 MB), no item reads."""
        out: list[IncidentSummary] = []
        kwargs: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": GSI1,
            "KeyConditionExpression": "GSI1PK = :pk AND GSI1SK >= :lo",
            "ExpressionAttributeValues": to_item(
                {":pk": _index_pk(service_id), ":lo": CLOSED_PREFIX + closed_since}
            ),
            "ScanIndexForward": False,
        }
        pages = self._db.get_paginator("query").paginate(**kwargs, PaginationConfig={"MaxItems": cap})
        for page in pages:
            out.extend(IncidentSummary.model_validate(from_item(i)) for i in page.get("Items", []))
        return out[:cap]

    def _item(self, incident: Incident) -> dict[str, Any]:
        """The stored item: fields at their defaults are left out (they come back on read), which
        keeps a typical incident under 1 KiB, i.e. one write unit."""
        item: dict[str, Any] = {
            "PK": key_id(incident.service_id, incident.dedup_key),
            "SK": _sk(incident.seq),
            **incident.model_dump(mode="json", exclude_defaults=True),
        }
        if not incident.is_ledger:
            prefix = OPEN_PREFIX if incident.is_open else CLOSED_PREFIX
            item.update(
                {
                    "GSI1PK": _index_pk(incident.service_id),
                    "GSI1SK": f"{prefix}{iso(incident.opened_at)}#{incident.id}",
                }
            )
        return to_item(item)


def _index_pk(service_id: str) -> str:
    return f"SVC#{service_id}#INC"
