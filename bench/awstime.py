"""Handler time on moto, billed as on AWS: the time measured, minus the time spent in AWS calls
(moto's CPU says nothing about AWS), plus each call's typical duration as a function in the same
region observes it through boto3 (the round trip and botocore's own work on the call)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

# A call's duration as a Lambda function in the same region sees it through boto3 (typical medians:
# the round trip plus botocore's work on the request and the answer).
LATENCY_MS = {
    "dynamodb": 6.0,
    "dynamodb.BatchGetItem": 9.0,
    "dynamodb.TransactWriteItems": 12.0,
    "events": 20.0,
    "s3": 30.0,
}


@dataclass
class Timed:
    wall_ms: float = 0.0
    emulated_ms: float = 0.0  # inside AWS calls to moto (any client: the SQS poller's are not Lambda time)
    calls_ms: list[float] = field(default_factory=list)  # each function call's round trip on AWS

    @property
    def own_ms(self) -> float:
        """Our own work: everything but the emulated calls."""
        return max(0.0, self.wall_ms - self.emulated_ms)

    def billed_ms(self, overlap: int = 1, serial: int = 0) -> float:
        """The time on AWS: the first ``serial`` calls one after the other, the rest ``overlap`` at a time."""
        head, rest = self.calls_ms[:serial], self.calls_ms[serial:]
        return self.own_ms + sum(head) + sum(rest) / max(1, overlap)


@contextmanager
def aws_time() -> Iterator[Timed]:
    """Time a stretch of work on moto, splitting out the AWS calls (botocore's work and moto's)."""
    from botocore.client import BaseClient

    timed = Timed()
    original = BaseClient._make_api_call

    def call(self: Any, operation: str, params: Any) -> Any:
        started = time.perf_counter()
        try:
            return original(self, operation, params)
        finally:
            timed.emulated_ms += (time.perf_counter() - started) * 1000
            service = self.meta.service_model.service_name
            if service in ("dynamodb", "events", "s3"):
                timed.calls_ms.append(LATENCY_MS.get(f"{service}.{operation}", LATENCY_MS[service]))

    BaseClient._make_api_call = call  # type: ignore[method-assign]
    started = time.perf_counter()
    try:
        yield timed
    finally:
        timed.wall_ms = (time.perf_counter() - started) * 1000
        BaseClient._make_api_call = original  # type: ignore[method-assign]
