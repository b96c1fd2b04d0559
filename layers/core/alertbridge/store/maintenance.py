"""Maintenance windows of services, in the one table, next to their service.

A window is its own item in its service's partition (``PK = SVC#<service>``, ``SK = MW#<id>``), so a
service's windows are one Query, and adding or removing one never rewrites the others. The keys-only
GSI2 finds a window by its id (``MW#<id>``) for ``remove``. A one-off window expires (TTL) 30 days
after its end.

Ingest and the notifier read a service's windows for every alert or event: ``cached=True`` keeps
them 60 s per warm Lambda, on alertbridge's clock (``timestamps.now``, which tests fast-forward),
so a change takes effect within 60 s.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from alertbridge.store.sources import NotFound
from alertbridge.store.table import GSI2, from_item, query_keys, to_item
from alertbridge.timestamps import now

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

    from alertbridge.maintenance import Window

CACHE = timedelta(seconds=60)
KEEP_ENDED = timedelta(days=30)  # a one-off window is listed this long after its end


class TooMany(ValueError):
    """A service has MAX_WINDOWS windows already."""


class MaintenanceStore:
    def __init__(self, client: DynamoDBClient, table: str) -> None:
        self._db = client
        self._table = table
        self._cache: dict[str, tuple[datetime, list[Window]]] = {}

    def add(self, window: Window) -> None:
        from alertbridge.maintenance import MAX_WINDOWS  # noqa: PLC0415

        if len(self.for_service(window.service_id)) >= MAX_WINDOWS:
            raise TooMany(f"service {window.service_id} has {MAX_WINDOWS} maintenance windows already")
        item: dict[str, Any] = {
            "PK": f"SVC#{window.service_id}",
            "SK": f"MW#{window.id}",
            "GSI2PK": f"MW#{window.id}",
            "GSI2SK": "MW",
            **window.model_dump(mode="json", exclude_defaults=True),
        }
        if window.end is not None:
            item["expires_at"] = int((window.end + KEEP_ENDED).timestamp())
        self._db.put_item(
            TableName=self._table, Item=to_item(item), ConditionExpression="attribute_not_exists(PK)"
        )
        self._cache.pop(window.service_id, None)

    def for_service(self, service_id: str, *, cached: bool = False) -> list[Window]:
        """A service's windows, oldest first. ``cached``: as read at most 60 s ago in this
        container (eventually consistent then; a fresh, strongly consistent read otherwise)."""
        at = now()
        hit = self._cache.get(service_id)
        if cached and hit and hit[0] > at:
            return hit[1]
        resp = self._db.query(
            TableName=self._table,
            KeyConditionExpression="PK = :pk AND begins_with(SK, :mw)",
            ExpressionAttributeValues=to_item({":pk": f"SVC#{service_id}", ":mw": "MW#"}),
            ConsistentRead=not cached,
        )
        windows = sorted(
            (_window(from_item(i)) for i in resp.get("Items", [])), key=lambda w: (w.created_at, w.id)
        )
        self._cache[service_id] = (at + CACHE, windows)
        return windows

    def in_window(self, service_id: str, at: datetime) -> bool:
        """Whether one of the service's windows (as read at most 60 s ago) is active at ``at``."""
        windows = self.for_service(service_id, cached=True)
        if not windows:
            return False
        from alertbridge import maintenance  # noqa: PLC0415  (loaded by the first service with windows)

        return maintenance.active_window(windows, at) is not None

    def get(self, window_id: str) -> Window:
        keys = query_keys(self._db, self._table, GSI2, "GSI2PK", f"MW#{window_id}", limit=1)
        found = (
            self._db.get_item(TableName=self._table, Key=keys[0], ConsistentRead=True).get("Item")
            if keys
            else None
        )
        if not found:
            raise NotFound(f"maintenance window {window_id} not found")
        return _window(from_item(found))

    def remove(self, window_id: str) -> Window:
        window = self.get(window_id)
        self._db.delete_item(
            TableName=self._table, Key=to_item({"PK": f"SVC#{window.service_id}", "SK": f"MW#{window.id}"})
        )
        self._cache.pop(window.service_id, None)
        return window


def _window(item: dict[str, Any]) -> Window:
    # Loaded with the first window read: an ingest function whose services have none never builds it.
    from alertbridge.maintenance import Window  # noqa: PLC0415

    return Window.model_validate({k: v for k, v in item.items() if k in Window.model_fields})
