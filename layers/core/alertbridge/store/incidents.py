"""Incident episodes in DynamoDB, written with optimistic concurrency.

Every episode of one (service, dedup_key) lives in one partition (``PK = <key id>``, ``SK = EP#<seq>``),
so "the key's latest episode" is one consistent Query, and "at most one open incident per key" is a
condition on the write: a new episode must not exist yet, an updated one must still have the version
it was read at. A losing writer gets ``Conflict`` and decides again on fresh state.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from alertbridge.incidents import Decision, key_id, parse_incident_id
from alertbridge.models.records import Incident, Status
from alertbridge.store.sources import NotFound
from alertbridge.store.table import (
    GSI1,
    GSI2,
    batch_get,
    decode_cursor,
    encode_cursor,
    from_item,
    query_keys,
    to_item,
)
from alertbridge.timestamps import iso

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import TransactWriteItemTypeDef

OPEN_STATUSES = tuple(s.value for s in Status if s.is_open)


class Conflict(Exception):
    """Someone else wrote the key first: read again and decide again."""


def _sk(seq: int) -> str:
    return f"EP#{seq:06d}"


class IncidentStore:
    def __init__(self, client: DynamoDBClient, table: str) -> None:
        self._db = client
        self._table = table

    def latest(self, service_id: str, dedup_key: str) -> Incident | None:
        resp = self._db.query(
            TableName=self._table,
            KeyConditionExpression="PK = :pk AND begins_with(SK, :ep)",
            ExpressionAttributeValues=to_item({":pk": key_id(service_id, dedup_key), ":ep": "EP#"}),
            ScanIndexForward=False,
            Limit=1,
            ConsistentRead=True,
        )
        items = resp.get("Items", [])
        return Incident.model_validate(from_item(items[0])) if items else None

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
        transaction when a decision writes two episodes or opens a new one next to an existing one
        (then the existing one's version is checked too).
        """
        writes = decision.writes
        staged: list[tuple[dict[str, Any], str, dict[str, Any]]] = []
        checks: list[TransactWriteItemTypeDef] = []
        if decision.basis is not None and decision.basis[0] not in writes and writes:
            seq, version = decision.basis
            incident = next(iter(writes.values()))[0]
            checks.append(
                {
                    "ConditionCheck": {
                        "TableName": self._table,
                        "Key": to_item(
                            {"PK": key_id(incident.service_id, incident.dedup_key), "SK": _sk(seq)}
                        ),
                        "ConditionExpression": "version = :v",
                        "ExpressionAttributeValues": to_item({":v": version}),
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
        """A service's incidents, newest first; optionally only some statuses, one source kind or
        source id, opened since an ISO time."""
        kwargs: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": GSI1,
            "KeyConditionExpression": "GSI1PK = :pk",
            "ExpressionAttributeValues": to_item({":pk": f"SVC#{service_id}#INC"}),
            "ScanIndexForward": False,
            "Limit": limit,
        }
        filters: list[str] = []
        names: dict[str, str] = {}
        values: dict[str, Any] = {}
        if statuses:
            placeholders = [f":s{i}" for i in range(len(statuses))]
            filters.append(f"#st IN ({', '.join(placeholders)})")
            names["#st"] = "status"
            values.update(dict(zip(placeholders, statuses, strict=True)))
        if source:
            filters.append("(#src = :src OR source_id = :src)")
            names["#src"] = "source"
            values[":src"] = source
        if since:
            kwargs["KeyConditionExpression"] += " AND GSI1SK >= :since"
            values[":since"] = since
        if filters:
            kwargs["FilterExpression"] = " AND ".join(filters)
        if names:
            kwargs["ExpressionAttributeNames"] = names
        kwargs["ExpressionAttributeValues"].update(to_item(values))
        start = decode_cursor(cursor)
        if start:
            kwargs["ExclusiveStartKey"] = start
        resp = self._db.query(**kwargs)
        keys = [{"PK": i["PK"], "SK": i["SK"]} for i in resp.get("Items", [])]
        incidents = [Incident.model_validate(from_item(i)) for i in batch_get(self._db, self._table, keys)]
        return incidents, encode_cursor(resp.get("LastEvaluatedKey"))

    def list_open(self, service_id: str) -> list[Incident]:
        """Open incidents of a service, from the sparse index of open episodes."""
        keys = query_keys(self._db, self._table, GSI2, "GSI2PK", f"SVC#{service_id}#OPEN")
        found = [Incident.model_validate(from_item(i)) for i in batch_get(self._db, self._table, keys)]
        return [i for i in found if i.is_open]

    def _item(self, incident: Incident) -> dict[str, Any]:
        item: dict[str, Any] = {
            "PK": key_id(incident.service_id, incident.dedup_key),
            "SK": _sk(incident.seq),
            **incident.model_dump(mode="json"),
        }
        if not incident.is_ledger:
            index_sk = f"{iso(incident.opened_at)}#{incident.id}"
            item.update({"GSI1PK": f"SVC#{incident.service_id}#INC", "GSI1SK": index_sk})
            if incident.is_open:  # sparse index of open incidents: the status page's query
                item.update({"GSI2PK": f"SVC#{incident.service_id}#OPEN", "GSI2SK": index_sk})
        return to_item(item)
