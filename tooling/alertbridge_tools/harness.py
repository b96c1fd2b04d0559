"""The real functions wired to an emulated stack, in one process: what the tests, the demo and the
local stack drive. Webhooks go through the real handlers as API Gateway proxy events; the queue is
delivered to the incident function by the event-source-mapping poller, and the table's stream to
the incident events function by the stream poller."""

from __future__ import annotations

import base64
import contextvars
import json
import math
import os
import queue
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import boto3
from alertbridge import runtime, timestamps
from alertbridge.models.records import Source, SourceSettings
from botocore.config import Config

from alertbridge_tools import logs, moto_streams, moto_ttl, roles
from alertbridge_tools.apigw import heartbeat_event, proxy_event, response_headers, webhook_event
from alertbridge_tools.client import ApiError, Client
from alertbridge_tools.esm import Handler, PollResult, QueuePoller
from alertbridge_tools.streams import StreamPoller
from alertbridge_tools.template import REGION, TEMPLATE, Stack, create_stack


@dataclass
class LambdaContext:
    """What Powertools reads from the Lambda context; the time left counts down from the
    function's Timeout, as on Lambda (Powertools' idempotency reads it)."""

    function_name: str
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = ""
    aws_request_id: str = ""
    deadline: float = math.inf  # time.monotonic() when the invocation times out

    @classmethod
    def for_function(cls, name: str, timeout: float = 3) -> LambdaContext:
        return cls(
            function_name=name,
            invoked_function_arn=f"arn:aws:lambda:{REGION}:123456789012:function:{name}",
            aws_request_id=str(uuid.uuid4()),
            deadline=time.monotonic() + timeout,
        )

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.deadline - time.monotonic()) * 1000))


@dataclass
class Response:
    status: int
    body: Any
    headers: dict[str, str]


class _Environments:
    """A function's execution environments, as Lambda scales them: an invocation takes an idle
    one, or starts one more (the handler module loaded afresh: its init runs) while fewer than
    ``limit`` exist, or waits for one. Each runs one invocation at a time (handler modules keep
    per-invocation state, e.g. the resolver's current event). The first is ``handlers[function]``
    (tests may replace it), the others are the pool's own."""

    def __init__(self, harness: Harness, function: str, limit: int, timeout: float = 3) -> None:
        """``timeout``: the function's, in seconds (its invocations' context counts down from it)."""
        self._harness = harness
        self._function = function
        self._limit = limit
        self._timeout = timeout
        self._idle: queue.SimpleQueue[int] = queue.SimpleQueue()
        self._idle.put(0)
        self._more: list[Handler] = []
        self._grow = threading.Lock()

    def _take(self) -> int:
        try:
            return self._idle.get_nowait()
        except queue.Empty:
            pass
        with self._grow:
            if len(self._more) + 1 < self._limit:
                self._more.append(self._harness.load(self._function))
                return len(self._more)
        return self._idle.get()

    def run(self, event: dict[str, Any]) -> dict[str, Any]:
        index = self._take()
        try:
            handler = self._harness.handlers[self._function] if index == 0 else self._more[index - 1]
            # Its own copy of the logger's keys (function name, request id, delivery id), as in
            # its own execution environment: other functions' invocations do not see them; and
            # its role's keys to sign its AWS calls with.
            run = contextvars.copy_context().run
            context = LambdaContext.for_function(self._function, self._timeout)
            result: dict[str, Any] = run(
                self._harness.run_as, self._function, logs.invoke, handler, event, context
            )
            return result
        finally:
            self._idle.put(index)


class Harness:
    def __init__(
        self,
        stack: Stack,
        *,
        endpoint_url: str | None = None,
        concurrency: Mapping[str, int] | None = None,
        environment: Mapping[str, str] | None = None,
    ) -> None:
        """``concurrency``: how many execution environments a function may have at once (1 unless
        named), as Lambda scales a function out under concurrent requests or event source pollers.
        ``environment``: variables that replace the template's for every function."""
        self.stack = stack
        self.endpoint_url = endpoint_url
        os.environ.update(stack.environment())
        os.environ.update(environment or {})
        if endpoint_url is None:  # in-process moto is not thread-safe: one dedup key at a time
            os.environ["KEY_WORKERS"] = "1"
        os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "alertbridge-local")
        # Channels may point at loopback receivers here (tests, the local stack); never on AWS.
        os.environ.setdefault("NOTIFY_ALLOW_PRIVATE", "true")
        if endpoint_url:
            os.environ["AWS_ENDPOINT_URL"] = endpoint_url
        runtime.reset()
        logs.per_invocation()  # the functions share one process here: each invocation its own keys
        roles.install()  # ... and each signs its AWS calls with its own role's keys
        self.roles = roles.create_roles(stack)
        self._environments = {
            name: _Environments(self, name, max(1, (concurrency or {}).get(name, 1)), function.timeout)
            for name, function in stack.functions.items()
        }
        # Grows with every function invocation and every item Time to Live deletes: the local stack
        # snapshots after activity (a sweep alone changes the state too).
        self.activity = 0
        self.sqs = boto3.client("sqs", region_name=REGION, endpoint_url=endpoint_url)
        self.handlers: dict[str, Handler] = {name: self.load(name) for name in stack.functions}
        # Lambda polls a function's queue and stream, and sends to its on-failure destination, with
        # the function's execution role.
        self.pollers = [
            QueuePoller(
                roles.client(self.roles[es.function], "sqs", endpoint_url),
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
        self.streams = boto3.client(  # the tests' own reader of the stream
            "dynamodbstreams",
            region_name=REGION,
            endpoint_url=endpoint_url,
            config=Config(account_id_endpoint_mode="disabled"),
        )
        self.stream_pollers = [
            StreamPoller(
                roles.client(
                    self.roles[source.function],
                    "dynamodbstreams",
                    endpoint_url,
                    config=Config(account_id_endpoint_mode="disabled"),
                ),
                roles.client(self.roles[source.function], "sqs", endpoint_url),
                source,
                self._invoker(source.function),
            )
            for source in stack.stream_sources
        ]

    @classmethod
    def create(
        cls,
        *,
        endpoint_url: str | None = None,
        parameters: dict[str, str] | None = None,
        concurrency: Callable[[Stack], Mapping[str, int]] | None = None,
        environment: Mapping[str, str] | None = None,
        existing: Stack | None = None,
        template_path: Path = TEMPLATE,
    ) -> Harness:
        """``concurrency``: from the stack, how many execution environments each function may have.
        ``existing``: the resources an emulator restored from a data directory holds (reused)."""
        session = boto3.Session(region_name=REGION)
        stack = create_stack(
            session,
            parameters=parameters,
            endpoint_url=endpoint_url,
            existing=existing,
            template_path=template_path,
        )
        return cls(
            stack,
            endpoint_url=endpoint_url,
            concurrency=concurrency(stack) if concurrency else None,
            environment=environment,
        )

    def load(self, function: str) -> Handler:
        """A new execution environment's handler: its module's init runs as the function's role."""
        handler: Handler = contextvars.copy_context().run(
            self.run_as, function, self.stack.functions[function].load
        )
        return handler

    def run_as(self, function: str, call: Callable[..., Any], *args: Any) -> Any:
        """``call(*args)`` signing its AWS calls with ``function``'s role (in a context of its own)."""
        return roles.acting_as(self.roles[function], call, *args)

    def _invoker(self, function: str) -> Handler:
        environments = self._environments[function]

        def invoke(event: dict[str, Any], _context: Any) -> dict[str, Any]:
            self.activity += 1
            return environments.run(event)

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
        return Response(int(raw["statusCode"]), parsed, dict(response_headers(raw)))

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

    def heartbeat(self, token: str, method: str = "GET", body: bytes | None = None) -> Response:
        """A cron job's ping of ``/hooks/heartbeat/{token}``."""
        return self.request(heartbeat_event(token, method, body))

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
        """Deliver everything queued to the functions fed by queues (retrying what fails, as SQS
        would), then the table's stream to the incident events function, again while either moved
        something (a queue fed from the bus gets the incident events); then run the scheduled
        functions once (the escalation checker) and deliver what they queued. Returns the totals of
        the first delivery (what was queued when called)."""
        total = PollResult()
        scheduled, first = False, True
        while True:
            for poller in self.pollers:
                step = poller.drain()
                if first:  # the totals are what was queued when called (the alerts), not what followed
                    total.received += step.received
                    total.deleted += step.deleted
                    total.failed += step.failed
                    total.invocations += step.invocations
            first = False
            if sum(poller.drain().invocations for poller in self.stream_pollers):
                continue
            if scheduled or not self.run_schedules():
                return total
            scheduled = True

    # --- time: schedules and a fast-forwarded clock -------------------------------------------
    def run_schedules(self) -> int:
        """Invoke every scheduled function once, as EventBridge Scheduler would; how many ran."""
        for schedule in self.stack.schedules:
            event = {"source": "aws.scheduler", "detail-type": "Scheduled Event", "detail": {}}
            self._invoker(schedule.function)(event, None)
        return len(self.stack.schedules)

    def expire(self) -> int:
        """DynamoDB's Time to Live, applied now (``moto_ttl``): how many expired items went."""
        swept = moto_ttl.sweep(timestamps.now().timestamp())
        self.activity += swept
        return swept

    def start_of_minute(self) -> None:
        """Fast-forward to half a second into the next wall-clock minute: a channel's rate window
        is one such minute, so what a test sends next falls into one window, not across two."""
        moment = timestamps.now()
        self.advance(60 - moment.second - moment.microsecond / 1e6 + 0.5)

    def advance(self, seconds: float) -> None:
        """Fast-forward: ``alertbridge.timestamps.now()`` and the emulated queues' delays and
        visibility timeouts move ``seconds`` ahead (escalation after N minutes, a retry's backoff,
        a digest's window, without waiting for them)."""
        from moto.sqs.models import sqs_backends  # noqa: PLC0415  (the emulator runs in this process)

        timestamps.advance(seconds)
        shift = seconds * 1000
        for account in sqs_backends.values():
            for backend in account.values():
                for emulated in backend.queues.values():
                    for message in emulated._messages:
                        message.delayed_until -= shift
                        message.visible_at -= shift


class HarnessApi(Client):
    """The CLI's ``Client`` (``cli.run(args, HarnessApi(h))``), its requests answered in-process by
    the harness instead of over HTTP: the same headers (``Idempotency-Key``) and ``ApiError``s.
    Nothing fails on the way in process, so nothing is retried."""

    def __init__(self, harness: Harness) -> None:
        super().__init__("http://127.0.0.1")
        self._harness = harness

    def _send(self, method: str, url: str, data: bytes | None, headers: dict[str, str]) -> Any:
        parts = urlsplit(url)
        answer = self._harness.request(
            proxy_event(
                method,
                parts.path,
                resource=parts.path,
                query=dict(parse_qsl(parts.query, keep_blank_values=True)) or None,
                headers={"Host": "127.0.0.1", **headers},
                body=data,
                binary=False,
            )
        )
        if answer.status >= 400:
            raise ApiError.of(answer.status, answer.body)
        return answer.body
