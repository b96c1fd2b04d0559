"""Fault injection at the AWS client level: calls answered with an AWS error (or an exception)
before they leave the client, the rest going to moto as usual."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import boto3
from botocore.awsrequest import AWSResponse


@contextmanager
def aws_error(
    client: Any, operation: str, code: str, when: Callable[[dict[str, Any]], bool], status: int = 400
) -> Iterator[list[dict[str, Any]]]:
    """``operation`` (e.g. "dynamodb.PutItem") fails with ``code`` whenever ``when(request)`` is true;
    yields the list of requests that were failed."""
    failed: list[dict[str, Any]] = []

    def before_call(params: dict[str, Any], **_: Any) -> tuple[AWSResponse, dict[str, Any]] | None:
        request = json.loads(params["body"] or b"{}")
        if not when(request):
            return None
        failed.append(request)
        error = {
            "Error": {"Code": code, "Message": "injected fault"},
            "ResponseMetadata": {"HTTPStatusCode": status},
        }
        return AWSResponse("https://aws.local", status, {}, None), error

    event = f"before-call.{operation}"
    client.meta.events.register(event, before_call)
    try:
        yield failed
    finally:
        client.meta.events.unregister(event, before_call)


def every_nth(
    n: int, predicate: Callable[[dict[str, Any]], bool] = lambda _r: True
) -> Callable[[dict[str, Any]], bool]:
    seen = {"count": 0}

    def when(request: dict[str, Any]) -> bool:
        if not predicate(request):
            return False
        seen["count"] += 1
        return seen["count"] % n == 0

    return when


def first(n: int, predicate: Callable[[dict[str, Any]], bool]) -> Callable[[dict[str, Any]], bool]:
    seen = {"count": 0}

    def when(request: dict[str, Any]) -> bool:
        if predicate(request) and seen["count"] < n:
            seen["count"] += 1
            return True
        return False

    return when


def incident_write(request: dict[str, Any]) -> bool:
    """A write of an incident episode (PutItem or transaction)."""
    item = request.get("Item") or {}
    if item:
        return str(item.get("PK", {}).get("S", "")).startswith("inc_")
    return "TransactItems" in request


@contextmanager
def refuse(client: Any, decide: Callable[[int, int], bool]) -> Iterator[list[int]]:
    """PutEvents entries for which decide(call, index) is True are refused by 'the bus' (never
    sent); the others really go to moto. Yields the sizes of the PutEvents calls made."""
    calls: list[int] = []

    def before_call(params: dict[str, Any], **_: Any) -> tuple[AWSResponse, dict[str, Any]]:
        entries = json.loads(params["body"])["Entries"]
        n = len(calls)
        calls.append(len(entries))
        keep = [e for i, e in enumerate(entries) if not decide(n, i)]
        results: list[dict[str, Any]] = []
        sent = iter([])
        if keep:
            real = boto3.client("events", region_name="us-east-1")
            sent = iter(real.put_events(Entries=[_unwire(e) for e in keep])["Entries"])
        for i, _e in enumerate(entries):
            if decide(n, i):
                results.append({"ErrorCode": "InternalFailure", "ErrorMessage": "injected"})
            else:
                results.append(next(sent))
        failed = sum(1 for r in results if "ErrorCode" in r)
        return AWSResponse("https://events.local", 200, {}, None), {
            "FailedEntryCount": failed,
            "Entries": results,
        }

    client.meta.events.register("before-call.events.PutEvents", before_call)
    try:
        yield calls
    finally:
        client.meta.events.unregister("before-call.events.PutEvents", before_call)


def _unwire(wire: dict[str, Any]) -> dict[str, Any]:
    return {k: wire[k] for k in ("Source", "DetailType", "Detail", "EventBusName") if k in wire}
