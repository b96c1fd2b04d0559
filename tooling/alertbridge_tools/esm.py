"""An SQS -> function poller that behaves like Lambda's SQS event source mapping.

Up to ``batch_size`` messages per invocation (SQS hands out 10 per receive; the batching window
lets more gather), the handler's ``batchItemFailures`` honoured (only those messages come back,
after their visibility timeout), an exception fails the whole batch, and the queue's redrive policy
moves a message that keeps failing to the DLQ after maxReceiveCount receives.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from alertbridge_tools.template import REGION

_log = logging.getLogger("alertbridge.local.esm")

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]


@dataclass
class PollResult:
    received: int = 0
    deleted: int = 0
    failed: int = 0
    invocations: int = 0


class QueuePoller:
    def __init__(
        self,
        sqs: Any,
        queue_url: str,
        queue_arn: str,
        handler: Handler,
        *,
        batch_size: int = 10,
        batching_window: float = 0.0,
        report_failures: bool = True,
        retry_delay: int = 0,
        context: Any = None,
    ) -> None:
        self._sqs = sqs
        self._url = queue_url
        self._arn = queue_arn
        self._handler = handler
        self._batch_size = batch_size
        self._window = batching_window
        self._report_failures = report_failures
        self._retry_delay = retry_delay  # visibility of failed messages before they come back
        self._context = context

    @property
    def queue_name(self) -> str:
        return self._url.rsplit("/", 1)[-1]

    def poll_once(self, wait_seconds: int = 0) -> PollResult:
        messages = self._gather(wait_seconds)
        result = PollResult(received=len(messages))
        if not messages:
            return result
        event = {"Records": [self._record(m) for m in messages]}
        result.invocations = 1
        try:
            response = self._handler(event, self._context) or {}
            failed_ids = {f["itemIdentifier"] for f in response.get("batchItemFailures", [])}
            if not self._report_failures and failed_ids:
                failed_ids = {m["MessageId"] for m in messages}
        except (KeyboardInterrupt, SystemExit):
            raise
        except BaseException:  # as Lambda: an invocation error (or a crash) fails the whole batch
            _log.exception("invocation failed; the whole batch returns to the queue")
            failed_ids = {m["MessageId"] for m in messages}
        done = [m for m in messages if m["MessageId"] not in failed_ids]
        for start in range(0, len(done), 10):
            chunk = done[start : start + 10]
            self._sqs.delete_message_batch(
                QueueUrl=self._url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(chunk)],
            )
        for m in messages:
            if m["MessageId"] in failed_ids:
                self._sqs.change_message_visibility(
                    QueueUrl=self._url, ReceiptHandle=m["ReceiptHandle"], VisibilityTimeout=self._retry_delay
                )
        result.deleted = len(done)
        result.failed = len(failed_ids)
        return result

    def drain(self, max_invocations: int = 1000) -> PollResult:
        """Invoke until the queue has nothing visible (failed messages come back and are retried)."""
        total = PollResult()
        for _ in range(max_invocations):
            step = self.poll_once()
            if not step.received:
                break
            total.received += step.received
            total.deleted += step.deleted
            total.failed += step.failed
            total.invocations += step.invocations
        return total

    def _gather(self, wait_seconds: int) -> list[dict[str, Any]]:
        messages: list[dict[str, Any]] = []
        deadline = time.monotonic() + self._window
        while len(messages) < self._batch_size:
            resp = self._sqs.receive_message(
                QueueUrl=self._url,
                MaxNumberOfMessages=min(10, self._batch_size - len(messages)),
                WaitTimeSeconds=wait_seconds if not messages else 0,
                AttributeNames=["All"],
                MessageAttributeNames=["All"],
            )
            got = resp.get("Messages", [])
            messages.extend(got)
            if not got and time.monotonic() >= deadline:
                break
            if not got:
                time.sleep(0.05)
        return messages

    def _record(self, message: dict[str, Any]) -> dict[str, Any]:
        return {
            "messageId": message["MessageId"],
            "receiptHandle": message["ReceiptHandle"],
            "body": message["Body"],
            "attributes": message.get("Attributes", {}),
            "messageAttributes": message.get("MessageAttributes", {}),
            "md5OfBody": message.get("MD5OfBody", ""),
            "eventSource": "aws:sqs",
            "eventSourceARN": self._arn,
            "awsRegion": REGION,
        }
