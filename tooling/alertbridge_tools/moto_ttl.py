"""DynamoDB's Time to Live, which moto records (``UpdateTimeToLive``) but never applies (local
only: the emulator and the tests; never loaded by a Lambda).

DynamoDB deletes an item once the epoch second in its TTL attribute has passed (within a few days
on AWS; here at the next sweep), as a delete by the service: its stream record is a ``REMOVE``
whose ``userIdentity`` is the service (``Type`` Service, ``PrincipalId`` dynamodb.amazonaws.com;
Lambda's event spells them ``type`` and ``principalId``). An
attribute that is not a Number, or a time more than five years in the past, is ignored, as
DynamoDB ignores it. Without this, a long-running local stack kept every raw delivery, sent mark
and digest entry past its expiry, in memory and in every snapshot of its data directory.
"""

from __future__ import annotations

from typing import Any

from moto.dynamodb.models import dynamodb_backends

SERVICE = {"Type": "Service", "PrincipalId": "dynamodb.amazonaws.com"}  # as GetRecords answers it
OLDEST = 5 * 365 * 24 * 3600  # seconds: older expiry times are not deleted (DynamoDB's rule)


def _expired(value: Any, now: float) -> bool:
    if value is None or value.type != "N":
        return False
    try:
        at = float(value.value)
    except ValueError:
        return False
    return now - OLDEST <= at < now


def sweep(now: float) -> int:
    """Delete the expired items of every table whose TTL is enabled; how many were deleted. The
    caller holds the emulator's DynamoDB lock (no call runs inside moto's tables meanwhile)."""
    deleted = 0
    for regions in dynamodb_backends.values():
        for backend in regions.values():
            for table in backend.tables.values():
                if table.ttl.get("TimeToLiveStatus") != "ENABLED":
                    continue
                name = table.ttl["AttributeName"]
                expired = [item for item in table.all_items() if _expired(item.attrs.get(name), now)]
                for item in expired:
                    table.delete_item(item.hash_key, item.range_key)
                    if table.stream_shard is not None:
                        table.stream_shard.items[-1].record["userIdentity"] = dict(SERVICE)
                deleted += len(expired)
    return deleted
