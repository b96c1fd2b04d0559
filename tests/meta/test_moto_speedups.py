"""The emulator's faster moto internals (alertbridge_tools.moto_speedups) answer what moto's own do:
each replacement is compared with the original on the same queue states (visible, in flight,
delayed messages; a FIFO queue; a queue with a redrive policy)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from alertbridge_tools import moto_speedups
from botocore.config import Config
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID
from moto.sqs.exceptions import InvalidAttributeName, ReceiptHandleIsInvalid
from moto.sqs.models import sqs_backends

REGION = "us-east-1"


@pytest.fixture
def sqs() -> Iterator[Any]:
    assert moto_speedups.apply()
    with mock_aws():
        yield boto3.client("sqs", region_name=REGION)


def _backend() -> Any:
    return sqs_backends[DEFAULT_ACCOUNT_ID][REGION]


def _mixed_queue(sqs: Any, name: str, **attributes: str) -> Any:
    """A queue holding visible, in-flight and delayed messages; its moto model."""
    url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    fifo = name.endswith(".fifo")
    for n in range(12):
        extra: dict[str, Any] = (
            {"MessageGroupId": f"g{n % 3}", "MessageDeduplicationId": f"d{n}"}
            if fifo
            else {"DelaySeconds": 300 if n % 4 == 0 else 0}
        )
        sqs.send_message(QueueUrl=url, MessageBody=json.dumps({"n": n}), **extra)
    sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=3, VisibilityTimeout=120)
    return _backend().get_queue(name)


def _both(name: str, new: Any, *args: Any) -> tuple[Any, Any]:
    old = moto_speedups.ORIGINALS[name]
    if isinstance(old, property):
        return old.fget(*args), new.fget(*args)
    return old(*args), new(*args)


@pytest.mark.parametrize(
    ("name", "attributes"),
    [
        ("plain", {"VisibilityTimeout": "180", "MessageRetentionPeriod": "345600"}),
        ("ordered.fifo", {"FifoQueue": "true", "ContentBasedDeduplication": "true"}),
    ],
)
def test_queue_counts_and_attributes_match_moto(sqs: Any, name: str, attributes: dict[str, str]) -> None:
    queue = _mixed_queue(sqs, name, **attributes)
    old, new = _both("Queue.attributes", type(queue).attributes, queue)
    assert old == new
    counts = [new[f"ApproximateNumberOfMessages{k}"] for k in ("", "NotVisible", "Delayed")]
    assert counts == ([6, 3, 3] if name == "plain" else [9, 3, 0])
    old_msgs, new_msgs = _both("Queue.messages", type(queue).messages, queue)
    assert [m.id for m in old_msgs] == [m.id for m in new_msgs]


def test_get_queue_attributes_matches_moto(sqs: Any) -> None:
    dead = sqs.create_queue(QueueName="dead")["QueueUrl"]
    dead_arn = sqs.get_queue_attributes(QueueUrl=dead, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    policy = json.dumps({"deadLetterTargetArn": dead_arn, "maxReceiveCount": 5})
    _mixed_queue(sqs, "live", RedrivePolicy=policy)
    backend = _backend()
    for names in (
        ["All"],
        [],
        ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        ["MessageRetentionPeriod", "RedrivePolicy", "KmsMasterKeyId", "ContentBasedDeduplication"],
    ):
        method = type(backend).get_queue_attributes
        old, new = _both("SQSBackend.get_queue_attributes", method, backend, "live", names)
        assert old == new, names
    original = moto_speedups.ORIGINALS["SQSBackend.get_queue_attributes"]
    for call in (original, type(backend).get_queue_attributes):
        with pytest.raises(InvalidAttributeName):
            call(backend, "live", ["NoSuchAttribute"])


def test_retention_check_matches_moto(sqs: Any) -> None:
    queue = _mixed_queue(sqs, "kept", MessageRetentionPeriod="60")
    backend = _backend()
    fresh = queue._messages[0]
    old_message = queue._messages[1]
    old_message.sent_timestamp -= 61_000  # sent 61 s ago: past the retention period
    name = "SQSBackend.is_message_valid_based_on_retention_period"
    method = type(backend).is_message_valid_based_on_retention_period
    assert _both(name, method, backend, "kept", fresh) == (True, True)
    assert _both(name, method, backend, "kept", old_message) == (False, False)


def test_delete_message_matches_moto(sqs: Any) -> None:
    url = sqs.create_queue(QueueName="work")["QueueUrl"]
    for n in range(5):
        sqs.send_message(QueueUrl=url, MessageBody=str(n))
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=2, VisibilityTimeout=0)["Messages"]
    first = got[0]["ReceiptHandle"]
    sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)  # receives again: `first` is now an old handle
    queue = _backend().get_queue("work")
    sqs.delete_message(QueueUrl=url, ReceiptHandle=first)  # through the replacement
    assert sorted(m.body for m in queue._messages) == sorted(
        str(n) for n in range(5) if str(n) != got[0]["Body"]
    )
    assert first in queue.deleted_messages
    assert not any(m.id == got[0]["MessageId"] for m in queue.pending_messages)
    sqs.delete_message(QueueUrl=url, ReceiptHandle=first)  # again: accepted, nothing changes
    assert len(queue._messages) == 4
    # A handle not remembered (a restart from a snapshot: handed out by the process before) is
    # found moto's way, by walking the queue.
    sqs.send_message(QueueUrl=url, MessageBody="later")  # the others are in flight
    [again] = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1, VisibilityTimeout=30)["Messages"]
    moto_speedups._HANDLES.clear()
    sqs.delete_message(QueueUrl=url, ReceiptHandle=again["ReceiptHandle"])
    assert len(queue._messages) == 4 and again["MessageId"] not in {m.id for m in queue._messages}
    for delete in (moto_speedups.ORIGINALS["Queue.delete_message"], type(queue).delete_message):
        with pytest.raises(ReceiptHandleIsInvalid):
            delete(queue, "not-a-handle")


def test_deleted_handles_are_forgotten_after_the_retention_period(
    sqs: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A second delete of a deleted message's handle still succeeds, as on moto, for the queue's
    retention period from the delete; then the handle is forgotten (moto kept them all for good)."""
    url = sqs.create_queue(QueueName="kept", Attributes={"MessageRetentionPeriod": "60"})["QueueUrl"]
    queue = _backend().get_queue("kept")
    queue.deleted_messages.add("from-a-snapshot")  # remembered before the record of when existed
    clock = [1_000_000.0]
    monkeypatch.setattr(moto_speedups, "_now_ms", lambda: clock[0] * 1000)

    def delete_one(body: str) -> str:
        sqs.send_message(QueueUrl=url, MessageBody=body)
        [got] = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1, VisibilityTimeout=30)["Messages"]
        sqs.delete_message(QueueUrl=url, ReceiptHandle=got["ReceiptHandle"])
        return str(got["ReceiptHandle"])

    first = delete_one("a")
    clock[0] += 30
    second = delete_one("b")
    sqs.delete_message(QueueUrl=url, ReceiptHandle=first)  # again: accepted
    assert {first, second, "from-a-snapshot"} <= queue.deleted_messages
    clock[0] += 31  # 61 s after the first delete, 31 s after the second
    third = delete_one("c")
    assert queue.deleted_messages == {second, third}
    sqs.delete_message(QueueUrl=url, ReceiptHandle=second)  # still within its period
    with pytest.raises(ClientError, match="ReceiptHandleIsInvalid"):
        sqs.delete_message(QueueUrl=url, ReceiptHandle=first)  # forgotten: as moto answers an unknown one


def test_jsonpath_expressions_are_parsed_once() -> None:
    assert moto_speedups.apply()
    import jsonpath_ng.ext

    assert jsonpath_ng.ext.parse("$.detail") is jsonpath_ng.ext.parse("$.detail")
    event = {"detail": {"a": 1}}
    assert [m.value for m in jsonpath_ng.ext.parse("$.detail").find(event)] == [{"a": 1}]


def test_dynamodb_cast_values_and_item_order_match_moto() -> None:
    assert moto_speedups.apply()
    from moto.dynamodb.models.dynamo_type import DynamoType
    from moto.dynamodb.models.table import Table

    original = moto_speedups.ORIGINALS["DynamoType.cast_value"]
    for value in (
        {"S": "x"},
        {"N": "1.50"},
        {"B": "AAE="},
        {"BOOL": True},
        {"NULL": True},
        {"SS": ["a", "b"]},
        {"NS": ["1", "2"]},
        {"L": [{"S": "a"}, {"N": "2"}]},
        {"M": {"k": {"N": "3"}}},
    ):
        typed = DynamoType(value)
        assert typed.cast_value == original.fget(typed), value

    with mock_aws():
        db = boto3.client("dynamodb", region_name=REGION)
        keys = [{"AttributeName": "PK", "KeyType": "HASH"}, {"AttributeName": "SK", "KeyType": "RANGE"}]
        db.create_table(
            TableName="t",
            KeySchema=keys,
            AttributeDefinitions=[{"AttributeName": n, "AttributeType": "S"} for n in ("PK", "SK")],
            BillingMode="PAY_PER_REQUEST",
        )
        db.create_table(
            TableName="n",
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "N"}],
            BillingMode="PAY_PER_REQUEST",
        )
        for n in (17, 3, 250, 42, 3000, 9):
            for sk in ("EP#000002", "EP#000010", "EP#000001", "LEDGER"):
                db.put_item(TableName="t", Item={"PK": {"S": f"INC#{n % 7}#{n}"}, "SK": {"S": sk}})
            db.put_item(TableName="n", Item={"id": {"N": str(n)}})
        from moto.dynamodb.models import dynamodb_backends

        tables = dynamodb_backends[DEFAULT_ACCOUNT_ID][REGION].tables
        for name in ("t", "n"):
            table: Table = tables[name]
            old = moto_speedups.ORIGINALS["Table.all_items"](table)
            new = table.all_items()
            assert [(i.hash_key, i.range_key) for i in old] == [(i.hash_key, i.range_key) for i in new]
        query = moto_speedups.ORIGINALS["Table.query"]
        for pk, forward, limit in (("INC#3#17", False, 1), ("INC#3#17", True, 10), ("INC#0#0", True, 5)):
            args = (
                DynamoType({"S": pk}),
                "BEGINS_WITH",
                [DynamoType({"S": "EP#"})],
                limit,
                None,
                forward,
                None,
            )
            old_items, old_count, old_last = query(tables["t"], *args)
            new_items, new_count, new_last = tables["t"].query(*args)
            assert [i.to_json() for i in old_items] == [i.to_json() for i in new_items]
            assert (old_count, old_last) == (new_count, new_last)
        answer = db.query(
            TableName="t",
            KeyConditionExpression="PK = :pk AND begins_with(SK, :ep)",
            ExpressionAttributeValues={":pk": {"S": "INC#3#17"}, ":ep": {"S": "EP#"}},
            ScanIndexForward=False,
            Limit=1,
        )
        assert answer["Items"] == [{"PK": {"S": "INC#3#17"}, "SK": {"S": "EP#000010"}}]
        assert len(tables["t"].all_items()) == 24  # outside a Query: every item


_EVERY_KIND = {
    "pk": {"S": "svc#1"},
    "sk": {"S": "inc#1"},
    "n": {"N": "12.5"},
    "empty": {"S": ""},
    "yes": {"BOOL": True},
    "no": {"BOOL": False},
    "nothing": {"NULL": True},
    "ss": {"SS": ["a", "b"]},
    "ns": {"NS": ["1", "2"]},
    "m": {"M": {"a": {"S": "x"}, "deep": {"M": {"l": {"L": [{"N": "1"}, {"BOOL": False}]}}}}},
    "l": {"L": [{"S": "y"}, {"M": {}}, {"L": []}]},
    "bin": {"B": b"\x00\x01raw"},
    "bins": {"BS": [b"\x02", b"\x03"]},
    "mixed": {"M": {"b": {"B": b"\x04"}, "s": {"S": "z"}}},
}


def test_dynamodb_attribute_values_are_answered_as_moto_answers_them() -> None:
    """GetItem, Query and the stream's GetRecords give the same answers with the attribute-value
    shortcut and moto's own field-by-field serializer (binaries included)."""
    assert moto_speedups.apply()
    from moto.core import serialize

    with mock_aws():
        db = boto3.client("dynamodb", region_name="us-east-1")
        table = db.create_table(
            TableName="t",
            KeySchema=[
                {"AttributeName": "pk", "KeyType": "HASH"},
                {"AttributeName": "sk", "KeyType": "RANGE"},
            ],
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "S"},
            ],
            BillingMode="PAY_PER_REQUEST",
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
        )["TableDescription"]
        db.put_item(TableName="t", Item=_EVERY_KIND)
        db.put_item(TableName="t", Item={**_EVERY_KIND, "n": {"N": "13"}})
        streams = boto3.client(  # in-process moto serves the streams API at the regional endpoint only
            "dynamodbstreams", region_name="us-east-1", config=Config(account_id_endpoint_mode="disabled")
        )
        arn = table["LatestStreamArn"]
        shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]

        def answers() -> list[Any]:
            iterator = streams.get_shard_iterator(
                StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON"
            )
            records = streams.get_records(ShardIterator=iterator["ShardIterator"])["Records"]
            got = [
                db.get_item(TableName="t", Key={"pk": {"S": "svc#1"}, "sk": {"S": "inc#1"}})["Item"],
                db.query(
                    TableName="t",
                    KeyConditionExpression="pk = :p",
                    ExpressionAttributeValues={":p": {"S": "svc#1"}},
                )["Items"],
                [
                    (
                        r["eventName"],
                        r["dynamodb"].get("Keys"),
                        r["dynamodb"].get("NewImage"),
                        r["dynamodb"].get("OldImage"),
                    )
                    for r in records
                ],
            ]
            return got

        fast = answers()
        cls: Any = serialize.BaseJSONSerializer
        shortcut = cls._serialize_type_structure
        cls._serialize_type_structure = moto_speedups.ORIGINALS[
            "BaseJSONSerializer._serialize_type_structure"
        ]
        try:
            slow = answers()
        finally:
            cls._serialize_type_structure = shortcut
    assert fast == slow
    assert fast[0]["bin"] == {"B": b"\x00\x01raw"} and fast[0]["m"] == _EVERY_KIND["m"]


@pytest.mark.parametrize("filler", [0, 1000, 404_000, 406_000])
def test_items_are_built_and_refused_as_moto_does(filler: int) -> None:
    """The same attributes, and ItemSizeTooLarge for the same items (the 400 KB limit)."""
    assert moto_speedups.apply()
    from moto.dynamodb.exceptions import ItemSizeTooLarge
    from moto.dynamodb.models.dynamo_type import DynamoType, Item

    attrs = {**_EVERY_KIND, "bin": {"B": "AAE="}, "bins": {"BS": ["Ag=="]}, "filler": {"S": "x" * filler}}
    attrs["mixed"] = {"M": {"s": {"S": "z"}, "n": {"N": "1"}}}
    built = []
    for init in (moto_speedups.ORIGINALS["Item.__init__"], Item.__init__):
        item = Item.__new__(Item)
        try:
            init(item, DynamoType(attrs["pk"]), DynamoType(attrs["sk"]), attrs)
        except ItemSizeTooLarge:
            built.append("too large")
            continue
        built.append(item.to_json())
    assert built[0] == built[1]
    assert (built[0] == "too large") == (filler == 406_000)


@pytest.mark.parametrize(
    "projection",
    [
        {"ProjectionType": "KEYS_ONLY"},
        {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["title", "n", "m"]},
        {"ProjectionType": "ALL"},
    ],
)
def test_index_queries_answer_as_moto_answers_them(
    projection: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """An index Query (walked unsorted, then sorted by the index's key and the table's; projected
    without a deep copy first, except on an ALL index) gives moto's pages: the same items in the
    same order, with the same last evaluated keys, both directions; none is the table's own item."""
    assert moto_speedups.apply()
    from moto.dynamodb.models import dynamodb_backends
    from moto.dynamodb.models.dynamo_type import DynamoType

    with mock_aws():
        db = boto3.client("dynamodb", region_name=REGION)
        db.create_table(
            TableName="t",
            KeySchema=[
                {"AttributeName": "PK", "KeyType": "HASH"},
                {"AttributeName": "SK", "KeyType": "RANGE"},
            ],
            AttributeDefinitions=[
                {"AttributeName": n, "AttributeType": "S"} for n in ("PK", "SK", "GSI1PK", "GSI1SK")
            ],
            GlobalSecondaryIndexes=[
                {
                    "IndexName": "GSI1",
                    "KeySchema": [
                        {"AttributeName": "GSI1PK", "KeyType": "HASH"},
                        {"AttributeName": "GSI1SK", "KeyType": "RANGE"},
                    ],
                    "Projection": projection,
                }
            ],
            BillingMode="PAY_PER_REQUEST",
        )
        for n in (5, 31, 2, 17, 8, 23, 11, 40, 9, 12):
            # several items share an index key (ties broken by the table's key), 9 and 12 are not indexed
            item = {
                "PK": {"S": f"inc_{n % 5}"},
                "SK": {"S": f"{n:03d}"},
                "title": {"S": f"t{n}"},
                "n": {"N": str(n)},
                "m": {"M": {"k": {"L": [{"S": "x"}, {"N": "1"}]}}},
                "other": {"S": "not projected"},
            }
            if n % 3:
                item |= {"GSI1PK": {"S": f"SVC#{n % 2}"}, "GSI1SK": {"S": f"OPEN#{n % 4}"}}
            db.put_item(TableName="t", Item=item)
        table = dynamodb_backends[DEFAULT_ACCOUNT_ID][REGION].tables["t"]
        query = moto_speedups.ORIGINALS["Table.query"]
        item_copy = moto_speedups.ORIGINALS["Item.__deepcopy__"]
        copies = [0]

        def counted(item: Any, memo: dict[int, Any]) -> Any:
            copies[0] += 1
            return item_copy(item, memo)

        monkeypatch.setitem(moto_speedups.ORIGINALS, "Item.__deepcopy__", counted)
        for pk in ("SVC#0", "SVC#1"):
            for forward in (True, False):
                start = None
                while True:
                    args = (DynamoType({"S": pk}), None, [], 2, start, forward, None)
                    kwargs = {
                        "index_name": "GSI1",
                        "hash_key_conditions": [("GSI1PK", DynamoType({"S": pk}))],
                    }
                    old_items, old_count, old_last = query(table, *args, **kwargs)
                    new_items, new_count, new_last = table.query(*args, **kwargs)
                    assert [i.to_json() for i in old_items] == [i.to_json() for i in new_items]
                    stored = [i for partition in table.items.values() for i in partition.values()]
                    assert not {id(i) for i in new_items} & {id(i) for i in stored}
                    assert (old_count, old_last) == (new_count, new_last)
                    if new_last is None:
                        break
                    start = new_last
        copied_by_moto = copies[0]  # the original query's copies, counted as well
        copies[0] = 0
        for pk in ("SVC#0", "SVC#1"):
            table.query(
                DynamoType({"S": pk}),
                None,
                [],
                10,
                None,
                True,
                None,
                index_name="GSI1",
                hash_key_conditions=[("GSI1PK", DynamoType({"S": pk}))],
            )
        assert copied_by_moto > 0
        assert copies[0] == (0 if projection["ProjectionType"] != "ALL" else 8)  # the indexed items
        assert len(table.all_items()) == 10  # outside a Query: every item, sorted
        assert table.all_items() == moto_speedups.ORIGINALS["Table.all_items"](table)


def test_action_methods_are_listed_once_per_class_as_moto_lists_them() -> None:
    assert moto_speedups.apply()
    from moto.core import responses
    from moto.dynamodb.responses import DynamoHandler
    from moto.sqs.responses import SQSResponse

    original = moto_speedups.ORIGINALS["responses.method_names_from_class"]
    for cls in (DynamoHandler, SQSResponse):
        first = responses.method_names_from_class(cls)  # type: ignore[attr-defined]
        assert first == original(cls) and "put_item" in original(DynamoHandler)
        assert responses.method_names_from_class(cls) is first  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "projection",
    [
        [["pk"], ["sk"]],  # KEYS_ONLY: top-level strings, copied
        [["pk"], ["sk"], ["missing"], ["pk"]],  # an absent name, a repeated one
        [["pk"], ["n"]],  # a number: moto's way
        [["pk"], ["m", "a"]],  # a nested path: moto's way
        [["bin"], ["ss"], ["l"]],
        [],
    ],
)
def test_items_are_projected_as_moto_projects_them(projection: list[list[str]]) -> None:
    assert moto_speedups.apply()
    from moto.dynamodb.models.dynamo_type import DynamoType, Item

    item = Item(DynamoType(_EVERY_KIND["pk"]), DynamoType(_EVERY_KIND["sk"]), dict(_EVERY_KIND))
    old = moto_speedups.ORIGINALS["Item.project"](item, projection)
    new = item.project(projection)
    assert new.to_json() == old.to_json() and list(new.attrs) == list(old.attrs)
    assert (new.hash_key, new.range_key) == (old.hash_key, old.range_key)
    assert item.to_json()["Attributes"]["m"] == {
        "M": {"a": {"S": "x"}, "deep": {"M": {"l": {"L": [{"N": "1"}, {"BOOL": False}]}}}}
    }


def test_a_list_element_is_projected_as_moto_projects_it() -> None:
    """``tags[1]`` is one expression part naming a list element, not an attribute: moto's way."""
    assert moto_speedups.apply()
    from moto.dynamodb.models.dynamo_type import DynamoType, Item

    item = Item(DynamoType({"S": "a"}), None, {"pk": {"S": "a"}, "tags": {"L": [{"S": "x"}, {"S": "y"}]}})
    for projection in ([["tags[1]"]], [["pk"], ["tags[0]"]]):
        old = moto_speedups.ORIGINALS["Item.project"](item, projection)
        assert item.project(projection).to_json() == old.to_json() and "tags" in old.attrs


ITEM = {
    "PK": {"S": "inc_1"},
    "n": {"N": "12.5"},
    "yes": {"BOOL": True},
    "none": {"NULL": True},
    "tags": {"SS": ["a", "b"]},
    "nums": {"NS": ["1", "2"]},
    "nested": {"M": {"k": {"L": [{"S": "x"}, {"M": {"deep": {"N": "1"}}}, {"NULL": True}]}}},
    "empty": {"M": {}},
    "list": {"L": []},
}
BINARY = {"PK": {"S": "b"}, "raw": {"B": b"\x00\xff"}, "set": {"BS": [b"a"]}, "m": {"M": {"b": {"B": b"1"}}}}


@pytest.mark.parametrize(
    ("operation", "params"),
    [
        ("PutItem", {"TableName": "t", "Item": ITEM, "ConditionExpression": "attribute_not_exists(PK)"}),
        ("PutItem", {"TableName": "t", "Item": BINARY}),
        (
            "Query",
            {
                "TableName": "t",
                "KeyConditionExpression": "PK = :pk",
                "ExpressionAttributeValues": {":pk": {"S": "inc_1"}, ":b": {"B": b"z"}},
                "ExclusiveStartKey": {"PK": {"S": "inc_1"}, "SK": {"S": "EP#1"}},
            },
        ),
        (
            "TransactWriteItems",
            {
                "TransactItems": [
                    {"Put": {"TableName": "t", "Item": ITEM}},
                    {
                        "Update": {
                            "TableName": "t",
                            "Key": {"PK": {"S": "inc_1"}},
                            "UpdateExpression": "SET v = :v",
                            "ExpressionAttributeValues": {":v": {"N": "2"}},
                        }
                    },
                    {"Put": {"TableName": "t", "Item": BINARY}},
                ]
            },
        ),
        ("BatchGetItem", {"RequestItems": {"t": {"Keys": [{"PK": {"S": "a"}}, {"PK": {"B": b"b"}}]}}}),
    ],
)
def test_dynamodb_requests_parse_as_moto_parses_them(operation: str, params: dict[str, Any]) -> None:
    """Attribute values taken as the wire carries them: the same parse as moto's, binaries decoded."""
    assert moto_speedups.apply()
    from botocore.serialize import create_serializer
    from moto.core.parse import JSONParser

    model = boto3.client("dynamodb", region_name=REGION).meta.service_model.operation_model(operation)
    body = create_serializer("json").serialize_to_request(params, model)["body"]

    class Moto(JSONParser):  # moto's own methods
        _parse_structure = moto_speedups.ORIGINALS["BaseJSONParser._parse_structure"]
        _parse_map = moto_speedups.ORIGINALS["RequestParser._parse_map"]

    def parse(parser: type) -> Any:
        request = {
            "method": "POST",
            "values": {},
            "headers": {},
            "body": body,
            "url_path": "/",
            "url_params": {},
        }
        return parser(model, map_type=dict).parse(request)  # type: ignore[arg-type]

    assert parse(JSONParser) == parse(Moto)
    assert JSONParser._parse_structure is not Moto._parse_structure  # the replacement was compared


RECORD = {"eventID": "1", "eventName": "MODIFY", "dynamodb": {"Keys": {"PK": ITEM["PK"]}, "NewImage": ITEM}}


@pytest.mark.parametrize(
    ("service", "operation", "answer"),
    [
        ("dynamodb", "GetItem", {"Item": ITEM}),
        ("dynamodb", "GetItem", {"Item": {**ITEM, "raw": {"B": "AP8="}}}),
        ("dynamodb", "Query", {"Items": [ITEM, {"PK": {"S": "b"}, "set": {"BS": ["YQ=="]}}], "Count": 2}),
        ("dynamodb", "Query", {"Items": [{"PK": {"S": "x"}, "m": {"M": {"odd": {"Q": "?"}}}}], "Count": 1}),
        ("dynamodb", "BatchGetItem", {"Responses": {"t": [ITEM]}, "UnprocessedKeys": {}}),
        ("dynamodbstreams", "GetRecords", {"Records": [RECORD, {**RECORD, "dynamodb": {"OldImage": ITEM}}]}),
    ],
)
def test_attribute_values_are_read_back_as_botocore_reads_them(
    service: str, operation: str, answer: dict[str, Any]
) -> None:
    """The clients' side of an in-process call: botocore's own parse, binaries and unknown members
    included (a union member botocore does not know is its SDK_UNKNOWN_MEMBER, not taken as it is)."""
    assert moto_speedups.apply()
    from botocore import parsers

    model = boto3.client(service, region_name=REGION).meta.service_model.operation_model(operation)
    body = json.dumps(answer).encode()

    class Botocore(parsers.JSONParser):  # botocore's own methods
        _handle_structure = moto_speedups.ORIGINALS["botocore BaseJSONParser._handle_structure"]
        _handle_map = moto_speedups.ORIGINALS["botocore BaseJSONParser._handle_map"]

    def parse(parser: type) -> Any:
        response = {"status_code": 200, "headers": {}, "body": body}
        return parser().parse(response, model.output_shape)

    assert parse(parsers.JSONParser) == parse(Botocore)
    assert parsers.JSONParser._handle_structure is not Botocore._handle_structure  # the patch was compared
    assert moto_speedups._is_attribute_value(model.service_model.shape_for("AttributeValue"))  # and applies
