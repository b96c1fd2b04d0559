"""What the public status page keeps of its own: its settings, and the public updates operators
post about incidents. Both live under ``PUB#`` partitions, apart from the incidents and sources, so
the status function reads them without being able to read anything vendor- or secret-bearing.

- settings: ``PK = PUB#PAGE``, ``SK = SETTINGS`` (absent: the defaults);
- public updates of an incident: ``PK = PUB#<incident id>``, ``SK = UPDATES``, a list appended to
  with one UpdateItem (``list_append``): concurrent posts are all kept, and the list is capped.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from alertbridge.models.records import PublicUpdate, StatusPageSettings
from alertbridge.store.table import batch_get, from_item, set_or_remove, to_item

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

MAX_UPDATES = 50  # public updates per incident
SETTINGS_KEY = {"PK": "PUB#PAGE", "SK": "SETTINGS"}


class TooManyUpdates(Exception):
    """The incident has MAX_UPDATES public updates already."""


def _updates_key(incident_id: str) -> dict[str, str]:
    return {"PK": f"PUB#{incident_id}", "SK": "UPDATES"}


class StatusPageStore:
    def __init__(self, client: DynamoDBClient, table: str) -> None:
        self._db = client
        self._table = table

    def settings(self) -> StatusPageSettings:
        found = batch_get(self._db, self._table, [to_item(SETTINGS_KEY)])
        return StatusPageSettings.model_validate(from_item(found[0]) if found else {})

    def change_settings(self, changes: dict[str, Any]) -> StatusPageSettings:
        """Set some settings (one UpdateItem); a None value goes back to the default."""
        StatusPageSettings.model_validate({k: v for k, v in changes.items() if v is not None})
        if not changes:
            return self.settings()
        kwargs: dict[str, Any] = {
            "TableName": self._table,
            "Key": to_item(SETTINGS_KEY),
            "ReturnValues": "ALL_NEW",
            **set_or_remove(changes),
        }
        resp = self._db.update_item(**kwargs)
        return StatusPageSettings.model_validate(from_item(resp.get("Attributes", {})))

    def add_update(self, incident_id: str, update: PublicUpdate) -> list[PublicUpdate]:
        """Append a public update (all of the incident's, oldest first, are returned)."""
        try:
            resp = self._db.update_item(
                TableName=self._table,
                Key=to_item(_updates_key(incident_id)),
                UpdateExpression="SET updates = list_append(if_not_exists(updates, :empty), :new), "
                "incident_id = :id",
                ConditionExpression="attribute_not_exists(updates) OR size(updates) < :cap",
                ExpressionAttributeValues=to_item(
                    {
                        ":empty": [],
                        ":new": [update.model_dump(mode="json", exclude_none=True)],
                        ":id": incident_id,
                        ":cap": MAX_UPDATES,
                    }
                ),
                ReturnValues="ALL_NEW",
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                raise TooManyUpdates(f"the incident has {MAX_UPDATES} public updates already") from None
            raise
        return [PublicUpdate.model_validate(u) for u in from_item(resp["Attributes"])["updates"]]

    def updates(self, incident_ids: Iterable[str]) -> dict[str, list[PublicUpdate]]:
        """The public updates of each of these incidents that has any (oldest first)."""
        keys = [to_item(_updates_key(i)) for i in dict.fromkeys(incident_ids)]
        out: dict[str, list[PublicUpdate]] = {}
        for item in map(from_item, batch_get(self._db, self._table, keys)):
            out[item["incident_id"]] = [PublicUpdate.model_validate(u) for u in item.get("updates", [])]
        return out
