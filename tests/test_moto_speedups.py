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
    for delete in (moto_speedups.ORIGINALS["Queue.delete_message"], type(queue).delete_message):
        with pytest.raises(ReceiptHandleIsInvalid):
            delete(queue, "not-a-handle")


def test_jsonpath_expressions_are_parsed_once() -> None:
    assert moto_speedups.apply()
    import jsonpath_ng.ext

    assert jsonpath_ng.ext.parse("$.detail") is jsonpath_ng.ext.parse("$.detail")
    event = {"detail": {"a": 1}}
    assert [m.value for m in jsonpath_ng.ext.parse("$.detail").find(event)] == [{"a": 1}]
