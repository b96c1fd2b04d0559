"""The notifier's own queue: per-channel retries, delayed sends, digest flushes, escalations.

A message that is to wait (a retry's backoff, a digest until its window ends, a machine channel's
event until the next window) is sent with ``DelaySeconds`` (SQS allows up to 15 minutes): the
waiting costs nothing and holds no Lambda. A message that has used its attempts goes to the DLQ
(alarmed), as one SQS would move there after its receive count.
"""

from __future__ import annotations

import json
import math
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mypy_boto3_sqs.client import SQSClient

MAX_DELAY = 900  # SQS's largest DelaySeconds


class NotifyQueue:
    def __init__(self, client: SQSClient, url: str, dlq_url: str | None) -> None:
        self._sqs = client
        self._url = url
        self._dlq = dlq_url

    def enqueue(self, body: dict[str, Any], delay: float = 0.0) -> None:
        self._sqs.send_message(
            QueueUrl=self._url,
            MessageBody=json.dumps(body, separators=(",", ":")),
            DelaySeconds=max(0, min(MAX_DELAY, math.ceil(delay))),
        )

    def dead_letter(self, body: dict[str, Any]) -> None:
        if self._dlq is None:
            raise RuntimeError("NOTIFY_DLQ_URL is not set on this function")
        self._sqs.send_message(QueueUrl=self._dlq, MessageBody=json.dumps(body, separators=(",", ":")))
