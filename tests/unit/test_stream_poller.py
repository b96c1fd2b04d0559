"""The stream poller against moto's DynamoDB Streams, with handlers that answer what the test says;
and what moto does with the stream that the poller has to know."""

from __future__ import annotations

import json
import logging
from datetime import timedelta
from typing import Any

import boto3
import pytest
from alertbridge_tools import moto_streams
from alertbridge_tools.streams import StreamPoller
from alertbridge_tools.template import StreamSource
from botocore.config import Config
from botocore.exceptions import ClientError
from moto.core import DEFAULT_ACCOUNT_ID as ACCOUNT
from moto.dynamodb.models import dynamodb_backends
from moto.dynamodbstreams.models import dynamodbstreams_backends

FILTER = '{"dynamodb": {"Keys": {"PK": {"S": [{"prefix": "inc_"}]}, "SK": {"S": [{"prefix": "EP#"}]}}}}'


@pytest.fixture
def table(aws: None) -> tuple[Any, str, str]:
    db = boto3.client("dynamodb", region_name="us-east-1")
    created = db.create_table(
        TableName="t",
        AttributeDefinitions=[{"AttributeName": n, "AttributeType": "S"} for n in ("PK", "SK")],
        KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}, {"AttributeName": "SK", "KeyType": "RANGE"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )
    return db, "t", created["TableDescription"]["LatestStreamArn"]


def streams() -> Any:
    return boto3.client(
        "dynamodbstreams", region_name="us-east-1", config=Config(account_id_endpoint_mode="disabled")
    )


def source(arn: str, dlq: str | None = None, **overrides: Any) -> StreamSource:
    settings: dict[str, Any] = {
        "function": "F",
        "stream_arn": arn,
        "starting_position": "TRIM_HORIZON",
        "batch_size": 100,
        "batching_window": 0,
        "report_failures": True,
        "bisect": True,
        "max_retries": 2,
        "max_record_age": -1,
        "filters": [FILTER],
        "on_failure_queue_url": dlq,
    }
    return StreamSource(**(settings | overrides))


def put(db: Any, pk: str, sk: str = "EP#000001", **attrs: str) -> None:
    db.put_item(
        TableName="t", Item={"PK": {"S": pk}, "SK": {"S": sk}} | {k: {"S": v} for k, v in attrs.items()}
    )


class Recorder:
    """A handler that records the batches it gets and answers with ``answer(batch)``."""

    def __init__(self, answer: Any = None) -> None:
        self.batches: list[list[str]] = []
        self.answer = answer or (lambda _batch: {"batchItemFailures": []})

    def __call__(self, event: dict[str, Any], _context: Any) -> dict[str, Any]:
        batch = [r["dynamodb"]["Keys"]["PK"]["S"] for r in event["Records"]]
        self.batches.append(batch)
        result: dict[str, Any] = self.answer(event["Records"])
        return result


def test_records_arrive_in_order_in_lambdas_format_and_the_filter_applies(
    table: tuple[Any, str, str],
) -> None:
    db, _, arn = table
    handler = Recorder()
    poller = StreamPoller(streams(), None, source(arn), handler)
    put(db, "inc_a", status="triggered")
    put(db, "SRC#x", sk="SRC")  # not an incident episode: filtered out
    put(db, "inc_a", status="resolved")
    put(db, "inc_b", sk="META")  # filtered out
    seen: list[dict[str, Any]] = []
    handler.answer = lambda batch: seen.extend(batch) or {}
    assert poller.drain().invocations == 1
    assert handler.batches == [["inc_a", "inc_a"]]
    first, second = seen
    assert first["eventName"] == "INSERT" and second["eventName"] == "MODIFY"
    assert first["eventSource"] == "aws:dynamodb" and first["eventSourceARN"] == arn
    assert second["dynamodb"]["OldImage"]["status"] == {"S": "triggered"}
    assert second["dynamodb"]["NewImage"]["status"] == {"S": "resolved"}
    assert second["dynamodb"]["StreamViewType"] == "NEW_AND_OLD_IMAGES"
    assert int(second["dynamodb"]["SequenceNumber"]) > int(first["dynamodb"]["SequenceNumber"])
    json.dumps(seen)  # plain JSON, as Lambda delivers it
    assert poller.drain().invocations == 0  # checkpointed


def test_a_reported_failure_retries_from_that_record(table: tuple[Any, str, str]) -> None:
    db, _, arn = table
    failed_once: list[str] = []

    def answer(batch: list[dict[str, Any]]) -> dict[str, Any]:
        third = batch[2]["dynamodb"]["SequenceNumber"] if len(batch) > 2 else None
        if third and not failed_once:
            failed_once.append(third)
            return {"batchItemFailures": [{"itemIdentifier": third}]}
        return {}

    handler = Recorder(answer)
    for name in "abcde":
        put(db, f"inc_{name}")
    StreamPoller(streams(), None, source(arn), handler).drain()
    assert handler.batches == [["inc_a", "inc_b", "inc_c", "inc_d", "inc_e"], ["inc_c", "inc_d", "inc_e"]]


def test_a_malformed_answer_fails_the_whole_batch(table: tuple[Any, str, str]) -> None:
    db, _, arn = table
    answers = iter([{"batchItemFailures": [{"itemIdentifier": ""}]}, {}])
    handler = Recorder(lambda _batch: next(answers))
    put(db, "inc_a")
    put(db, "inc_b")
    StreamPoller(streams(), None, source(arn, bisect=False), handler).drain()
    assert handler.batches == [["inc_a", "inc_b"], ["inc_a", "inc_b"]]


def test_an_error_bisects_down_to_the_poison_record_which_goes_to_the_dlq(
    table: tuple[Any, str, str],
) -> None:
    db, _, arn = table
    sqs = boto3.client("sqs", region_name="us-east-1")
    dlq = sqs.create_queue(QueueName="dlq")["QueueUrl"]

    def answer(batch: list[dict[str, Any]]) -> dict[str, Any]:
        if any(r["dynamodb"]["Keys"]["PK"]["S"] == "inc_poison" for r in batch):
            raise RuntimeError("poison")
        return {}

    handler = Recorder(answer)
    for name in ["a", "b", "c", "poison", "e"]:
        put(db, f"inc_{name}")
    result = StreamPoller(streams(), sqs, source(arn, dlq, max_retries=2), handler).drain()
    assert handler.batches == [
        ["inc_a", "inc_b", "inc_c", "inc_poison", "inc_e"],  # fails: halves of 3 and 2
        ["inc_a", "inc_b", "inc_c"],
        ["inc_poison", "inc_e"],  # fails: halves of 1 and 1
        ["inc_poison"],  # the 1st retry of the poison's try above, fails
        ["inc_poison"],  # the 2nd retry fails: exhausted, to the DLQ
        ["inc_e"],
    ]
    assert result.dead_lettered == 1
    [message] = sqs.receive_message(QueueUrl=dlq)["Messages"]
    info = json.loads(message["Body"])
    assert info["DDBStreamBatchInfo"]["batchSize"] == 1
    assert info["responseContext"]["functionError"] == "Unhandled"
    assert info["requestContext"]["approximateInvokeCount"] == 3


def test_without_report_failures_an_answer_is_ignored(table: tuple[Any, str, str]) -> None:
    db, _, arn = table
    handler = Recorder(
        lambda batch: {"batchItemFailures": [{"itemIdentifier": batch[0]["dynamodb"]["SequenceNumber"]}]}
    )
    put(db, "inc_a")
    StreamPoller(streams(), None, source(arn, report_failures=False), handler).drain()
    assert handler.batches == [["inc_a"]]


def test_latest_starts_after_what_was_already_written(table: tuple[Any, str, str]) -> None:
    db, _, arn = table
    put(db, "inc_before")
    handler = Recorder()
    poller = StreamPoller(streams(), None, source(arn, starting_position="LATEST"), handler)
    put(db, "inc_after")
    poller.drain()
    assert handler.batches == [["inc_after"]]


def test_the_stream_holds_committed_transactions_and_no_cancelled_one(table: tuple[Any, str, str]) -> None:
    """moto_streams: without it, a cancelled transaction's applied half stays on the stream an
    iterator taken before it reads (and each transaction copies the whole stream)."""
    assert moto_streams.apply()
    db, name, arn = table
    client = streams()
    shard = client.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    put(db, "inc_a", version="1")
    kept = client.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")[
        "ShardIterator"
    ]
    key = {"PK": {"S": "inc_a"}, "SK": {"S": "EP#000001"}}
    committed = [
        {
            "Update": {
                "TableName": name,
                "Key": key,
                "UpdateExpression": "SET version = :n",
                "ExpressionAttributeValues": {":n": {"S": "2"}},
            }
        },
        {"Put": {"TableName": name, "Item": {"PK": {"S": "inc_a"}, "SK": {"S": "EP#000002"}}}},
    ]
    db.transact_write_items(TransactItems=committed)
    cancelled = [
        {
            "ConditionCheck": {
                "TableName": name,
                "Key": key,
                "ConditionExpression": "attribute_not_exists(PK)",
            }
        },
        {"Put": {"TableName": name, "Item": {"PK": {"S": "inc_a"}, "SK": {"S": "EP#000003"}}}},
    ]
    with pytest.raises(db.exceptions.TransactionCanceledException):
        db.transact_write_items(TransactItems=cancelled)
    put(db, "inc_a", sk="EP#000004")

    def sks(records: list[dict[str, Any]]) -> list[str]:
        return [r["dynamodb"]["Keys"]["SK"]["S"] for r in records]

    expected = ["EP#000001", "EP#000001", "EP#000002", "EP#000004"]
    assert sks(client.get_records(ShardIterator=kept)["Records"]) == expected
    fresh = client.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")[
        "ShardIterator"
    ]
    assert sks(client.get_records(ShardIterator=fresh)["Records"]) == expected
    handler = Recorder()
    StreamPoller(client, None, source(arn), handler).drain()
    assert handler.batches == [["inc_a"] * 4]


def test_a_poller_resumes_from_a_saved_checkpoint_after_what_was_done(table: tuple[Any, str, str]) -> None:
    """What the local stack's data directory keeps: a new poller resumed from ``checkpoints()``
    neither repeats the records done nor skips the ones read and not done (a failed record heads it)."""
    db, _, arn = table
    put(db, "inc_1")
    put(db, "inc_2")
    first = Recorder(
        lambda batch: {"batchItemFailures": [{"itemIdentifier": batch[1]["dynamodb"]["SequenceNumber"]}]}
    )
    poller = StreamPoller(streams(), None, source(arn, max_retries=-1), first)
    poller.poll_once()  # inc_1 done, inc_2 failed: read, not done
    assert first.batches == [["inc_1", "inc_2"]]
    saved = poller.checkpoints()
    [position] = saved.values()
    assert set(position) == {"at"}
    put(db, "inc_3")

    again = Recorder()
    resumed = StreamPoller(streams(), None, source(arn), again)
    resumed.resume(saved)
    resumed.drain()
    assert again.batches == [["inc_2", "inc_3"]]
    assert set(next(iter(resumed.checkpoints().values()))) == {"after"}
    put(db, "inc_4")
    later = Recorder()
    third = StreamPoller(streams(), None, source(arn), later)
    third.resume(resumed.checkpoints())
    third.drain()
    assert later.batches == [["inc_4"]]


def test_a_read_that_fails_is_read_again_from_the_checkpoint(
    table: tuple[Any, str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A read that raises while its records are taken in (here: turning one into Lambda's format)
    leaves nothing skipped: the next poll reads those records again, then goes on from the
    iterator each answer gives."""
    db, _, arn = table
    handler = Recorder()
    poller = StreamPoller(streams(), None, source(arn), handler)
    put(db, "inc_a")
    put(db, "inc_b")
    original, failed = poller._record, []

    def once(raw: dict[str, Any]) -> dict[str, Any]:
        if not failed:
            failed.append(raw)
            raise RuntimeError("a record that could not be taken in")
        return original(raw)

    monkeypatch.setattr(poller, "_record", once)
    with pytest.raises(RuntimeError):
        poller.poll_once()
    assert poller.drain().invocations == 1 and handler.batches == [["inc_a", "inc_b"]]
    put(db, "inc_c")
    assert poller.drain().invocations == 1 and handler.batches[-1] == ["inc_c"]


def _shard(name: str = "t") -> Any:
    return dynamodb_backends[ACCOUNT]["us-east-1"].tables[name].stream_shard


def _age(records: Any, by: timedelta) -> None:
    for record in records:
        record.record["dynamodb"]["ApproximateCreationDateTime"] -= by


def _code(call: Any) -> str:
    with pytest.raises(ClientError) as raised:
        call()
    return str(raised.value.response["Error"]["Code"])


def test_the_stream_keeps_records_24_hours_and_iterators_15_minutes(table: tuple[Any, str, str]) -> None:
    """moto_streams: a write trims the records older than 24 hours (numbers go on where they were);
    reading trimmed data is refused as DynamoDB refuses it; an iterator expires after 15 minutes and
    the expired ones are not kept (moto kept every record and iterator for the life of the process)."""
    assert moto_streams.apply()
    db, name, arn = table
    client = streams()
    shard_id = client.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]

    def iterator(kind: str, sequence: str | None = None) -> str:
        where = {"SequenceNumber": sequence} if sequence else {}
        found: str = client.get_shard_iterator(
            StreamArn=arn, ShardId=shard_id, ShardIteratorType=kind, **where
        )["ShardIterator"]
        return found

    put(db, "inc_1")
    put(db, "inc_2")
    old = iterator("TRIM_HORIZON")
    first, second = (
        r["dynamodb"]["SequenceNumber"] for r in client.get_records(ShardIterator=old)["Records"]
    )
    _age(_shard().items, timedelta(hours=24, minutes=1))
    put(db, "inc_3")
    [kept] = client.get_records(ShardIterator=iterator("TRIM_HORIZON"))["Records"]
    assert kept["dynamodb"]["Keys"]["PK"]["S"] == "inc_3"
    assert int(kept["dynamodb"]["SequenceNumber"]) == int(second) + 1
    assert _code(lambda: iterator("AT_SEQUENCE_NUMBER", first)) == "TrimmedDataAccessException"
    assert _code(lambda: client.get_records(ShardIterator=old)) == "TrimmedDataAccessException"
    after = client.get_records(ShardIterator=iterator("AFTER_SEQUENCE_NUMBER", second))["Records"]
    assert [r["dynamodb"]["Keys"]["PK"]["S"] for r in after] == ["inc_3"]  # the horizon itself is kept

    # A cancelled transaction whose first write trims: the stream still holds no record of it.
    _age(_shard().items, timedelta(hours=25))
    cancelled = [
        {"Put": {"TableName": name, "Item": {"PK": {"S": "inc_x"}, "SK": {"S": "EP#000001"}}}},
        {
            "ConditionCheck": {
                "TableName": name,
                "Key": {"PK": {"S": "inc_3"}, "SK": {"S": "EP#000001"}},
                "ConditionExpression": "attribute_not_exists(PK)",
            }
        },
    ]
    assert _code(lambda: db.transact_write_items(TransactItems=cancelled)) == "TransactionCanceledException"
    put(db, "inc_4")
    [fourth] = client.get_records(ShardIterator=iterator("TRIM_HORIZON"))["Records"]
    assert fourth["dynamodb"]["Keys"]["PK"]["S"] == "inc_4"
    assert int(fourth["dynamodb"]["SequenceNumber"]) == int(second) + 2

    backend = dynamodbstreams_backends[ACCOUNT]["us-east-1"]
    stale = iterator("TRIM_HORIZON")
    for made in backend.shard_iterators.values():
        made.created -= moto_streams.ITERATOR_LIFETIME + 1
    assert _code(lambda: client.get_records(ShardIterator=stale)) == "ExpiredIteratorException"
    for _ in range(20):
        client.get_records(ShardIterator=iterator("TRIM_HORIZON"))
    assert len(backend.shard_iterators) == 40  # each read's and each answer's: none of the expired ones


def test_a_checkpoint_in_trimmed_data_reads_on_from_the_oldest_record_kept(
    table: tuple[Any, str, str], caplog: pytest.LogCaptureFixture
) -> None:
    """A stack stopped longer than the stream keeps records: its checkpoint is in trimmed data, and
    the mapping reads on from the oldest record kept (what was trimmed is gone, and it says so)."""
    assert moto_streams.apply()
    db, _, arn = table
    done = Recorder()
    poller = StreamPoller(streams(), None, source(arn), done)
    put(db, "inc_1")
    poller.drain()
    saved = poller.checkpoints()
    put(db, "inc_2")
    _age(_shard().items, timedelta(hours=25))
    put(db, "inc_3")
    later = Recorder()
    resumed = StreamPoller(streams(), None, source(arn), later)
    resumed.resume(saved)
    with caplog.at_level(logging.WARNING, logger="alertbridge.local.streams"):
        resumed.drain()
    assert later.batches == [["inc_3"]]
    assert "trimmed records it had not read" in caplog.text
