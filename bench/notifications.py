"""Notification benchmarks (bench/run.py runs them: ``--only notify``, ``--only notify_latency``).

- ``notify.latency.local``: webhook -> notification on ``alertbridge local``: N Kapacitor webhooks
  over HTTP, each opening an incident, a Slack-like loopback receiver as the service's channel;
  p50/p99 from the webhook's 202 to the receiver getting the message. Floor: one POST from here
  straight to the receiver (the HTTP send alone).
- ``notify.latency.aws_model``: the same path on AWS, **a model**: the sum of typical durations
  (listed in ``AWS_TYPICAL_MS`` with their sources), the functions' own times measured here on moto
  with bench/awstime.py's call durations. Floor: the same sum with every function taking 0 ms (the
  batching windows and the AWS hops alone).
- ``notify.cost.*``: the notifier's cost per million notifications (one Slack channel, one
  notification per incident opened), from what the functions really did here: AWS requests counted
  with botocore (as bench/run.py counts ingest's), DynamoDB capacity (bench/capacity.py), KMS
  decrypts, handler time billed as bench/awstime.py bills it, plus the incident events function's
  share per event. SNS's own per-message price for email/SMS is a separate note figure. Floor: the
  transport alone (the SQS requests, the EventBridge entry and both functions' Lambda requests; no
  compute time, no DynamoDB, no KMS).
"""

from __future__ import annotations

import json
import math
import os
import re
import statistics
import threading
import time
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import capacity  # bench/capacity.py (bench/ is on sys.path: bench/run.py puts it there)
from awstime import aws_time

# us-east-1 list prices (USD), November 2026 pricing pages, beyond bench/run.py's PRICE.
PRICE = {
    "kms_request": 0.03 / 10_000,
    "sns_publish_request": 0.50 / 1e6,  # after the first million a month
    "sns_email": 2.00 / 100_000,
    "sns_sms_us": 0.00581,  # the US base price per message part; carrier fees and other countries extra
}

# Typical durations (ms) of what is not our code, on AWS. Sources:
AWS_TYPICAL_MS = {
    # API Gateway REST API overhead (its Latency less IntegrationLatency in CloudWatch): typically
    # 10-20 ms in-region (API Gateway metrics docs define both; the figure is the usual observation).
    "api_gateway_overhead": 15.0,
    # EventBridge PutEvents -> target: AWS announced a P99 end-to-end latency of 129 ms for event
    # buses (March 2024); used as the typical figure (conservative for a median).
    "eventbridge_to_sqs": 130.0,
    # DynamoDB Streams: Lambda polls each shard 4 times a second (Lambda docs, "Using Lambda with
    # DynamoDB"): 125 ms on average before the record is read.
    "dynamodb_stream_poll": 125.0,
    # The outbound HTTP send of a Slack incoming webhook from us-east-1: not an AWS figure; our
    # assumption of one TLS connection set-up and answer (~2 round trips to Slack's edge + its work).
    "slack_http_send": 150.0,
    # Extra AWS calls the notifier makes (not in bench/awstime.py's list): SNS Publish, SQS
    # SendMessage (delayed sends), KMS Decrypt (channels cached: once a container).
    "sns": 20.0,
    "sqs": 10.0,
    "kms": 8.0,
}


def _template() -> dict[str, Any]:
    from alertbridge_tools.template import load_template

    return load_template()["Resources"]  # type: ignore[no-any-return]


def batching_window(function: str) -> float:
    """MaximumBatchingWindowInSeconds of ``function``'s event source (template.yaml), in ms: at low
    traffic the event source mapping waits the whole window before invoking."""
    resources = _template()
    for resource in resources.values():
        props = resource.get("Properties", {})
        if resource["Type"] == "AWS::Lambda::EventSourceMapping" and props.get("FunctionName") == {
            "Ref": function
        }:
            return float(props.get("MaximumBatchingWindowInSeconds", 0)) * 1000
    for event in (resources[function]["Properties"].get("Events") or {}).values():
        if "MaximumBatchingWindowInSeconds" in event.get("Properties", {}):
            return float(event["Properties"]["MaximumBatchingWindowInSeconds"]) * 1000
    return 0.0


# --- what each function did ------------------------------------------------------------------------
class Usage:
    def __init__(self) -> None:
        self.invocations = 0
        self.billed_ms: list[float] = []
        self.calls: Counter[str] = Counter()  # "service.Operation"
        self.wru = 0.0
        self.rru = 0.0


@contextmanager
def _api_calls(calls: Counter[str]) -> Iterator[None]:
    from botocore.client import BaseClient

    inner = BaseClient._make_api_call

    def call(self: Any, operation: str, params: Any) -> Any:
        calls[f"{self.meta.service_model.service_name}.{operation}"] += 1
        if operation == "PutEvents":  # EventBridge bills entries, not calls
            calls["events.PutEvents.entries"] += len(params.get("Entries", ()))
        return inner(self, operation, params)

    BaseClient._make_api_call = call  # type: ignore[method-assign]
    try:
        yield
    finally:
        BaseClient._make_api_call = inner  # type: ignore[method-assign]


def instrument(harness: Any, functions: list[str]) -> dict[str, Usage]:
    """Wrap the harness's handlers of ``functions``: per invocation, its AWS calls, DynamoDB capacity
    and its time billed as on AWS (awstime's call durations, plus ``AWS_TYPICAL_MS`` for SNS, SQS
    and KMS, which awstime does not count)."""
    from alertbridge import runtime

    usage = {name: Usage() for name in functions}
    for name in functions:
        original = harness.handlers[name]

        def wrapped(event: Any, context: Any, _original: Any = original, _u: Usage = usage[name]) -> Any:
            calls: Counter[str] = Counter()
            with aws_time() as timed, capacity.measure(runtime.dynamodb()) as units, _api_calls(calls):
                result = _original(event, context)
            extra = sum(
                n * AWS_TYPICAL_MS[c.split(".")[0]]
                for c, n in calls.items()
                if c.split(".")[0] in ("sns", "sqs", "kms")
            )
            _u.invocations += 1
            _u.billed_ms.append(timed.billed_ms() + extra)
            _u.calls.update(calls)
            _u.wru += units.wru
            _u.rru += units.rru
            return result

        harness.handlers[name] = wrapped
    return usage


# --- cost and the model, on moto -------------------------------------------------------------------
def _kapacitor(key: str) -> bytes:
    return json.dumps(
        {"id": key, "message": f"{key} is CRITICAL", "level": "CRITICAL", "time": "2026-11-23T10:00:00Z"}
    ).encode()


def cost_and_model(quick: bool, price: dict[str, float], figure: Callable[..., Any]) -> list[Any]:
    """Run ``n`` incidents through the whole chain on moto (one Slack channel on a loopback
    receiver), measure each function, and price it per million notifications."""
    os.environ.update(
        AWS_ACCESS_KEY_ID="bench",
        AWS_SECRET_ACCESS_KEY="bench",  # noqa: S106  (moto: not a credential)
        AWS_DEFAULT_REGION="us-east-1",
    )
    from alertbridge import runtime
    from alertbridge.observability import logger
    from alertbridge_tools.harness import Harness
    from moto import mock_aws

    memory_gb = int(_template_globals()["MemorySize"]) / 1024
    n = 10 if quick else 200
    receiver = Receiver().start()
    try:
        with mock_aws():
            stack = Harness.create()
            logger.setLevel("WARNING")
            service = runtime.source_store().create_service("bench-notify").id
            _, token = stack.add_source(service, "kapacitor")
            made = stack.call(
                "POST",
                f"/api/services/{service}/channels",
                {"kind": "slack", "url": receiver.url, "rate_per_minute": 1000},
            )
            assert made.status == 201, made.body
            stack.post("kapacitor", token, _kapacitor("warm-up"))  # warm caches, as a warm container
            stack.pump()
            sent_before = len(receiver.times)
            names = {
                "IngestFunction": _ingest_name(stack),
                **{k: k for k in ("IncidentFunction", "IncidentEventsFunction", "NotifierFunction")},
            }
            usage = instrument(stack, list(names.values()))
            for i in range(n):
                assert stack.post("kapacitor", token, _kapacitor(f"benchcost-{i:04d}")).status == 202
            stack.pump()
            notifications = len(receiver.times) - sent_before
            # The latency model's case: one incident alone (each function invoked for it alone).
            lone = instrument(stack, list(names.values()))
            assert stack.post("kapacitor", token, _kapacitor(f"benchcost-{n:04d}")).status == 202
            stack.pump()
    finally:
        receiver.stop()
    assert notifications == n, f"{notifications} notifications for {n} incidents"
    notifier, events = usage["NotifierFunction"], usage["IncidentEventsFunction"]
    usage = {k: usage[v] for k, v in names.items()}
    per = 1e6 / notifications
    lam = price["lambda_request"]
    gbs = price["lambda_gb_second_arm64"]
    # NotifyQueue: EventBridge's SendMessage per event, plus the notifier's own sends; the event
    # source mapping's ReceiveMessage and DeleteMessageBatch once per batch (at least one a batch of 10).
    own_sends = notifier.calls.get("sqs.SendMessage", 0)
    sqs = (
        notifications + own_sends + 2 * max(notifier.invocations, math.ceil((notifications + own_sends) / 10))
    )
    parts = {
        "lambda_notifier": (notifier.invocations * lam + sum(notifier.billed_ms) / 1000 * memory_gb * gbs)
        * per,
        "sqs": sqs * price["sqs_request_64kb"] * per,
        "dynamodb_notifier": (notifier.wru * price["dynamodb_wru"] + notifier.rru * price["dynamodb_rru"])
        * per,
        "kms": notifier.calls.get("kms.Decrypt", 0) * PRICE["kms_request"] * per,
        # EventBridge bills the PutEvents entry (the incident events function's); delivery by a rule to
        # an SQS target in the same account carries no charge of its own.
        "eventbridge": events.calls.get("events.PutEvents.entries", 0)
        * price["eventbridge_event_64kb"]
        * per,
        # Reading the stream is free when Lambda's event source mapping does it.
        "lambda_incident_events": (events.invocations * lam + sum(events.billed_ms) / 1000 * memory_gb * gbs)
        * per,
        "dynamodb_incident_events": (events.wru * price["dynamodb_wru"] + events.rru * price["dynamodb_rru"])
        * per,
    }
    total = sum(parts.values())
    floor = parts["sqs"] + parts["eventbridge"] + (notifier.invocations + events.invocations) * lam * per
    out = [figure("notify.cost.per_million_notifications", total, "USD", floor)]
    out += [figure(f"notify.cost.{k}", v, "USD") for k, v in parts.items()]
    out += [
        figure(
            "notify.requests.notifier.dynamodb_per_notification",
            sum(v for k, v in notifier.calls.items() if k.startswith("dynamodb.")) / notifications,
            "requests",
        ),
        figure(
            "notify.requests.notifier.kms_per_notification",
            notifier.calls.get("kms.Decrypt", 0) / notifications,
            "requests",
        ),
        figure("notify.requests.notifier.dynamodb_wru_per_notification", notifier.wru / notifications, "WRU"),
        figure("notify.requests.notifier.dynamodb_rru_per_notification", notifier.rru / notifications, "RRU"),
        figure(
            "notify.requests.notifier.billed_ms_per_invocation", statistics.median(notifier.billed_ms), "ms"
        ),
        figure(
            "notify.cost.note.sns_email_per_million_messages",
            PRICE["sns_email"] * 1e6 + PRICE["sns_publish_request"] * 1e6,
            "USD",
        ),
        figure(
            "notify.cost.note.sns_sms_us_per_million_messages",
            PRICE["sns_sms_us"] * 1e6 + PRICE["sns_publish_request"] * 1e6,
            "USD",
        ),
    ]
    out += _model({k: lone[v] for k, v in names.items()}, figure)
    return out


def _template_globals() -> dict[str, Any]:
    from alertbridge_tools.template import load_template

    return load_template()["Globals"]["Function"]  # type: ignore[no-any-return]


def _ingest_name(stack: Any) -> str:
    """The Kapacitor webhook's function (template.yaml's route for /hooks/kapacitor/{token})."""
    route, _ = stack.stack.route("POST", "/hooks/kapacitor/x")
    return str(route.function)


def _model(usage: dict[str, Usage], figure: Callable[..., Any]) -> list[Any]:
    """Webhook -> notification on AWS: a sum of typical durations (a model, not a measurement)."""
    ms = {k: statistics.median(u.billed_ms) for k, u in usage.items()}
    steps = {
        "api_gateway": AWS_TYPICAL_MS["api_gateway_overhead"],
        "ingest_function": ms["IngestFunction"],  # includes its PutEvents (awstime: events 20 ms)
        "eventbridge_to_alert_queue": AWS_TYPICAL_MS["eventbridge_to_sqs"],
        "alert_queue_batching_window": batching_window("IncidentFunction"),
        "incident_function": ms["IncidentFunction"],
        "dynamodb_stream_poll": AWS_TYPICAL_MS["dynamodb_stream_poll"],
        "stream_batching_window": batching_window("IncidentEventsFunction"),
        "incident_events_function": ms["IncidentEventsFunction"],  # includes its PutEvents
        "eventbridge_to_notify_queue": AWS_TYPICAL_MS["eventbridge_to_sqs"],
        "notify_queue_batching_window": batching_window("NotifierFunction"),
        "notifier_function": max(0.0, ms["NotifierFunction"] - LOOPBACK_SEND_MS),
        "slack_http_send": AWS_TYPICAL_MS["slack_http_send"],
    }
    ours = ("ingest_function", "incident_function", "incident_events_function", "notifier_function")
    total = sum(steps.values())
    floor = total - sum(steps[k] for k in ours)
    return [figure("notify.latency.aws_model.webhook_to_notification", total, "ms", floor)] + [
        figure(f"notify.latency.aws_model.{k}", v, "ms") for k, v in steps.items()
    ]


# The notifier's billed time includes the loopback receiver's POST (about 1 ms here); the model
# puts Slack's typical send in its place.
LOOPBACK_SEND_MS = 1.0


# --- the loopback receiver -------------------------------------------------------------------------
_KEY = re.compile(rb"bench(?:lat|cost)-(\d+)")


class Receiver:
    """A Slack-like incoming webhook on 127.0.0.1: answers ``ok`` and notes when each message came."""

    def __init__(self) -> None:
        self.times: dict[int, float] = {}
        times = self.times

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                at = time.monotonic()
                found = _KEY.search(body)
                times.setdefault(int(found.group(1)) if found else -len(times) - 1, at)
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}/services/T000/B000/bench"

    def start(self) -> Receiver:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _post(url: str, body: bytes) -> int:
    request = urllib.request.Request(  # noqa: S310  (loopback, ours)
        url, data=body, method="POST", headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=30) as resp:  # noqa: S310  (loopback, ours)
        return int(resp.status)


def _percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(p / 100 * len(ordered)) - 1))]


# --- latency on the local stack --------------------------------------------------------------------
def local_latency(quick: bool, figure: Callable[..., Any]) -> list[Any]:
    """N webhooks over HTTP, one every ``pace`` seconds, against ``alertbridge local`` (port 0)."""
    import io
    from contextlib import redirect_stdout

    from alertbridge_tools import cli
    from alertbridge_tools.local import LocalStack

    n, pace = (5, 0.1) if quick else (100, 0.1)
    receiver = Receiver().start()
    stack = LocalStack(port=0, quiet=True, notifications_out=io.StringIO()).start()

    def ab(*args: str) -> Any:
        out = io.StringIO()
        with redirect_stdout(out):
            assert cli.main(["--url", stack.base_url, *args, "--json"]) == 0, out.getvalue()
        return json.loads(out.getvalue())

    try:
        service = ab("services", "create", "bench-latency")["id"]
        token = ab("sources", "add", service, "kapacitor")["token"]
        ab("channels", "add", service, "slack", "--url", receiver.url, "--rate-per-minute", "1000")
        hook = f"{stack.base_url}/hooks/kapacitor/{token}"
        answered: dict[int, float] = {}
        for i in range(n):
            assert _post(hook, _kapacitor(f"benchlat-{i:04d}")) == 202
            answered[i] = time.monotonic()
            time.sleep(pace)
        deadline = time.monotonic() + 120
        while not all(i in receiver.times for i in answered) and time.monotonic() < deadline:
            time.sleep(0.05)
        floors = []
        for _ in range(20):
            started = time.monotonic()
            _post(receiver.url, b'{"text": "floor"}')
            floors.append((time.monotonic() - started) * 1000)
    finally:
        stack.stop()
        receiver.stop()
    latencies = [(receiver.times[i] - answered[i]) * 1000 for i in answered if i in receiver.times]
    missing = n - len(latencies)
    floor = statistics.median(floors)
    return [
        figure("notify.latency.local.p50", statistics.median(latencies), "ms", floor),
        figure("notify.latency.local.p99", _percentile(latencies, 99), "ms", floor),
        figure("notify.latency.local.incidents", len(latencies), "incidents", None, None),
        figure("notify.latency.local.missing", missing, "incidents", None, 0),
    ]
