"""DynamoDB capacity as AWS bills it, computed from the requests themselves (moto reports fixed
numbers): an item's size per the DynamoDB rules, WRU = ceil(size / 1 KiB) per write (x2 in a
transaction), one more per global secondary index entry written or removed, RRU = ceil(size / 4 KiB)
per strongly consistent read."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


def _indexes() -> dict[str, tuple[tuple[str, ...], tuple[str, ...]]]:
    """Index name -> (key attributes, projected non-key attributes), as template.yaml defines them."""
    from alertbridge_tools.template import load_template

    table = load_template()["Resources"]["Table"]["Properties"]
    return {
        index["IndexName"]: (
            tuple(k["AttributeName"] for k in index["KeySchema"]),
            tuple(index["Projection"].get("NonKeyAttributes", ())),
        )
        for index in table["GlobalSecondaryIndexes"]
    }


INDEXES = _indexes()


def value_size(value: dict[str, Any]) -> int:
    ((kind, v),) = value.items()
    if kind == "S":
        return len(v.encode())
    if kind == "N":
        digits = len(str(v).lstrip("-").replace(".", "").lstrip("0")) or 1
        return math.ceil(digits / 2) + 1
    if kind == "B":
        return math.ceil(len(v) * 3 / 4)  # base64 on the wire
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "L":
        return 3 + sum(1 + value_size(x) for x in v)
    if kind == "M":
        return 3 + sum(1 + len(k.encode()) + value_size(x) for k, x in v.items())
    if kind in ("SS", "NS", "BS"):
        return sum(value_size({kind[0]: x}) for x in v)
    raise ValueError(kind)


def item_size(item: dict[str, Any]) -> int:
    return sum(len(name.encode()) + value_size(value) for name, value in item.items())


def _key(item: dict[str, Any]) -> tuple[str, str]:
    return item["PK"]["S"], item.get("SK", {}).get("S", "")


def _projection(item: dict[str, Any], index: str) -> tuple[Any, ...] | None:
    keys, extra = INDEXES[index]
    if not all(k in item for k in keys):
        return None
    return tuple(json.dumps(item.get(a), sort_keys=True) for a in (*keys, *extra))


class Capacity:
    def __init__(self) -> None:
        self.wru = 0.0
        self.rru = 0.0
        self._items: dict[tuple[str, str], dict[str, Any]] = {}

    def put(self, item: dict[str, Any], transactional: bool = False) -> None:
        units = max(1, math.ceil(item_size(item) / 1024)) * (2 if transactional else 1)
        before = self._items.get(_key(item), {})
        for index in INDEXES:
            old, new = _projection(before, index), _projection(item, index)
            if old != new:
                units += (old is not None) + (new is not None)
        self.wru += units
        self._items[_key(item)] = item

    def update(self, key: dict[str, Any]) -> None:
        before = self._items.get(_key(key), key)
        self.wru += max(1, math.ceil(item_size(before) / 1024))

    def read(self, items: list[dict[str, Any]], consistent: bool) -> None:
        size = sum(item_size(i) for i in items)
        self.rru += max(1, math.ceil(size / 4096)) * (1 if consistent else 0.5)


@contextmanager
def measure(client: Any) -> Iterator[Capacity]:
    capacity = Capacity()
    pending: dict[int, dict[str, Any]] = {}

    def before(params: dict[str, Any], context: dict[str, Any], **kwargs: Any) -> None:
        request = json.loads(params.get("body") or b"{}")
        op = kwargs["event_name"].rsplit(".", 1)[1]
        if op == "PutItem":
            capacity.put(request["Item"])
        elif op == "UpdateItem":
            capacity.update(request["Key"])
        elif op == "TransactWriteItems":
            for part in request["TransactItems"]:
                if "Put" in part:
                    capacity.put(part["Put"]["Item"], transactional=True)
                else:
                    capacity.wru += 2  # a transactional condition check
        elif op in ("Query", "GetItem", "BatchGetItem"):
            pending[id(context)] = request

    def after(parsed: dict[str, Any], context: dict[str, Any], **kwargs: Any) -> None:
        request = pending.pop(id(context), None)
        if request is None:
            return
        op = kwargs["event_name"].rsplit(".", 1)[1]
        if op == "GetItem":
            capacity.read([parsed["Item"]] if "Item" in parsed else [], bool(request.get("ConsistentRead")))
        elif op == "Query":
            capacity.read(parsed.get("Items", []), bool(request.get("ConsistentRead")))
        else:
            for items in parsed.get("Responses", {}).values():
                for item in items:
                    capacity.read([item], True)

    client.meta.events.register("before-call.dynamodb", before)
    client.meta.events.register("after-call.dynamodb", after)
    try:
        yield capacity
    finally:
        client.meta.events.unregister("before-call.dynamodb", before)
        client.meta.events.unregister("after-call.dynamodb", after)
