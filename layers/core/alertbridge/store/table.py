"""DynamoDB item codec and pagination shared by the table adapters."""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()

GSI1 = "GSI1"
GSI2 = "GSI2"


def to_item(data: Mapping[str, Any]) -> dict[str, AttributeValueTypeDef]:
    return {k: _serializer.serialize(v) for k, v in data.items()}


def from_item(item: Mapping[str, Any]) -> dict[str, Any]:
    return {k: _plain(_deserializer.deserialize(v)) for k, v in item.items()}


def _plain(value: Any) -> Any:
    """DynamoDB numbers come back as Decimal; our records only hold integers."""
    from decimal import Decimal  # noqa: PLC0415

    if isinstance(value, Decimal):
        return int(value)
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, bytes | bytearray) or hasattr(value, "value"):
        return bytes(getattr(value, "value", value))
    return value


def encode_cursor(key: Mapping[str, Any] | None) -> str | None:
    if not key:
        return None
    return base64.urlsafe_b64encode(json.dumps(key, separators=(",", ":")).encode()).decode()


def decode_cursor(cursor: str | None) -> dict[str, Any] | None:
    if not cursor:
        return None
    try:
        value = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except ValueError as exc:
        raise ValueError("invalid cursor") from exc
    if not isinstance(value, dict):
        raise ValueError("invalid cursor")
    return value


def set_or_remove(changes: Mapping[str, Any]) -> dict[str, Any]:
    """UpdateItem arguments that set each attribute given, or remove it when its value is None
    (back to the model's default). ``changes`` must not be empty."""
    names = {f"#f{i}": name for i, name in enumerate(changes)}
    sets = [f"{n} = :v{i}" for i, (n, name) in enumerate(names.items()) if changes[name] is not None]
    removes = [n for n, name in names.items() if changes[name] is None]
    clauses = ([f"SET {', '.join(sets)}"] if sets else []) + (
        [f"REMOVE {', '.join(removes)}"] if removes else []
    )
    out: dict[str, Any] = {"UpdateExpression": " ".join(clauses), "ExpressionAttributeNames": names}
    values = {f":v{i}": value for i, value in enumerate(changes.values()) if value is not None}
    if values:
        out["ExpressionAttributeValues"] = to_item(values)
    return out


def batch_get(
    client: DynamoDBClient,
    table: str,
    keys: list[dict[str, Any]],
    *,
    attributes: tuple[str, ...] | None = None,
) -> list[dict[str, Any]]:
    """Items for keys, in the keys' order (missing ones left out); retries unprocessed keys.
    ``attributes``: only these top-level attributes (they must include PK and SK)."""
    found: dict[tuple[str, str], dict[str, Any]] = {}
    request: dict[str, Any] = {"ConsistentRead": True}
    if attributes:
        names = {f"#a{i}": name for i, name in enumerate(attributes)}
        request |= {"ProjectionExpression": ", ".join(names), "ExpressionAttributeNames": names}
    for start in range(0, len(keys), 100):
        pending: list[dict[str, Any]] = keys[start : start + 100]
        while pending:
            wanted: Any = {**request, "Keys": pending}
            resp = client.batch_get_item(RequestItems={table: wanted})
            for item in resp.get("Responses", {}).get(table, []):
                found[(item["PK"]["S"], item["SK"]["S"])] = dict(item)
            unprocessed: dict[str, Any] = dict(resp.get("UnprocessedKeys", {}))
            pending = list(unprocessed.get(table, {}).get("Keys", []))
    return [found[(k["PK"]["S"], k["SK"]["S"])] for k in keys if (k["PK"]["S"], k["SK"]["S"]) in found]


def query_keys(
    client: DynamoDBClient, table: str, index: str, attr: str, value: str, limit: int | None = None
) -> list[dict[str, Any]]:
    """Primary keys of the items under one index partition (all pages, or the first ``limit``)."""
    kwargs: dict[str, Any] = {
        "TableName": table,
        "IndexName": index,
        "KeyConditionExpression": "#k = :v",
        "ExpressionAttributeNames": {"#k": attr},
        "ExpressionAttributeValues": to_item({":v": value}),
    }
    if limit:
        kwargs["Limit"] = limit
        pages: Any = [client.query(**kwargs)]  # the first page only
    else:
        pages = client.get_paginator("query").paginate(**kwargs)
    return [{"PK": i["PK"], "SK": i["SK"]} for page in pages for i in page.get("Items", [])]
