"""The real functions wired to an emulated stack, in one process: what the tests, the demo and the
local stack drive. Webhooks go through the real handlers as API Gateway proxy events; the queue is
delivered to the incident function by the event-source-mapping poller, and the table's stream to
the incident events function by the stream poller."""

from __future__ import annotations

import base64
import json
import os
import threading
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import boto3
from alertbridge import runtime
from alertbridge.models.records import Source, SourceSettings
from botocore.config import Config

from alertbridge_tools import moto_streams
from alertbridge_tools.apigw import proxy_event, webhook_event
from alertbridge_tools.esm import Handler, PollResult, QueuePoller
from alertbridge_tools.streams import StreamPoller
from alertbridge_tools.template import REGION, Stack, create_stack


@dataclass
class LambdaContext:
    """What Powertools reads from the Lambda context."""

    function_name: str
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = ""
    aws_request_id: str = ""

    @classmethod
    def for_function(cls, name: str) -> LambdaContext:
        return cls(
            function_name=name,
            invoked_function_arn=f"arn:aws:lambda:{REGION}:123456789012:function:{name}",
            aws_request_id=str(uuid.uuid4()),
        )


@dataclass
class Response:
    status: int
    body: Any
    headers: dict[str, str]


class Harness:
    def __init__(self, stack: Stack, *, endpoint_url: str | None = None) -> None:
        self.stack = stack
        self.endpoint_url = endpoint_url
        os.environ.update(stack.environment())
        if endpoint_url is None:  # in-process moto is not thread-safe: one dedup key at a time
            os.environ["KEY_WORKERS"] = "1"
        os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "alertbridge-local")
        if endpoint_url:
            os.environ["AWS_ENDPOINT_URL"] = endpoint_url
        runtime.reset()
        self._locks: dict[str, threading.Lock] = {}
        self.sqs = boto3.client("sqs", region_name=REGION, endpoint_url=endpoint_url)
        self.handlers: dict[str, Handler] = {name: fn.load() for name, fn in stack.functions.items()}
        self.pollers = [
            QueuePoller(
                self.sqs,
                es.queue_url,
                self.sqs.get_queue_attributes(QueueUrl=es.queue_url, AttributeNames=["QueueArn"])[
                    "Attributes"
                ]["QueueArn"],
                self._invoker(es.function),
                batch_size=es.batch_size,
                report_failures=es.report_failures,
            )
            for es in stack.event_sources
        ]
        # botocore routes a call naming a stream ARN to the account's endpoint
        # (<account>.streams-ddb.<region>.amazonaws.com), which in-process moto 5.2.5 does not serve.
        moto_streams.apply()  # the table's stream holds committed writes only (see there)
        self.streams = boto3.client(
            "dynamodbstreams",
            region_name=REGION,
            endpoint_url=endpoint_url,
            config=Config(account_id_endpoint_mode="disabled"),
        )
        self.stream_pollers = [
            StreamPoller(self.streams, self.sqs, source, self._invoker(source.function))
            for source in stack.stream_sources
        ]

    @classmethod
    def create(cls, *, endpoint_url: str | None = None, parameters: dict[str, str] | None = None) -> Harness:
        session = boto3.Session(region_name=REGION)
        return cls(
            create_stack(session, parameters=parameters, endpoint_url=endpoint_url), endpoint_url=endpoint_url
        )

    def _invoker(self, function: str) -> Handler:
        # One invocation at a time per function, as in one Lambda execution environment (handler
        # modules keep per-invocation state, e.g. the resolver's current event).
        lock = self._locks.setdefault(function, threading.Lock())

        def invoke(event: dict[str, Any], _context: Any) -> dict[str, Any]:
            with lock:
                return self.handlers[function](event, LambdaContext.for_function(function))

        return invoke

    def invoke(self, event: dict[str, Any]) -> dict[str, Any] | None:
        """Route a proxy event the way API Gateway would and call the function: its raw answer,
        or None when no route matches."""
        found = self.stack.route(event["httpMethod"], event["path"])
        if found is None:
            return None
        route, params = found
        event = {**event, "pathParameters": params or None, "resource": route.path}
        return self._invoker(route.function)(event, None)

    # --- driving it ---------------------------------------------------------------------------
    def add_source(
        self, service_id: str, source: str, settings: SourceSettings | None = None
    ) -> tuple[Source, str]:
        return runtime.source_store().add_source(service_id, source, settings or SourceSettings())

    def request(self, event: dict[str, Any]) -> Response:
        """Route a proxy event the way API Gateway would, and call the function."""
        raw = self.invoke(event)
        if raw is None:
            return Response(403, {"message": "Missing Authentication Token"}, {})  # API Gateway's answer
        body = raw.get("body") or ""
        if raw.get("isBase64Encoded"):
            body = base64.b64decode(body).decode()
        try:
            parsed = json.loads(body) if body else None
        except ValueError:
            parsed = body
        return Response(int(raw["statusCode"]), parsed, dict(raw.get("headers") or {}))

    def post(
        self,
        source: str,
        token: str,
        body: bytes,
        headers: Mapping[str, str] | None = None,
        *,
        binary: bool = True,
    ) -> Response:
        return self.request(webhook_event(source, token, body, headers, binary=binary))

    def call(
        self, method: str, path: str, body: Any = None, query: Mapping[str, str] | None = None
    ) -> Response:
        """A management/status API call, JSON in and out."""
        raw = None if body is None else json.dumps(body).encode()
        headers = {"Content-Type": "application/json", "Host": "127.0.0.1"}
        return self.request(
            proxy_event(method, path, resource=path, query=query, headers=headers, body=raw, binary=False)
        )

    def pump(self) -> PollResult:
        """Deliver everything queued to the incident function (retrying what fails, as SQS would),
        then the table's stream to the incident events function, and again while either moved
        something (a queue fed from the bus gets the incident events). Returns the queues' totals."""
        total = PollResult()
        while True:
            for poller in self.pollers:
                step = poller.drain()
                total.received += step.received
                total.deleted += step.deleted
                total.failed += step.failed
                total.invocations += step.invocations
            if not sum(poller.drain().invocations for poller in self.stream_pollers):
                return total
