"""moto_ttl: DynamoDB's Time to Live on moto, which records the setting and never applies it."""

from __future__ import annotations

import time
from typing import Any

import boto3
from alertbridge_tools import moto_ttl
from alertbridge_tools.streams import StreamPoller
from alertbridge_tools.template import StreamSource
from botocore.config import Config


def _table(db: Any, name: str, *, ttl: bool) -> str:
    created = db.create_table(
        TableName=name,
        AttributeDefinitions=[{"AttributeName": n, "AttributeType": "S"} for n in ("PK", "SK")],
        KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}, {"AttributeName": "SK", "KeyType": "RANGE"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )
    if ttl:
        db.update_time_to_live(
            TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": "expires_at"}
        )
    return str(created["TableDescription"]["LatestStreamArn"])


def test_expired_items_go_as_deletes_by_the_service_and_nothing_else_does(aws: None) -> None:
    db = boto3.client("dynamodb", region_name="us-east-1")
    arn = _table(db, "kept", ttl=True)
    _table(db, "no-ttl", ttl=False)
    now = time.time()
    items = {
        "expired": {"expires_at": {"N": str(int(now - 10))}},
        "future": {"expires_at": {"N": str(int(now + 3600))}},
        "a-string": {"expires_at": {"S": str(int(now - 10))}},  # not a Number: ignored
        "none": {},
        "ancient": {"expires_at": {"N": str(int(now - 6 * 365 * 24 * 3600))}},  # over 5 years: ignored
    }
    for key, attrs in items.items():
        db.put_item(TableName="kept", Item={"PK": {"S": key}, "SK": {"S": "x"}, **attrs})
    db.put_item(TableName="no-ttl", Item={"PK": {"S": "expired"}, "SK": {"S": "x"}, **items["expired"]})

    assert moto_ttl.sweep(now) == 1
    left = {i["PK"]["S"] for i in db.scan(TableName="kept")["Items"]}
    assert left == set(items) - {"expired"}
    assert db.scan(TableName="no-ttl")["Count"] == 1
    assert moto_ttl.sweep(now) == 0

    seen: list[dict[str, Any]] = []

    def handler(event: dict[str, Any], _context: Any) -> dict[str, Any]:
        seen.extend(event["Records"])
        return {"batchItemFailures": []}

    streams = boto3.client(
        "dynamodbstreams", region_name="us-east-1", config=Config(account_id_endpoint_mode="disabled")
    )
    source = StreamSource(
        function="F",
        stream_arn=arn,
        starting_position="TRIM_HORIZON",
        batch_size=100,
        batching_window=0,
        report_failures=True,
        bisect=False,
        max_retries=0,
        max_record_age=-1,
        filters=['{"eventName": ["REMOVE"]}'],
        on_failure_queue_url=None,
    )
    StreamPoller(streams, None, source, handler).drain()
    [removed] = seen
    assert removed["dynamodb"]["Keys"]["PK"]["S"] == "expired"
    assert removed["userIdentity"] == {"type": "Service", "principalId": "dynamodb.amazonaws.com"}
    assert "NewImage" not in removed["dynamodb"] and removed["dynamodb"]["OldImage"]["PK"]["S"] == "expired"
