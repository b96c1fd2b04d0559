"""A service's alert rules: one item per service (``RULES#<service id>`` / ``RULES``) holding the
ordered set and its version, so a read is one GetItem and a change (add, move, remove) is one put on
the condition that the version is still the one read (optimistic concurrency).

The ingest functions read the set of every delivery's service through ``get(..., cached=True)``:
kept for ``CACHE_SECONDS`` of ``alertbridge.timestamps.now()`` (the tests' controlled clock moves
it), so a change takes effect everywhere within a minute, for one read per service a minute.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from alertbridge.store.table import from_item, to_item
from alertbridge.timestamps import now

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

    from alertbridge.models.rule import RuleSet

CACHE_SECONDS = 60.0


class RuleStore:
    def __init__(self, client: DynamoDBClient, table: str) -> None:
        self._db = client
        self._table = table
        self._cache: dict[str, tuple[datetime, RuleSet | None]] = {}

    @staticmethod
    def key(service_id: str) -> dict[str, Any]:
        return to_item({"PK": f"RULES#{service_id}", "SK": "RULES"})

    def get(self, service_id: str, *, cached: bool = False) -> RuleSet:
        """The service's rules (an empty set at version 0 when it has none)."""
        from alertbridge.models.rule import RuleSet  # noqa: PLC0415  (see find)

        found = self.find(service_id, cached=cached)
        return found if found is not None else RuleSet.model_construct(service_id=service_id)

    def find(self, service_id: str, *, cached: bool = False) -> RuleSet | None:
        """The service's rules, or None when it never had any: what ingest asks of every delivery.
        The rule models load with the first service that has rules, not in every cold start."""
        hit = self._cache.get(service_id)
        moment = now()
        if cached and hit and hit[0] > moment:
            return hit[1]
        resp = self._db.get_item(TableName=self._table, Key=self.key(service_id), ConsistentRead=True)
        found = None
        if "Item" in resp:
            from alertbridge.models.rule import RuleSet  # noqa: PLC0415

            found = RuleSet.model_validate(from_item(resp["Item"]))
        self._cache[service_id] = (moment + timedelta(seconds=CACHE_SECONDS), found)
        return found

    def save(self, rule_set: RuleSet, expected_version: int) -> RuleSet:
        """Write ``rule_set`` as version ``expected_version + 1``; ``Conflict`` when the stored set is
        no longer at ``expected_version`` (someone changed it since it was read)."""
        from alertbridge.store.incidents import Conflict  # noqa: PLC0415  (management only)

        saved = rule_set.model_copy(update={"version": expected_version + 1, "updated_at": now()})
        condition: dict[str, Any] = (
            {
                "ConditionExpression": "version = :v",
                "ExpressionAttributeValues": to_item({":v": expected_version}),
            }
            if expected_version
            else {"ConditionExpression": "attribute_not_exists(PK)"}
        )
        try:
            self._db.put_item(
                TableName=self._table,
                Item=to_item(
                    {"PK": f"RULES#{saved.service_id}", "SK": "RULES", **saved.model_dump(mode="json")}
                ),
                **condition,
            )
        except self._db.exceptions.ConditionalCheckFailedException as exc:
            raise Conflict(
                f"the rules of {saved.service_id} changed since version {expected_version}"
            ) from exc
        self._cache.pop(saved.service_id, None)
        return saved
