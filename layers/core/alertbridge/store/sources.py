"""Services and alert sources, and the token lookup every webhook starts with."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from alertbridge.models.records import Service, Source, SourceSettings, counts_on_status
from alertbridge.store.table import GSI1, GSI2, batch_get, from_item, query_keys, set_or_remove, to_item
from alertbridge.timestamps import iso, now

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

TOKEN_CACHE_SECONDS = 60.0
# What the status page reads of a source item (template.yaml's StatusFunction allows these only).
STATUS_ATTRIBUTES = ("PK", "SK", "id", "source", "affects_status")


def new_token() -> str:
    """A webhook token: 256 random bits, URL-safe. Shown once, stored only as its hash."""
    return secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogateescape")).hexdigest()


def new_id(prefix: str) -> str:
    """Short, time-ordered ids: prefix, 10 hex of milliseconds, 10 random hex."""
    return f"{prefix}_{int(time.time() * 1000):011x}{secrets.token_hex(5)}"


class NotFound(LookupError):
    pass


class SourceStore:
    def __init__(self, client: DynamoDBClient, table: str) -> None:
        self._db = client
        self._table = table
        self._by_token: dict[str, tuple[float, Source | None]] = {}
        self._by_id: dict[str, tuple[float, Source]] = {}

    # services -----------------------------------------------------------------------------------
    def create_service(self, name: str) -> Service:
        service = Service(id=new_id("svc"), name=name, created_at=now())
        self._db.put_item(
            TableName=self._table,
            Item=to_item(
                {
                    "PK": f"SVC#{service.id}",
                    "SK": "SVC",
                    "GSI1PK": "SVCS",
                    "GSI1SK": f"{name}#{service.id}",
                    **service.model_dump(mode="json"),
                }
            ),
            ConditionExpression="attribute_not_exists(PK)",
        )
        return service

    def get_service(self, service_id: str) -> Service:
        resp = self._db.get_item(TableName=self._table, Key=to_item({"PK": f"SVC#{service_id}", "SK": "SVC"}))
        if "Item" not in resp:
            raise NotFound(f"service {service_id} not found")
        return Service.model_validate(from_item(resp["Item"]))

    def update_service(self, service_id: str, changes: dict[str, Any]) -> Service:
        """Set some of a service's public settings (one UpdateItem: concurrent changes of other
        fields are kept); a None value removes the attribute (back to its default)."""
        if not changes:
            return self.get_service(service_id)
        kwargs: dict[str, Any] = {
            "TableName": self._table,
            "Key": to_item({"PK": f"SVC#{service_id}", "SK": "SVC"}),
            "ConditionExpression": "attribute_exists(PK)",
            "ReturnValues": "ALL_NEW",
            **set_or_remove(changes),
        }
        try:
            resp = self._db.update_item(**kwargs)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                raise NotFound(f"service {service_id} not found") from None
            raise
        return Service.model_validate(from_item(resp["Attributes"]))

    def list_services(self) -> list[Service]:
        keys = query_keys(self._db, self._table, GSI1, "GSI1PK", "SVCS")
        return [Service.model_validate(from_item(i)) for i in batch_get(self._db, self._table, keys)]

    # sources ------------------------------------------------------------------------------------
    def add_source(self, service_id: str, source: str, settings: SourceSettings) -> tuple[Source, str]:
        """Create an alert source; returns it with its token (the only time the token is seen)."""
        self.get_service(service_id)
        token = new_token()
        record = Source(
            id=new_id("src"),
            service_id=service_id,
            source=source,
            settings=settings,
            token_hash=hash_token(token),
            created_at=now(),
        )
        self._db.put_item(
            TableName=self._table,
            Item=self._source_item(record),
            ConditionExpression="attribute_not_exists(PK)",
        )
        return record, token

    def get_source(self, source_id: str, *, cached: bool = False) -> Source:
        hit = self._by_id.get(source_id)
        if cached and hit and hit[0] > time.monotonic():
            return hit[1]
        resp = self._db.get_item(
            TableName=self._table, Key=to_item({"PK": f"SRC#{source_id}", "SK": "SRC"}), ConsistentRead=True
        )
        if "Item" not in resp:
            raise NotFound(f"alert source {source_id} not found")
        record = Source.model_validate(from_item(resp["Item"]))
        self._by_id[source_id] = (time.monotonic() + TOKEN_CACHE_SECONDS, record)
        return record

    def list_sources(self, service_id: str) -> list[Source]:
        keys = query_keys(self._db, self._table, GSI1, "GSI1PK", f"SVC#{service_id}#SRC")
        return [Source.model_validate(from_item(i)) for i in batch_get(self._db, self._table, keys)]

    def rotate_token(self, source_id: str) -> tuple[Source, str]:
        current = self.get_source(source_id)
        token = new_token()
        record = current.model_copy(update={"token_hash": hash_token(token), "token_rotated_at": now()})
        self._put_if_unchanged(current, record)
        return record, token

    def update_settings(self, source_id: str, settings: SourceSettings) -> Source:
        current = self.get_source(source_id)
        record = current.model_copy(update={"settings": settings})
        self._put_if_unchanged(current, record)
        return record

    def set_affects_status(self, source_id: str, affects: bool) -> Source:
        current = self.get_source(source_id)
        record = current.model_copy(update={"affects_status": affects})
        self._put_if_unchanged(current, record)
        return record

    def status_sources(self, service_id: str) -> dict[str, bool]:
        """Whether each of a service's sources affects the public status, read for the status page:
        of a source item only its id, kind and setting (IAM lets that function read no more)."""
        keys = query_keys(self._db, self._table, GSI1, "GSI1PK", f"SVC#{service_id}#SRC")
        found = batch_get(self._db, self._table, keys, attributes=STATUS_ATTRIBUTES)
        return {
            item["id"]: counts_on_status(item["source"], item.get("affects_status"))
            for item in map(from_item, found)
        }

    def authenticate(self, token: str) -> Source | None:
        """The source a webhook token belongs to, or None. Cached briefly per warm Lambda."""
        token_hash = hash_token(token)
        hit = self._by_token.get(token_hash)
        if hit and hit[0] > time.monotonic():
            return hit[1]
        record: Source | None = None
        keys = query_keys(self._db, self._table, GSI2, "GSI2PK", f"TOKEN#{token_hash}", limit=1)
        if keys:
            resp = self._db.get_item(TableName=self._table, Key=keys[0], ConsistentRead=True)
            if "Item" in resp:
                candidate = Source.model_validate(from_item(resp["Item"]))
                # The index is eventually consistent: confirm on the item itself, in constant time.
                if hmac.compare_digest(candidate.token_hash, token_hash):
                    record = candidate
        self._by_token[token_hash] = (time.monotonic() + TOKEN_CACHE_SECONDS, record)
        return record

    # internals ----------------------------------------------------------------------------------
    def _source_item(self, record: Source) -> dict[str, Any]:
        return to_item(
            {
                "PK": f"SRC#{record.id}",
                "SK": "SRC",
                "GSI1PK": f"SVC#{record.service_id}#SRC",
                "GSI1SK": f"{iso(record.created_at)}#{record.id}",
                "GSI2PK": f"TOKEN#{record.token_hash}",
                "GSI2SK": "SRC",
                **record.model_dump(mode="json"),
            }
        )

    def _put_if_unchanged(self, current: Source, record: Source) -> None:
        self._db.put_item(
            TableName=self._table,
            Item=self._source_item(record),
            ConditionExpression="token_hash = :h",
            ExpressionAttributeValues=to_item({":h": current.token_hash}),
        )
        self._by_id.pop(record.id, None)
        self._by_token.pop(current.token_hash, None)
