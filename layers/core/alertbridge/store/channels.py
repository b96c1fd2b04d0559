"""Notification channels and escalation policies of services, in the one table.

A channel item keeps its rule and a masked view in the clear, and its targets (URL, secret,
routing key, address, number) only sealed with KMS (``store.kms``): listing or showing channels
never decrypts, and only the functions allowed to use the key can send. An email or SMS channel
is also a subscription to the notifications topic (``store.topic``), made before the item is
written and removed with it.

The notifier reads a service's channels and escalation for every event: ``cached=True`` keeps
them 30 s per warm Lambda (one Query and one KMS call per channel then, not per event), so a
removed channel may still get messages for that long.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, cast

from alertbridge.models.channel import Channel, ChannelKind, ChannelView
from alertbridge.notify.policy import EscalationStep
from alertbridge.store.sources import NotFound
from alertbridge.store.table import GSI1, batch_get, from_item, query_keys, to_item
from alertbridge.timestamps import iso

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

    from alertbridge.store.kms import Sealer
    from alertbridge.store.topic import Topic

SECRET_FIELDS = ("url", "secret", "routing_key", "address", "number")
CACHE_SECONDS = 30.0
_SNS_PROTOCOLS = {ChannelKind.EMAIL: ("email", "address"), ChannelKind.SMS: ("sms", "number")}


class ChannelStore:
    def __init__(self, client: DynamoDBClient, table: str, sealer: Sealer, topic: Topic | None) -> None:
        self._db = client
        self._table = table
        self._sealer = sealer
        self._topic = topic
        self._cache: dict[tuple[str, str], tuple[float, Any]] = {}

    # channels -----------------------------------------------------------------------------------
    def add(self, channel: Channel) -> None:
        """Store a new channel (subscribing an email or SMS target to the topic first)."""
        subscription: str | None = None
        if channel.kind in _SNS_PROTOCOLS:
            protocol, field = _SNS_PROTOCOLS[channel.kind]
            subscription = self._need_topic().subscribe(channel.id, protocol, getattr(channel, field))
        targets = {f: getattr(channel, f) for f in SECRET_FIELDS if getattr(channel, f) is not None}
        item: dict[str, Any] = {
            "PK": _pk(channel.id),
            "SK": "CH",
            "GSI1PK": _index_pk(channel.service_id),
            "GSI1SK": f"{iso(channel.created_at)}#{channel.id}",
            **channel.model_dump(mode="json", exclude=set(SECRET_FIELDS)),
            "view": channel.masked_view().model_dump(mode="json"),
            "sealed": self._sealer.seal(channel.id, targets),
        }
        if subscription:
            item["subscription_arn"] = subscription
        try:
            self._db.put_item(
                TableName=self._table, Item=to_item(item), ConditionExpression="attribute_not_exists(PK)"
            )
        except Exception:
            if subscription:
                self._need_topic().unsubscribe(subscription)
            raise

    def get(self, channel_id: str, *, cached: bool = False) -> Channel:
        """The channel with its targets opened (for sending)."""
        return self._cached(("ch", channel_id), cached, lambda: self._open(self._item(channel_id)))

    def view(self, channel_id: str) -> ChannelView:
        return ChannelView.model_validate(self._item(channel_id)["view"])

    def views(self, service_id: str) -> list[ChannelView]:
        return [ChannelView.model_validate(i["view"]) for i in self._items(service_id)]

    def for_service(self, service_id: str, *, cached: bool = False) -> list[Channel]:
        """A service's channels with their targets opened (for sending), oldest first."""
        return self._cached(
            ("svc", service_id), cached, lambda: [self._open(i) for i in self._items(service_id)]
        )

    def remove(self, channel_id: str) -> ChannelView:
        item = self._item(channel_id)
        if item.get("subscription_arn"):
            self._need_topic().unsubscribe(item["subscription_arn"])
        self._db.delete_item(TableName=self._table, Key=to_item({"PK": _pk(channel_id), "SK": "CH"}))
        return ChannelView.model_validate(item["view"])

    # escalation ---------------------------------------------------------------------------------
    def set_escalation(self, service_id: str, steps: Sequence[EscalationStep]) -> None:
        key = {"PK": f"SVC#{service_id}", "SK": "ESC"}
        if not steps:
            self._db.delete_item(TableName=self._table, Key=to_item(key))
            return
        rows = [{"after_seconds": s.after_seconds, "channel_ids": list(s.channel_ids)} for s in steps]
        self._db.put_item(
            TableName=self._table, Item=to_item({**key, "service_id": service_id, "steps": rows})
        )

    def escalation(self, service_id: str, *, cached: bool = False) -> list[EscalationStep]:
        def read() -> list[EscalationStep]:
            resp = self._db.get_item(
                TableName=self._table,
                Key=to_item({"PK": f"SVC#{service_id}", "SK": "ESC"}),
                ConsistentRead=True,
            )
            rows = from_item(resp["Item"])["steps"] if "Item" in resp else []
            return [EscalationStep(r["after_seconds"], tuple(r["channel_ids"])) for r in rows]

        return self._cached(("esc", service_id), cached, read)

    # internals ----------------------------------------------------------------------------------
    def _item(self, channel_id: str) -> dict[str, Any]:
        resp = self._db.get_item(
            TableName=self._table, Key=to_item({"PK": _pk(channel_id), "SK": "CH"}), ConsistentRead=True
        )
        if "Item" not in resp:
            raise NotFound(f"channel {channel_id} not found")
        return from_item(resp["Item"])

    def _items(self, service_id: str) -> list[dict[str, Any]]:
        keys = query_keys(self._db, self._table, GSI1, "GSI1PK", _index_pk(service_id))
        return [from_item(i) for i in batch_get(self._db, self._table, keys)]

    def _open(self, item: dict[str, Any]) -> Channel:
        plain = {k: v for k, v in item.items() if k in Channel.model_fields}
        return Channel.model_validate({**plain, **self._sealer.open(item["id"], item["sealed"])})

    def _cached[T](self, key: tuple[str, str], cached: bool, read: Callable[[], T]) -> T:
        hit = self._cache.get(key)
        if cached and hit and hit[0] > time.monotonic():
            return cast(T, hit[1])
        value = read()
        self._cache[key] = (time.monotonic() + CACHE_SECONDS, value)
        return value

    def _need_topic(self) -> Topic:
        if self._topic is None:
            raise RuntimeError("email and SMS channels need NOTIFICATIONS_TOPIC_ARN on this function")
        return self._topic


def _pk(channel_id: str) -> str:
    return f"CH#{channel_id}"


def _index_pk(service_id: str) -> str:
    return f"SVC#{service_id}#CH"
