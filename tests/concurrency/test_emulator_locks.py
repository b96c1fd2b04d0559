"""The emulator's locks (one per group of services, see alertbridge_tools.emulator): concurrent
conditional writes and transactions stay atomic, over HTTP and in process, while calls of other
services run beside them."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
import pytest
from alertbridge_tools import emulator as emulator_module
from alertbridge_tools.emulator import MotoServer, ServiceLocks, signing_name
from botocore.config import Config
from botocore.exceptions import ClientError

THREADS = 12
INCREMENTS = 15
_CONFIG = Config(retries={"mode": "standard", "max_attempts": 10}, max_pool_connections=THREADS * 2)


@pytest.fixture(scope="module")
def emulator() -> Iterator[MotoServer]:
    server = MotoServer().start()
    yield server
    server.stop()


@pytest.fixture(params=["http", "in-process"])
def client(request: pytest.FixtureRequest, emulator: MotoServer) -> Callable[[str], Any]:
    """A client factory reaching the emulator over HTTP, or through its before-send handler."""
    session = boto3.Session(aws_access_key_id="k", aws_secret_access_key="s", region_name="us-east-1")
    if request.param == "in-process":
        session.events.register("before-send", emulator.send)

    def make(service: str) -> Any:
        return session.client(service, endpoint_url=emulator.url, config=_CONFIG)

    return make


def _table(db: Any) -> str:
    name = f"locks-{uuid.uuid4().hex[:8]}"
    db.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    return name


def _conditional(call: Callable[[], Any]) -> bool:
    try:
        call()
    except ClientError as exc:
        if exc.response["Error"]["Code"] in (
            "ConditionalCheckFailedException",
            "TransactionCanceledException",
        ):
            return False
        raise
    return True


def test_optimistic_increments_lose_none(client: Callable[[str], Any]) -> None:
    """Read, then write only if the version read is still there: every increment lands once."""
    db = client("dynamodb")
    table = _table(db)
    db.put_item(TableName=table, Item={"pk": {"S": "counter"}, "n": {"N": "0"}})
    barrier = threading.Barrier(THREADS)

    def worker(_: int) -> int:
        barrier.wait()
        conflicts = 0
        for _ in range(INCREMENTS):
            while True:
                n = int(
                    db.get_item(TableName=table, Key={"pk": {"S": "counter"}}, ConsistentRead=True)["Item"][
                        "n"
                    ]["N"]
                )
                if _conditional(
                    lambda n=n: db.put_item(
                        TableName=table,
                        Item={"pk": {"S": "counter"}, "n": {"N": str(n + 1)}},
                        ConditionExpression="n = :n",
                        ExpressionAttributeValues={":n": {"N": str(n)}},
                    )
                ):
                    break
                conflicts += 1
        return conflicts

    with ThreadPoolExecutor(THREADS) as pool:
        conflicts = sum(pool.map(worker, range(THREADS)))
    final = db.get_item(TableName=table, Key={"pk": {"S": "counter"}}, ConsistentRead=True)["Item"]["n"]["N"]
    assert int(final) == THREADS * INCREMENTS
    assert conflicts > 0  # the threads did race: some reads were overtaken and their writes refused


def test_one_create_and_one_transaction_win_each_race(client: Callable[[str], Any]) -> None:
    """attribute_not_exists: one creator per key; a transaction over two keys: all or nothing."""
    db = client("dynamodb")
    table = _table(db)
    barrier = threading.Barrier(THREADS)

    def create(n: int) -> tuple[bool, bool]:
        barrier.wait()
        created = _conditional(
            lambda: db.put_item(
                TableName=table,
                Item={"pk": {"S": "only"}, "by": {"N": str(n)}},
                ConditionExpression="attribute_not_exists(pk)",
            )
        )
        pair = _conditional(
            lambda: db.transact_write_items(
                TransactItems=[
                    {
                        "Put": {
                            "TableName": table,
                            "Item": {"pk": {"S": key}, "by": {"N": str(n)}},
                            "ConditionExpression": "attribute_not_exists(pk)",
                        }
                    }
                    for key in ("left", "right")
                ]
            )
        )
        return created, pair

    with ThreadPoolExecutor(THREADS) as pool:
        results = list(pool.map(create, range(THREADS)))
    assert sum(created for created, _ in results) == 1
    assert sum(pair for _, pair in results) == 1
    left, right = (
        db.get_item(TableName=table, Key={"pk": {"S": key}}, ConsistentRead=True)["Item"]["by"]["N"]
        for key in ("left", "right")
    )
    assert left == right  # both halves written by the one winning transaction


def test_queues_and_the_bus_beside_the_table_deliver_each_message_once(client: Callable[[str], Any]) -> None:
    """EventBridge appends to a queue inside PutEvents (the same lock group as SQS) while other
    threads receive and delete from it and DynamoDB writes run beside: every event once."""
    sqs, events, db = client("sqs"), client("events"), client("dynamodb")
    table = _table(db)
    name = f"locks-{uuid.uuid4().hex[:8]}"
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    bus = events.create_event_bus(Name=name)["EventBusArn"]
    events.put_rule(Name=name, EventBusName=bus, EventPattern=json.dumps({"source": ["locks"]}))
    events.put_targets(Rule=name, EventBusName=bus, Targets=[{"Id": "q", "Arn": arn}])
    sent = 120
    seen: list[str] = []
    done = threading.Event()

    def publish(n: int) -> None:
        for i in range(n, sent, 4):
            entry = {
                "Source": "locks",
                "DetailType": "t",
                "Detail": json.dumps({"i": i}),
                "EventBusName": bus,
            }
            assert events.put_events(Entries=[entry])["FailedEntryCount"] == 0
            db.put_item(TableName=table, Item={"pk": {"S": str(i)}})

    def consume() -> None:
        while not (done.is_set() and not _visible(sqs, url)):
            for message in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
                seen.append(json.loads(message["Body"])["detail"]["i"])
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])

    with ThreadPoolExecutor(8) as pool:
        consumers = [pool.submit(consume) for _ in range(4)]
        for future in [pool.submit(publish, n) for n in range(4)]:
            future.result()
        done.set()
        for future in consumers:
            future.result()
    assert sorted(seen) == list(range(sent))
    assert db.scan(TableName=table, Select="COUNT")["Count"] == sent


def _visible(sqs: Any, url: str) -> int:
    names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    found = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=names)["Attributes"]
    return sum(int(found[name]) for name in names)


def test_in_process_calls_never_reach_the_server(
    emulator: MotoServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    served: list[str] = []
    original = emulator._locked

    def counting(environ: dict[str, Any], start_response: Any) -> Any:
        served.append(environ.get("PATH_INFO", ""))
        return original(environ, start_response)

    monkeypatch.setattr(emulator._server, "app", counting)
    session = boto3.Session(aws_access_key_id="k", aws_secret_access_key="s", region_name="us-east-1")
    session.events.register("before-send", emulator.send)
    db = session.client("dynamodb", endpoint_url=emulator.url)
    assert "TableNames" in db.list_tables()
    assert served == []
    plain = boto3.Session(aws_access_key_id="k", aws_secret_access_key="s", region_name="us-east-1")
    assert "TableNames" in plain.client("dynamodb", endpoint_url=emulator.url).list_tables()
    assert served == ["/"]


def test_lock_groups() -> None:
    header = (
        "AWS4-HMAC-SHA256 Credential=k/20261201/us-east-1/{}/aws4_request, SignedHeaders=host, Signature=x"
    )
    assert signing_name(header.format("dynamodb")) == "dynamodb"
    assert signing_name(None) is None and signing_name("Basic abc") is None
    locks = ServiceLocks()
    held = threading.Event()
    release = threading.Event()

    def hold(service: str) -> None:
        with locks.held(header.format(service)):
            held.set()
            release.wait(5)

    holder = threading.Thread(target=hold, args=("sqs",))
    holder.start()
    assert held.wait(5)
    with locks.held(header.format("dynamodb")):  # another group: not held up by SQS
        pass
    blocked = threading.Thread(target=lambda: locks.held(header.format("events")).__enter__())
    blocked.start()
    blocked.join(0.2)
    assert blocked.is_alive()  # EventBridge shares SQS's lock (PutEvents appends to queues)
    release.set()
    holder.join(5)
    blocked.join(5)
    assert not blocked.is_alive()


def test_handlers_called_directly_answer_as_the_server_does(
    emulator: MotoServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In process, the services the functions call skip the WSGI layers (S3 does not); every answer,
    success or error, parses to what the same call over HTTP gives."""
    through_wsgi: list[str] = []  # in process, through the server's WSGI application
    run = emulator_module.run_wsgi_app

    def counting(app: Any, environ: dict[str, Any], **kwargs: Any) -> Any:
        through_wsgi.append(signing_name(environ.get("HTTP_AUTHORIZATION")) or "")
        return run(app, environ, **kwargs)

    monkeypatch.setattr(emulator_module, "run_wsgi_app", counting)
    keys = {"aws_access_key_id": "k", "aws_secret_access_key": "s", "region_name": "us-east-1"}
    direct, plain = boto3.Session(**keys), boto3.Session(**keys)
    direct.events.register("before-send", emulator.send)
    made = {
        name: plain.client(name, endpoint_url=emulator.url) for name in ("dynamodb", "sqs", "events", "sns")
    }
    table = _table(made["dynamodb"])
    made["dynamodb"].put_item(TableName=table, Item={"pk": {"S": "a"}, "n": {"N": "1"}, "b": {"B": b"\x00"}})
    queue = made["sqs"].create_queue(QueueName=f"q-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    topic = made["sns"].create_topic(Name=f"t-{uuid.uuid4().hex[:8]}")["TopicArn"]
    calls: list[tuple[str, str, dict[str, Any]]] = [
        ("dynamodb", "get_item", {"TableName": table, "Key": {"pk": {"S": "a"}}}),
        (
            "dynamodb",
            "query",
            {
                "TableName": table,
                "KeyConditionExpression": "pk = :p",
                "ExpressionAttributeValues": {":p": {"S": "a"}},
            },
        ),
        (
            "dynamodb",
            "put_item",
            {
                "TableName": table,
                "Item": {"pk": {"S": "a"}},
                "ConditionExpression": "attribute_not_exists(pk)",
            },
        ),
        (
            "dynamodb",
            "transact_write_items",
            {
                "TransactItems": [
                    {
                        "Put": {
                            "TableName": table,
                            "Item": {"pk": {"S": "a"}},
                            "ConditionExpression": "attribute_not_exists(pk)",
                        }
                    }
                ]
            },
        ),
        ("dynamodb", "get_item", {"TableName": "missing", "Key": {"pk": {"S": "a"}}}),
        (
            "sqs",
            "get_queue_attributes",
            {"QueueUrl": queue, "AttributeNames": ["QueueArn", "VisibilityTimeout"]},
        ),
        ("sqs", "receive_message", {"QueueUrl": emulator.url + "/123456789012/missing"}),
        ("events", "describe_event_bus", {"Name": "default"}),
        (
            "events",
            "put_events",
            {"Entries": [{"Source": "s", "DetailType": "d", "Detail": "{}", "EventBusName": "missing"}]},
        ),
        ("sns", "get_topic_attributes", {"TopicArn": topic}),
        ("sns", "publish", {"TopicArn": topic + "-missing", "Message": "m"}),
        ("kms", "describe_key", {"KeyId": "alias/missing"}),
        ("sts", "get_caller_identity", {}),
        ("scheduler", "get_schedule", {"Name": "missing"}),
    ]

    def answer(session: boto3.Session, service: str, operation: str, params: dict[str, Any]) -> Any:
        try:
            found = getattr(session.client(service, endpoint_url=emulator.url), operation)(**params)
        except ClientError as exc:
            found = {
                "error": exc.response["Error"],
                "status": exc.response["ResponseMetadata"]["HTTPStatusCode"],
                "reasons": exc.response.get("CancellationReasons"),
            }
        found.pop("ResponseMetadata", None)
        return found

    for service, operation, params in calls:
        assert answer(direct, service, operation, params) == answer(plain, service, operation, params), (
            operation
        )
    assert through_wsgi == []
    s3 = direct.client("s3", endpoint_url=emulator.url)
    s3.create_bucket(Bucket=f"b-{uuid.uuid4().hex[:8]}")
    assert through_wsgi == ["s3"]


def test_an_idle_poller_wakes_when_its_queue_or_stream_gets_something(emulator: MotoServer) -> None:
    """``arrivals``: a poller that found nothing waits without a lock until a message reaches its
    queue (sent, or delivered by an EventBridge rule) or a record its table's stream; others'
    arrivals do not wake it; with nothing arriving it returns at its timeout; a stop ends a wait."""
    session = boto3.Session(aws_access_key_id="k", aws_secret_access_key="s", region_name="us-east-1")
    session.events.register("before-send", emulator.send)
    sqs, events, db = (session.client(n, endpoint_url=emulator.url) for n in ("sqs", "events", "dynamodb"))
    name = f"wake-{uuid.uuid4().hex[:8]}"
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    other = sqs.create_queue(QueueName=name + "-other")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name=name, EventPattern=json.dumps({"source": ["wake.test"]}))
    events.put_targets(Rule=name, Targets=[{"Id": "q", "Arn": arn}])

    stop = threading.Event()

    def waited(kind: str, of: str, arrive: Callable[[], Any] | None, timeout: float = 5.0) -> float:
        mark = emulator_module.arrivals.mark(kind, of)
        if arrive is not None:
            threading.Timer(0.2, arrive).start()
        started = time.monotonic()
        emulator_module.arrivals.wait(kind, of, mark, timeout, stop)
        return time.monotonic() - started

    def stopping() -> None:
        stop.set()
        emulator_module.arrivals.wake()

    assert 0.15 < waited("sqs", name, lambda: sqs.send_message(QueueUrl=url, MessageBody="m")) < 2
    entry = {"Source": "wake.test", "DetailType": "t", "Detail": "{}"}
    assert 0.15 < waited("sqs", name, lambda: events.put_events(Entries=[entry])) < 2
    assert waited("sqs", name, lambda: sqs.send_message(QueueUrl=other, MessageBody="m"), timeout=1.0) >= 0.95
    assert waited("sqs", name, None, timeout=0.3) >= 0.28
    assert waited("sqs", name, emulator_module.arrivals.wake, timeout=1.0) >= 0.95  # not stopping: waits on
    assert 0.15 < waited("sqs", name, stopping) < 2
    assert waited("sqs", name, None) < 0.1  # once stopping, a wait returns at once
    stop.clear()
    table = _table(db)
    db.update_table(
        TableName=table, StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"}
    )
    assert 0.15 < waited("stream", table, lambda: db.put_item(TableName=table, Item={"pk": {"S": "a"}})) < 2


def test_a_message_wakes_one_poller_of_its_queue_and_a_record_every_reader_of_its_stream(
    emulator: MotoServer,
) -> None:
    """The pollers of one queue compete for its messages (SQS hands a message to one long poll):
    one message wakes one of them, two wake two. Each reader of a stream reads all of it: one
    record wakes them all."""
    session = boto3.Session(aws_access_key_id="k", aws_secret_access_key="s", region_name="us-east-1")
    session.events.register("before-send", emulator.send)
    sqs, db = (session.client(n, endpoint_url=emulator.url) for n in ("sqs", "dynamodb"))
    name = f"one-{uuid.uuid4().hex[:8]}"
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    table = _table(db)
    db.update_table(
        TableName=table, StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"}
    )

    def woken(
        kind: str, of: str, waiters: int, arrive: Callable[[], Any], timeout: float = 1.5
    ) -> list[float]:
        mark = emulator_module.arrivals.mark(kind, of)
        waited: list[float] = []

        def wait() -> None:
            started = time.monotonic()
            emulator_module.arrivals.wait(kind, of, mark, timeout)
            waited.append(time.monotonic() - started)

        threads = [threading.Thread(target=wait) for _ in range(waiters)]
        for thread in threads:
            thread.start()
        time.sleep(0.2)  # every waiter waits
        arrive()
        for thread in threads:
            thread.join()
        return sorted(waited)

    one = woken("sqs", name, 3, lambda: sqs.send_message(QueueUrl=url, MessageBody="m"))
    assert one[0] < 1.0 and one[1] >= 1.4  # the others wait out their timeout
    two = woken(
        "sqs",
        name,
        3,
        lambda: sqs.send_message_batch(
            QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": "m"} for i in range(2)]
        ),
    )
    assert two[1] < 1.0 and two[2] >= 1.4  # the others wait out their timeout
    readers = woken("stream", table, 3, lambda: db.put_item(TableName=table, Item={"pk": {"S": "a"}}))
    assert readers[2] < 1.0
