"""``alertbridge local``: the whole stack on one machine, no Docker, no AWS account.

An AWS emulator (moto: a server on loopback, which the functions and pollers here call in
process, without a socket) with the template's resources, every API route of
template.yaml served on http://127.0.0.1:PORT by the real handlers, the queue delivered to the
incident function in batches, as Lambda's event source mapping does, and the table's stream to the
incident events function, as Lambda's stream event source does. What SNS publishes to the
notifications topic (email and SMS channels) is printed, one line a message, targets masked.
"""

from __future__ import annotations

import errno
import json
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import FrameType
from typing import Any, TextIO
from urllib.parse import parse_qsl, urlsplit

from alertbridge_tools import apigw, datadir
from alertbridge_tools.apigw import mask_tokens, proxy_event
from alertbridge_tools.emulator import MotoServer, arrivals
from alertbridge_tools.template import EventSource, Stack

LOCAL_PARAMETERS = {"Stage": "dev", "RestrictThreatStackSourceIps": "false"}
MAX_REQUEST_BYTES = 10 * 1024 * 1024  # API Gateway's payload limit
IDLE_WAIT = 1.0  # seconds an idle poller waits for an arrival before it polls again anyway
GATHER = 0.1  # seconds from an empty poll to the next while arrivals keep coming (a batch gathers)
SCHEDULE_SECONDS = float(os.environ.get("ALERTBRIDGE_SCHEDULE_SECONDS", "5"))
EXPIRE_SECONDS = 60.0  # how often DynamoDB's Time to Live deletes the expired items here
# Execution environments of a function that scales (webhooks; queue-fed functions, up to their
# mapping's MaximumConcurrency, with as many pollers): Lambda runs each on its own; here they
# share one process and its interpreter lock, so more than a few only add switching.
LOCAL_CONCURRENCY = 4


# Functions whose invocations wait on something outside this process: the notifier's on the
# channels' receivers (Slack, Teams, webhooks, PagerDuty), where a slow one must not hold the others up.
WAITS_OUTSIDE = frozenset({"NotifierFunction"})


def _pollers(source: EventSource) -> int:
    """Poll loops of a queue's event source mapping. For a function that waits outside the process,
    as Lambda scales them, up to the mapping's maximum concurrency (here at most LOCAL_CONCURRENCY).
    Any other function's invocations are CPU in this one interpreter (its AWS calls are in
    process): more loops add no speed, smaller batches, and on one key, conflicts (concurrent
    batches on it each write conditionally; the losers read again and write again). Measured
    (docs/decisions.md): one loop for the incident function made one key's alerts/s 1.4x and the
    p99 at 100 alerts/s a third."""
    if source.function not in WAITS_OUTSIDE:
        return 1
    return max(1, min(source.max_concurrency, LOCAL_CONCURRENCY))


def _concurrency(stack: Stack) -> dict[str, int]:
    """Execution environments per function: the webhooks' and the queue-fed functions' scale; the
    others run one invocation at a time (the management API's resolver is one module-level app)."""
    scaled = {route.function: LOCAL_CONCURRENCY for route in stack.routes if route.path.startswith("/hooks/")}
    return {**scaled, **{source.function: _pollers(source) for source in stack.event_sources}}


class PortInUse(Exception):
    pass


class _Server(ThreadingHTTPServer):
    # Vendors burst (Threat Stack every 10 s, Heroku per event): the default listen backlog of 5
    # resets connections under a burst of 50; API Gateway never does.
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler]) -> None:
        super().__init__(address, handler)
        self.active = 0  # requests being answered (a stop lets them finish before the last snapshot)
        self.idle = threading.Condition()


class LocalStack:
    def __init__(
        self,
        port: int = 3000,
        host: str = "127.0.0.1",
        *,
        quiet: bool = False,
        notifications_out: TextIO | None = None,
        data: Path | None = None,
        auth: str | None = None,
        parameters: Mapping[str, str] | None = None,
    ) -> None:
        """``data``: the data directory to keep the state in (restored from it when it has one);
        None: ephemeral, nothing is kept (what tests and benchmarks use). ``auth="iam"``: the
        template's ``AWS_IAM`` routes (the management API) require SigV4-signed requests, as API
        Gateway does; None: they answer anyone. ``parameters``: template parameters over
        LOCAL_PARAMETERS (``RestrictThreatStackSourceIps=true`` applies the API's resource policy)."""
        try:
            self.http = _Server((host, port), _Handler)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise PortInUse(
                    f"port {port} on {host} is already in use (another `alertbridge local`?)"
                ) from exc
            raise
        self.http.daemon_threads = True
        try:
            self.datadir = datadir.DataDir(data).acquire() if data else None
        except datadir.DataDirError:
            self.http.server_close()
            raise
        self.http.quiet = quiet  # type: ignore[attr-defined]
        self.http.auth = auth  # type: ignore[attr-defined]
        self.base_url = f"http://{host}:{self.http.server_port}"
        self.http.base_url = self.base_url  # type: ignore[attr-defined]
        self.emulator = MotoServer(host)
        self.http.emulator = self.emulator  # type: ignore[attr-defined]
        restored = datadir.restore(self.datadir) if self.datadir else None
        self.emulator.start()
        for name, value in {
            "AWS_ACCESS_KEY_ID": "local",
            "AWS_SECRET_ACCESS_KEY": "local",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_REGION": "us-east-1",
            "AWS_ENDPOINT_URL": self.emulator.url,
            "PUBLIC_BASE_URL": self.base_url,
            # EMF metrics would go to stdout; locally they are noise (CloudWatch reads them on AWS).
            "POWERTOOLS_METRICS_DISABLED": "true",
        }.items():
            os.environ[name] = value
        os.environ.pop("AWS_PROFILE", None)
        os.environ.pop("AWS_SESSION_TOKEN", None)
        # The functions' and pollers' AWS calls reach the emulator in process (botocore still
        # serializes, signs and parses them): no socket, no server thread per call.
        # The session is the one the functions' clients sign from (as their roles, roles.install):
        # the hook must be on it, or every call would go over the emulator's socket.
        import boto3  # noqa: PLC0415

        from alertbridge_tools import roles  # noqa: PLC0415

        roles.install()
        self._events = boto3.DEFAULT_SESSION.events  # type: ignore[union-attr]
        send: Any = self.emulator.send  # botocore types its handlers as returning None
        self._events.register("before-send", send, unique_id=self.emulator.url)
        from alertbridge_tools.harness import Harness  # noqa: PLC0415  (after the environment is set)

        self.harness = Harness.create(
            endpoint_url=self.emulator.url,
            parameters={**LOCAL_PARAMETERS, **(parameters or {})},
            concurrency=_concurrency,
            # The calls to the emulator run in process and never wait on a socket: a batch's keys
            # one after the other; the incident function scales by its pollers instead (_pollers).
            environment={"KEY_WORKERS": "1"},
            existing=datadir.existing(restored),
        )
        self.keeper = (
            datadir.keep(self.datadir, self.emulator, self.harness, restored) if self.datadir else None
        )
        self.data_banner = datadir.banner(self.datadir, restored)
        from alertbridge.observability import logger  # noqa: PLC0415

        self._log_level = logger.log_level  # put back at stop: the process may go on (tests)
        if quiet:
            logger.setLevel("WARNING")
        self.http.harness = self.harness  # type: ignore[attr-defined]
        self.sns_tap = SnsTap(self.harness, notifications_out)
        self._stopping = threading.Event()
        # Each loop: its name, one poll (True when it found work), and where its work arrives.
        steps: list[tuple[str, Callable[[], bool], tuple[str, str]]] = [
            *(
                (f"sqs-{i}-{n}", lambda p=p: p.poll_once(wait_seconds=0).received > 0, ("sqs", p.queue_name))
                for i, (p, source) in enumerate(
                    zip(self.harness.pollers, self.harness.stack.event_sources, strict=True)
                )
                for n in range(_pollers(source))
            ),
            *(
                (f"stream-{s.function}", lambda s=s: s.poll_once().invocations > 0, ("stream", s.table_name))
                for s in self.harness.stream_pollers
            ),
            # printing: a convenience, never in the way
            ("sns-tap", lambda: self.sns_tap.drain() > 0, ("sqs", SnsTap.QUEUE)),
        ]
        self._pollers = [
            threading.Thread(target=self._loop, args=(step, source), name=name, daemon=True)
            for name, step, source in steps
        ]
        self._scheduler = threading.Thread(target=self._schedule, name="scheduler", daemon=True)

    def start(self) -> LocalStack:
        threading.Thread(target=self.http.serve_forever, name="api", daemon=True).start()
        for thread in self._pollers:
            thread.start()
        self._scheduler.start()
        if self.keeper:
            self.keeper.start()
        return self

    def _schedule(self) -> None:
        """The template's schedules (the escalation checker's ``rate(1 minute)``), every
        ``SCHEDULE_SECONDS`` here: the local stack honours escalation steps to a few seconds; and
        every ``EXPIRE_SECONDS``, the tables' Time to Live (``moto_ttl``)."""
        expired_at = time.monotonic()
        while not self._stopping.wait(SCHEDULE_SECONDS):
            try:
                self.harness.run_schedules()
            except Exception:  # keep the timer going, as Scheduler does
                if self._stopping.is_set():
                    return
            if time.monotonic() - expired_at >= EXPIRE_SECONDS:
                expired_at = time.monotonic()
                try:
                    with self.emulator.holding("dynamodb"):
                        self.harness.expire()
                except Exception as exc:  # say so; the next sweep comes a minute later
                    print(f"alertbridge local: a Time to Live sweep failed ({exc!r})", file=sys.stderr)

    def _loop(self, step: Callable[[], bool], source: tuple[str, str]) -> None:
        """One event source mapping's poll loop (each runs on its own, as on AWS: a notifier held
        up by a slow receiver never holds up the incident function). Short polls, and when one
        finds nothing, a wait until something arrives at its queue or stream (``arrivals``: Lambda's
        long poll, without holding the emulator's lock, which would hold up every publish to SQS
        for its duration), or IDLE_WAIT at most (a message whose visibility timeout ran out), and
        under traffic, GATHER between polls so that batches form."""
        while not self._stopping.is_set():
            mark = arrivals.mark(*source)
            try:
                busy = step()
            except Exception:  # keep polling, as the event source mapping does
                if self._stopping.is_set():
                    return
                busy = False
            if not busy:
                emptied = time.monotonic()
                arrivals.wait(*source, mark, IDLE_WAIT, self._stopping)
                # An arrival soon after the queue emptied: traffic is flowing, so let a batch gather
                # until GATHER after the empty poll (a poll per message would cost more per alert).
                # After a longer quiet, the arrival is polled at once (no wait added per hop).
                self._stopping.wait(max(0.0, GATHER - (time.monotonic() - emptied)))

    def stop(self) -> None:
        self._stopping.set()
        arrivals.wake()
        self.http.shutdown()
        self.http.server_close()
        deadline = time.monotonic() + 5  # one budget for every loop: a stop never takes 5 s per thread
        for thread in [*self._pollers, self._scheduler]:
            thread.join(timeout=max(0.0, deadline - time.monotonic()))
        if self.keeper:  # the last snapshot, once the requests being answered are done
            with self.http.idle:
                self.http.idle.wait_for(lambda: self.http.active == 0, max(0.0, deadline - time.monotonic()))
            self.keeper.stop(final=self.emulator.closing)
        self._events.unregister("before-send", unique_id=self.emulator.url)
        self.emulator.stop()
        from alertbridge.observability import logger  # noqa: PLC0415

        logger.setLevel(self._log_level)
        os.environ.pop("AWS_ENDPOINT_URL", None)


class SnsTap:
    """What SNS publishes to the notifications topic, printed: an SQS queue of the local stack's
    own (not in template.yaml) subscribed to the topic, drained by the poll loop. Each message
    becomes ``notification  email  ch_...  o••••@example.com  "subject"`` (SMS: the number's last
    4 digits, and the text, as SNS has no subject for SMS), the target masked as the channels'
    masked views show it."""

    QUEUE = "alertbridge-local-sns-tap"

    def __init__(self, harness: Any, out: TextIO | None = None) -> None:
        self._out = out
        self._sqs = harness.sqs
        self.printed: list[str] = []
        self.queue_url: str | None = None
        topic = os.environ.get("NOTIFICATIONS_TOPIC_ARN")
        if not topic:
            return
        import boto3  # noqa: PLC0415

        self.queue_url = self._sqs.create_queue(QueueName=self.QUEUE)["QueueUrl"]
        arn = self._sqs.get_queue_attributes(QueueUrl=self.queue_url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        sns = boto3.client("sns", region_name=os.environ.get("AWS_REGION", "us-east-1"))
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)

    def drain(self) -> int:
        """Print what the topic published since the last call; how many messages."""
        if self.queue_url is None:
            return 0
        got = self._sqs.receive_message(
            QueueUrl=self.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0
        ).get("Messages", [])
        for message in got:
            line = self.describe(json.loads(message["Body"]))
            self.printed.append(line)
            print(line, file=self._out or sys.stdout, flush=True)
            self._sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])
        return len(got)

    @staticmethod
    def describe(envelope: dict[str, Any]) -> str:
        """One line for an SNS notification envelope (what SNS puts on a subscribed queue)."""
        from alertbridge import runtime  # noqa: PLC0415
        from alertbridge.store.sources import NotFound  # noqa: PLC0415
        from alertbridge.store.topic import CHANNEL_ATTRIBUTE  # noqa: PLC0415

        attributes = envelope.get("MessageAttributes") or {}
        channel_id = str((attributes.get(CHANNEL_ATTRIBUTE) or {}).get("Value") or "?")
        kind, target = "sns", "?"
        try:
            view = runtime.channel_store().get(channel_id).masked_view()
            kind, target = view.kind.value, view.address or view.number or "?"
        except NotFound:
            pass
        text = envelope.get("Subject") or " ".join(str(envelope.get("Message", "")).split())[:160]
        return f"notification  {kind}  {channel_id}  {target}  {json.dumps(text, ensure_ascii=False)}"


class _Handler(BaseHTTPRequestHandler):
    server_version = "alertbridge-local"

    def _serve(self) -> None:
        server = self.server
        assert isinstance(server, _Server)
        with server.idle:
            server.active += 1
        try:
            self._serve_one()
        finally:
            with server.idle:
                server.active -= 1
                server.idle.notify_all()

    def _serve_one(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_REQUEST_BYTES:
            self._reply(413, [("Content-Type", "application/json")], b'{"message":"Request Too Long"}')
            return
        body = self.rfile.read(length) if length else None
        url = urlsplit(self.path)
        if url.path == "/" and self.command == "GET":  # API Gateway has no root route; say what is here
            self._reply(200, [("Content-Type", "text/plain; charset=utf-8")], _index(self.server).encode())
            return
        query = dict(parse_qsl(url.query, keep_blank_values=True))
        harness = self.server.harness  # type: ignore[attr-defined]
        try:
            identity = self._gateway_checks(harness.stack, url.path, body)
        except apigw.Refused as refused:
            self._reply(
                403,
                [("Content-Type", "application/json")],
                json.dumps(refused.body, separators=(",", ":")).encode(),
            )
            return
        event = proxy_event(
            self.command,
            url.path,
            resource=url.path,
            headers=dict(self.headers.items()),
            query=query or None,
            body=body,
            source_ip=self.client_address[0],
            identity=identity,
        )
        try:
            raw = harness.invoke(event)
        except Exception:  # what Lambda reports as an invocation error
            self._reply(502, [("Content-Type", "application/json")], b'{"message": "Internal server error"}')
            raise
        if raw is None:
            body = json.dumps({"message": apigw.MISSING_TOKEN}, separators=(",", ":")).encode()
            self._reply(403, [("Content-Type", "application/json")], body)
            return
        payload = raw.get("body") or ""
        data = _decode(payload, bool(raw.get("isBase64Encoded")))
        self._reply(int(raw["statusCode"]), apigw.response_headers(raw), data)

    def _gateway_checks(self, stack: Stack, path: str, body: bytes | None) -> dict[str, str] | None:
        """What API Gateway checks before it calls a route's function: the API's resource policy
        (the caller's address is the TCP peer's) and, with ``--auth iam``, the SigV4 signature of an
        ``AWS_IAM`` route. The IAM caller's identity, if any; raises ``apigw.Refused``."""
        found = stack.route(self.command, path)
        if found is None:
            return None  # no route: API Gateway's Missing Authentication Token, after the invocation
        identity = None
        if found[0].iam and self.server.auth == "iam":  # type: ignore[attr-defined]
            host = self.headers.get("Host") or self.server.base_url.split("//", 1)[1]  # type: ignore[attr-defined]
            # The keys are looked up in moto's IAM and STS backends: not while a call changes them.
            with self.server.emulator.exclusive():  # type: ignore[attr-defined]
                identity = apigw.iam_identity(
                    self.command, f"http://{host}{self.path}", dict(self.headers.items()), body
                )
        if stack.resource_policy:
            apigw.resource_policy_check(
                stack.resource_policy,
                self.command,
                path,
                stage=stack.parameters["Stage"],
                source_ip=self.client_address[0],
            )
        return identity

    def _reply(self, status: int, headers: list[tuple[str, str]], data: bytes) -> None:
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

    def log_message(self, format: str, *args: Any) -> None:
        if not self.server.quiet:  # type: ignore[attr-defined]
            sys.stderr.write(f"{self.address_string()} {mask_tokens(format % args)}\n")


def _index(server: Any) -> str:
    base = server.base_url
    return (
        "alertbridge local\n\n"
        f"  status page   {base}/status  ({base}/status.json)\n"
        f"  webhooks      POST {base}/hooks/<source>/<token>\n"
        f"  management    {base}/api/...  (the alertbridge CLI: export ALERTBRIDGE_URL={base})\n"
    )


def _decode(payload: str, is_base64: bool) -> bytes:
    import base64  # noqa: PLC0415

    return base64.b64decode(payload) if is_base64 else payload.encode()


def run(
    port: int,
    on_ready: Callable[[LocalStack], None] | None = None,
    data: Path | None = None,
    *,
    auth: str | None = None,
    parameters: Mapping[str, str] | None = None,
) -> int:
    """Start, print the base URL, serve until Ctrl-C or SIGTERM (``data``: the data directory;
    None: ephemeral; ``auth``, ``parameters``: as :class:`LocalStack`)."""
    try:
        stack = LocalStack(port, data=data, auth=auth, parameters=parameters).start()
    except PortInUse as exc:
        print(f"alertbridge local: {exc}. Stop it or choose another port with --port.", file=sys.stderr)
        return 2
    except datadir.DataDirError as exc:
        print(f"alertbridge local: {exc}", file=sys.stderr)
        return 2
    stopped = threading.Event()

    def stop(_signum: int, _frame: FrameType | None) -> None:
        stopped.set()

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    print(f"alertbridge local is up: {stack.base_url}", flush=True)
    print(f"  webhooks   POST {stack.base_url}/hooks/<source>/<token>", flush=True)
    print(
        f"  management      {stack.base_url}/api/...   (export ALERTBRIDGE_URL={stack.base_url})", flush=True
    )
    if auth == "iam":
        print("  auth            IAM: /api/... needs SigV4-signed requests (alertbridge --sign)", flush=True)
    print(f"  status page GET {stack.base_url}/status   (and /status.json)", flush=True)
    print(f"  AWS emulator    {stack.emulator.url}", flush=True)
    for line in stack.data_banner:
        print(line, flush=True)
    if on_ready:
        on_ready(stack)
    stopped.wait()
    print("alertbridge local: stopping", flush=True)
    stack.stop()
    return 0
