"""Raw deliveries: every authenticated webhook body, kept with its outcome.

Cost first: a delivery is one DynamoDB item (about 1 WRU per KiB) holding the zlib-compressed body,
expiring by TTL, and nothing else: no index entry. Its source's deliveries share one partition
(``PK = DLV#<source id>``), sorted by the time-ordered delivery id, so listing them is a Query of the
table itself; the delivery id names its source (``dlv_<time><random>.<source id>``), so a delivery
is found from its id alone. Bodies that do not fit the item even compressed go to S3 instead (rare;
S3 PUTs cost $5 per million, so never the default path).
"""

from __future__ import annotations

import json
import secrets
import zlib
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import cache
from typing import TYPE_CHECKING, Any

from alertbridge.store.sources import NotFound
from alertbridge.store.table import decode_cursor, encode_cursor, from_item, to_item
from alertbridge.timestamps import now

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient
    from mypy_boto3_s3.client import S3Client

    from alertbridge.models.delivery import DeliveryRecord

ITEM_BUDGET = 380 * 1024  # what one delivery item may use of DynamoDB's 400 KB (the rest: names, overhead)
PAGE_READ = 200  # items a filtered listing reads per query (DynamoDB also stops each at 1 MB)
OUTCOMES_INLINE = 10  # more outcomes than this are kept zlib-compressed (100: ~12 KB -> ~3 KB)
# Headers worth keeping; anything that may carry a credential (Authorization, cookies, our token
# header, signatures are kept only as present/absent) never reaches storage.
SAFE_HEADERS = frozenset(
    {"content-type", "content-length", "user-agent", "x-forwarded-for", "x-amzn-trace-id", "content-encoding"}
)
SECRET_HEADERS = frozenset({"authorization", "heroku-webhook-hmac-sha256", "x-alertbridge-token", "cookie"})


def new_delivery_id(source_id: str) -> str:
    """Time-ordered (11 hex digits of milliseconds first), random, and naming its source."""
    return f"dlv_{int(now().timestamp() * 1000):011x}{secrets.token_hex(5)}.{source_id}"


def _key(delivery_id: str) -> dict[str, str]:
    prefix, _, source_id = delivery_id.partition(".")
    if not prefix.startswith("dlv_") or not source_id.startswith("src_"):
        raise NotFound(f"delivery {delivery_id} not found")
    return {"PK": f"DLV#{source_id}", "SK": delivery_id}


def safe_headers(headers: dict[str, str]) -> dict[str, str]:
    kept = {k: v[:512] for k, v in headers.items() if k in SAFE_HEADERS}
    kept.update({k: "<present>" for k in headers if k in SECRET_HEADERS})
    return kept


class DeliveryStore:
    def __init__(
        self,
        client: DynamoDBClient,
        table: str,
        s3: Callable[[], S3Client] | None,
        bucket: str | None,
        retention_days: int,
    ) -> None:
        """``s3`` gives the S3 client when a body first needs it: creating one costs about a tenth
        of an ingest cold start, and only bodies that do not fit an item ever need it."""
        self._db = client
        self._table = table
        self._s3 = s3 if bucket else None
        self._bucket = bucket
        self._retention = timedelta(days=retention_days)

    def put(self, record: DeliveryRecord, body: bytes) -> None:
        """Keep the delivery and its raw bytes. Raises on failure: the caller answers 5xx.

        A DynamoDB item holds at most 400 KB: a large batch's per-alert outcomes are kept
        compressed, and the body goes to S3 whenever item and body together would not fit.
        """
        data = record.model_dump(mode="json")
        item: dict[str, Any] = {
            **_key(record.id),
            "expires_at": int((record.received_at + self._retention).timestamp()),
            **data,
        }
        if len(data["alerts"]) > OUTCOMES_INLINE:
            item["alerts"] = []
            item["alerts_zz"] = zlib.compress(json.dumps(data["alerts"], separators=(",", ":")).encode(), 6)
        packed = zlib.compress(body, 6)
        room = ITEM_BUDGET - len(json.dumps({k: v for k, v in item.items() if k != "alerts_zz"}, default=str))
        room -= len(item.get("alerts_zz", b""))
        if len(packed) <= room or self._s3 is None or not self._bucket:
            item["body"] = packed[: max(room, 0)]
            item["body_truncated"] = len(packed) > room
        else:
            key = f"raw/{record.received_at:%Y/%m/%d}/{record.id}.zz"
            self._s3().put_object(Bucket=self._bucket, Key=key, Body=packed)
            item["body_s3_key"] = key
        self._db.put_item(TableName=self._table, Item=to_item(item))

    def get(self, delivery_id: str) -> tuple[DeliveryRecord, bytes]:
        resp = self._db.get_item(TableName=self._table, Key=to_item(_key(delivery_id)), ConsistentRead=True)
        if "Item" not in resp:
            raise NotFound(f"delivery {delivery_id} not found")
        data = from_item(resp["Item"])
        if "body_s3_key" in data and self._s3 is not None and self._bucket:
            packed = self._s3().get_object(Bucket=self._bucket, Key=data["body_s3_key"])["Body"].read()
        else:
            packed = data.get("body", b"")
        body = zlib.decompressobj().decompress(packed) if packed else b""
        return _model().model_validate(_record(data)), body

    def latest_at(self, source_id: str) -> datetime | None:
        """When the source's latest delivery arrived (any outcome), or None: one item read."""
        resp = self._db.query(
            TableName=self._table,
            KeyConditionExpression="PK = :pk",
            ExpressionAttributeValues=to_item({":pk": f"DLV#{source_id}"}),
            ProjectionExpression="received_at",
            ScanIndexForward=False,
            Limit=1,
            ConsistentRead=True,
        )
        items = resp.get("Items", [])
        return datetime.fromisoformat(items[0]["received_at"]["S"]) if items else None

    def list_for_source(
        self, source_id: str, *, limit: int = 50, cursor: str | None = None, only: str | None = None
    ) -> tuple[list[DeliveryRecord], str | None]:
        """Newest first, without their bodies. ``only``: 'rejected', 'suppressed' or 'unpublished'.

        The filter applies before the limit: DynamoDB's ``Limit`` counts the items a page reads,
        before its ``FilterExpression``, so this reads on, page after page, until ``limit`` items
        matched or the partition ends. The cursor (None at the end) resumes after the last item
        returned."""
        kwargs: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "PK = :pk",
            "ExpressionAttributeValues": to_item({":pk": f"DLV#{source_id}"}),
            "ProjectionExpression": ", ".join(f"#{name}" for name in _listed()),
            "ExpressionAttributeNames": {f"#{name}": name for name in _listed()},
            "ScanIndexForward": False,
            "Limit": max(limit, PAGE_READ) if only else limit,
        }
        if only in ("rejected", "suppressed"):
            kwargs["FilterExpression"] = "outcome = :o"
            kwargs["ExpressionAttributeValues"].update(to_item({":o": only}))
        elif only == "unpublished":
            kwargs["FilterExpression"] = "published = :f AND outcome = :a"
            kwargs["ExpressionAttributeValues"].update(to_item({":f": False, ":a": "accepted"}))
        start = decode_cursor(cursor)
        records: list[DeliveryRecord] = []
        model = _model()
        while True:
            if start:
                kwargs["ExclusiveStartKey"] = start
            resp = self._db.query(**kwargs)
            records += [model.model_validate(_record(from_item(i))) for i in resp.get("Items", [])]
            start = resp.get("LastEvaluatedKey")
            if len(records) >= limit or not start:
                break
        if len(records) > limit:  # the last page matched more than asked for: resume after the last kept
            records = records[:limit]
            start = self.key_of(records[-1].id)
        return records, encode_cursor(start)

    def list_for_sources(
        self, source_ids: list[str], *, limit: int = 50, cursor: str | None = None, only: str | None = None
    ) -> tuple[list[DeliveryRecord], str | None]:
        """Newest first across several sources' partitions, filter before limit, as
        ``list_for_source``. The cursor holds each source's position (None: every one ended)."""
        positions: dict[str, Any] = decode_cursor(cursor) or {}
        pages: dict[str, tuple[list[DeliveryRecord], str | None]] = {}
        for source_id in source_ids:
            position = positions.get(source_id)
            if position != _DONE_MARK:
                pages[source_id] = self.list_for_source(source_id, limit=limit, cursor=position, only=only)
        merged = sorted(
            (r for page, _ in pages.values() for r in page), key=lambda r: (r.received_at, r.id), reverse=True
        )[:limit]
        taken = {r.id for r in merged}
        after: dict[str, Any] = {sid: pos for sid, pos in positions.items() if sid in source_ids}
        for source_id, (page, next_cursor) in pages.items():
            kept = [r for r in page if r.id in taken]
            if len(kept) == len(page):
                after[source_id] = next_cursor or _DONE_MARK
            elif kept:
                after[source_id] = encode_cursor(self.key_of(kept[-1].id))
        if all(after.get(sid) == _DONE_MARK for sid in source_ids):
            return merged, None
        return merged, encode_cursor(after)

    @staticmethod
    def key_of(delivery_id: str) -> dict[str, Any]:
        """A delivery's table key as DynamoDB writes it, e.g. to resume a listing after it."""
        return dict(to_item(_key(delivery_id)))


_DONE_MARK = "end"  # in a several-source cursor: that source has nothing more


def _model() -> type[DeliveryRecord]:
    """The record's model, loaded when a record is first read or listed: the checker, which only
    asks when a source last sent something, never builds its validators at init."""
    from alertbridge.models.delivery import DeliveryRecord  # noqa: PLC0415

    return DeliveryRecord


@cache
def _listed() -> tuple[str, ...]:
    """What a listing reads of a delivery: the record, not the body."""
    return (*_model().model_fields, "alerts_zz")


def _record(data: dict[str, Any]) -> dict[str, Any]:
    if "alerts_zz" in data:
        data["alerts"] = json.loads(zlib.decompress(data.pop("alerts_zz")))
    return data
