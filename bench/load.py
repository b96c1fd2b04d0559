"""Load: N alerts through the local stack over real HTTP, every one accounted for.

    python bench/load.py                                   # 10,000 alerts, 16 senders, batches of 100
    python bench/load.py --out bench/load-results.json     # the same, recorded (date, machine, wall time)
    python bench/load.py --alerts 300 --senders 8 --batch 50   # what tests/e2e/test_load_small.py runs
    python bench/load.py --url http://127.0.0.1:3000       # against a running `alertbridge local`
    python bench/load.py --alerts 3000 --rate 100          # a steady 100 alerts/s (latency under load)

The workload is deterministic: ~80% of the alerts in Threat Stack batches of --batch alerts (unique
alert ids, severities 1/2/3 in turn), the rest as single deliveries, half Kapacitor (a unique alert
id each, level CRITICAL) and half Heroku (a failed build of its own app, or a crashed dyno of its
own name, each with its own event id). Every alert opens its own incident.

--senders threads POST the deliveries to the webhook URLs (urllib, one connection per request);
each alert's outcome is read from the 202 body. With --rate, deliveries are sent on a schedule of
that many alerts per second (a Threat Stack batch of 100 counts 100), not as fast as answered.
Then the incidents of the run's service are listed (``/api/incidents?status=all``, paginated)
until every accepted alert has one, or the wait runs out.
Latency is per alert: the incident's ``opened_at`` (server time of the incident write) minus the
wall time its delivery was sent; p50/p99 are nearest-rank. The checks: zero 5xx or connection errors,
zero lost (an accepted alert without an incident), zero doubled (more than one incident for a key, or
an alert_count above 1), accepted + ignored + rejected == alerts sent. Exit code 1 when one fails.

The local stack is one process on one machine (one interpreter lock): an emulator (moto) called in
process, with one lock per group of services, a few execution environments per webhook function
and a few pollers feeding the queue to the incident function. The figures measure that stack, not AWS.
"""

from __future__ import annotations

import argparse
import http.client
import json
import math
import os
import platform
import random
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import Counter, defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

ROOT = Path(__file__).resolve().parents[1]
for extra in (ROOT / "layers" / "core", ROOT / "tooling"):
    if str(extra) not in sys.path:
        sys.path.insert(0, str(extra))

from alertbridge_tools.client import ApiError, Client  # noqa: E402  (after the path setup)
from botocore.exceptions import BotoCoreError, ClientError  # noqa: E402

THREATSTACK_SHARE = 0.8
HTTP_TIMEOUT = 300.0  # seconds per webhook request: the emulator queues every AWS call behind the others
PAGE = 500  # the management API's largest page
MAX_PAUSE = 30.0  # longest pause between two looks while waiting for the incidents, in seconds
REPORT_EVERY = 30.0  # seconds between two progress lines while waiting


@dataclass
class Alert:
    source: str
    dedup_key: str
    delivery: int  # index of its delivery
    index: int  # its index in the delivery (a Threat Stack batch holds many)
    outcome: str | None = None  # accepted / ignored / rejected, from the webhook's answer


@dataclass
class Delivery:
    source: str
    body: bytes
    alerts: list[int]  # indexes into the workload's alerts
    sent_at: float = 0.0  # wall time (time.time()) just before the request
    answered_at: float = 0.0
    status: int = 0  # 0: no HTTP answer (connection error, timeout)
    error: str | None = None
    answer: Any = None


@dataclass
class Result:
    alerts: int
    senders: int
    batch: int
    deliveries: int
    deliveries_by_source: dict[str, int]
    alerts_by_source: dict[str, int]
    send_seconds: float  # first request sent -> last answer received
    ingest_alerts_per_s: float  # alerts / send_seconds
    end_to_end_seconds: float  # first request sent -> last incident written (its opened_at)
    end_to_end_alerts_per_s: float  # accepted alerts / end_to_end_seconds
    wait_seconds: float  # after the last answer, until every incident was seen (or the wait ran out)
    latency_ms_p50: float  # webhook sent -> incident written, over every accepted alert
    latency_ms_p99: float
    latency_ms_max: float
    response_ms_p50: float  # webhook request -> its answer
    response_ms_p99: float
    accepted: int
    ignored: int
    rejected: int
    unaccounted: int  # alerts of deliveries with no readable answer
    status_codes: dict[str, int]
    server_errors: int  # 5xx answers
    connection_errors: int  # no answer at all
    incidents: int  # incidents of the run's service
    lost: int  # accepted alerts with no incident (when the wait ran out: not yet, or never)
    doubled: int  # keys with more than one incident, or an incident counting more than one alert
    unexpected: int  # incidents on keys the workload never sent
    timed_out: bool
    still_queued: int | None  # messages not yet applied by the incident function when the wait ended
    url: str
    service_id: str
    date: str = ""  # when the run started (UTC, ISO 8601)
    wall_seconds: float = 0.0  # the whole run: the stack started, the workload sent, the incidents seen
    machine: dict[str, Any] = field(default_factory=dict)  # where it ran: CPUs, OS, Python, moto
    errors: list[str] = field(default_factory=list)  # a few examples of what went wrong

    @property
    def failures(self) -> list[str]:
        checks = {
            "5xx answers": self.server_errors,
            "connection errors": self.connection_errors,
            "lost alerts": self.lost,
            "doubled incidents": self.doubled,
            "unexpected incidents": self.unexpected,
            "alerts not accounted for": self.unaccounted
            + abs(self.alerts - (self.accepted + self.ignored + self.rejected + self.unaccounted)),
        }
        found = [f"{value} {name}" for name, value in checks.items() if value]
        if self.timed_out:
            queued = "" if self.still_queued is None else f" with {self.still_queued} messages still queued"
            found.append(f"the wait for incidents ran out{queued}")
        return found

    @property
    def ok(self) -> bool:
        return not self.failures

    def as_json(self) -> dict[str, Any]:
        return {**asdict(self), "ok": self.ok, "failures": self.failures}


# --- the workload --------------------------------------------------------------------------------
def build_workload(alerts: int, batch: int, now_ms: int) -> tuple[list[Delivery], list[Alert]]:
    """Deliveries and alerts, deterministic but for the timestamps; sources interleaved."""
    threatstack = int(alerts * THREATSTACK_SHARE)
    singles = alerts - threatstack
    kapacitor = (singles + 1) // 2
    heroku = singles - kapacitor
    stamp = datetime.fromtimestamp(now_ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    workload: list[tuple[str, dict[str, Any], list[str]]] = []  # (source, payload, dedup keys)

    for start in range(0, threatstack, batch):
        chunk = [
            {
                "id": f"load-ts-{n:06d}",
                "title": f"Load alert {n}: suspicious process on host-{n % 97}",
                "created_at": now_ms,
                "severity": n % 3 + 1,
                "organization_id": "load-org",
                "organization_name": "Load Corp",
                "server_or_region": f"host-{n % 97}",
                "source": "Host",
            }
            for n in range(start, min(start + batch, threatstack))
        ]
        workload.append(("threatstack", {"alerts": chunk}, [a["id"] for a in chunk]))
    for n in range(kapacitor):
        key = f"load/kapacitor/cpu/server-{n:06d}"
        body = {
            "id": key,
            "message": f"{key} is CRITICAL",
            "details": f"usage_idle dropped below 10% on server-{n:06d}",
            "time": stamp,
            "duration": 0,
            "level": "CRITICAL",
            "previousLevel": "OK",
            "recoverable": True,
        }
        workload.append(("kapacitor", body, [key]))
    for n in range(heroku):
        payload, key = _heroku(n, stamp)
        workload.append(("heroku", payload, [key]))

    random.Random(20261123).shuffle(workload)  # noqa: S311  (a fixed order, not crypto)
    deliveries: list[Delivery] = []
    all_alerts: list[Alert] = []
    for source, payload, keys in workload:
        number = len(deliveries)
        indexes = []
        for index, key in enumerate(keys):
            indexes.append(len(all_alerts))
            all_alerts.append(Alert(source, key, number, index))
        deliveries.append(Delivery(source, json.dumps(payload).encode(), indexes))
    return deliveries, all_alerts


def _heroku(n: int, stamp: str) -> tuple[dict[str, Any], str]:
    """A failed build of app n (even n) or a crashed dyno web.n of one app (odd n); its dedup key."""
    event_id = f"00000000-10ad-4000-8000-{n:012d}"
    if n % 2 == 0:
        app = {"id": f"00000000-a000-4000-8000-{n:012d}", "name": f"load-app-{n}"}
        data: dict[str, Any] = {
            "id": f"00000000-b000-4000-8000-{n:012d}",
            "app": app,
            "status": "failed",
            "created_at": stamp,
            "updated_at": stamp,
        }
        resource, action, include, key = "build", "update", "api:build", f"{app['id']}:build"
    else:
        app = {"id": "00000000-a000-4000-8000-0000000dd000", "name": "load-dynos"}
        name = f"web.{n}"
        data = {
            "id": f"00000000-d000-4000-8000-{n:012d}",
            "app": app,
            "exit_status": 137,
            "state": "crashed",
            "type": "web",
            "name": name,
        }
        resource, action, include, key = "dyno", "destroy", "dyno", f"{app['id']}:dyno:{name}"
    body = {
        "id": event_id,
        "action": action,
        "resource": resource,
        "actor": {"email": "load@example.com"},
        "data": data,
        "created_at": stamp,
        "updated_at": stamp,
        "published_at": stamp,
        "previous_data": {},
        "webhook_metadata": {"event": {"id": event_id, "include": include}},
    }
    return body, key


# --- sending -------------------------------------------------------------------------------------
def _post(url: str, delivery: Delivery) -> None:
    req = urllib.request.Request(  # noqa: S310  (http(s) only)
        url, data=delivery.body, method="POST", headers={"Content-Type": "application/json"}
    )
    delivery.sent_at = time.time()
    try:
        with urllib.request.urlopen(req, timeout=HTTP_TIMEOUT) as resp:  # noqa: S310
            delivery.status, raw = resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        delivery.status, raw = exc.code, exc.read()
    except (OSError, http.client.HTTPException) as exc:  # refused, reset, timed out, cut short
        delivery.answered_at = time.time()
        delivery.error = f"{type(exc).__name__}: {exc}"
        return
    delivery.answered_at = time.time()
    try:
        delivery.answer = json.loads(raw) if raw else None
    except ValueError:
        delivery.answer = raw.decode(errors="replace")[:200]


def _account(delivery: Delivery, alerts: list[Alert], errors: list[str]) -> None:
    """Each alert's outcome from its delivery's answer."""
    if delivery.status == 202 and isinstance(delivery.answer, dict):
        by_index = {o.get("index"): o for o in delivery.answer.get("alerts") or []}
        for number in delivery.alerts:
            alert = alerts[number]
            found = by_index.get(alert.index)
            if found is None:
                errors.append(f"{alert.source} {alert.dedup_key}: no outcome in the 202 answer")
                continue
            alert.outcome = found.get("outcome")
            if alert.outcome == "accepted" and found.get("dedup_key") != alert.dedup_key:
                errors.append(
                    f"{alert.source}: dedup key {found.get('dedup_key')!r}, expected {alert.dedup_key!r}"
                )
    elif 400 <= delivery.status < 500:  # the whole delivery refused: every alert in it is rejected
        for number in delivery.alerts:
            alerts[number].outcome = "rejected"
        errors.append(f"{delivery.source}: {delivery.status} {delivery.answer}")
    else:
        errors.append(f"{delivery.source}: {delivery.status or delivery.error} {delivery.answer or ''}")


# --- incidents -----------------------------------------------------------------------------------
def list_incidents(api: Client, service_id: str) -> list[dict[str, Any]]:
    """Every incident of the service, page by page; a cursor seen twice is an error, not a loop."""
    found: list[dict[str, Any]] = []
    cursor: str | None = None
    seen: set[str] = set()
    while True:
        query = {"service": service_id, "status": "all", "limit": str(PAGE), "cursor": cursor}
        page = api.request("GET", "/api/incidents", query=query)
        found += page["incidents"]
        cursor = page.get("cursor")
        if not cursor:
            return found
        if cursor in seen:
            raise ValueError(f"the incident listing returned cursor {cursor[:40]!r} twice")
        seen.add(cursor)


def _when(text: str) -> float:
    return datetime.fromisoformat(text).timestamp()


def nearest_rank(values: list[float], percent: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[max(1, math.ceil(percent / 100 * len(ordered))) - 1]


# --- the run -------------------------------------------------------------------------------------
def run(
    alerts: int = 10_000,
    senders: int = 16,
    batch: int = 100,
    *,
    url: str | None = None,
    wait_timeout: float | None = None,
    stall: float = 180.0,
    out: TextIO | None = None,
    rate: float | None = None,
) -> Result:
    """Send the workload through a local stack (started here unless ``url`` is given) and check it.

    ``wait_timeout``: the longest wait for the incidents after the last webhook answer (default
    0.3 s per alert, at least 5 minutes); the wait also ends after ``stall`` seconds without
    progress. ``out``: where progress lines go (none by default).
    """
    if alerts < 1 or senders < 1 or batch < 1:
        raise ValueError("alerts, senders and batch must be at least 1")
    began, date = time.monotonic(), datetime.now(UTC).isoformat(timespec="seconds")

    def say(text: str) -> None:
        if out is not None:
            print(text, file=out, flush=True)

    stack = None
    probe: Callable[[], int] | None = None
    if url is None:
        from alertbridge_tools.local import LocalStack

        stack = LocalStack(port=0, quiet=True).start()
        url = stack.base_url
        probe = _queue_probe(stack)
        say(f"local stack on {url}")
    try:
        api = Client(url, timeout=HTTP_TIMEOUT)
        service_id, hooks = _setup(api, alerts)
        deliveries, workload = build_workload(alerts, batch, int(time.time() * 1000))
        say(
            f"service {service_id}: {len(workload)} alerts in {len(deliveries)} deliveries, {senders} senders"
        )
        started = time.time()
        _send(hooks, deliveries, senders, say, rate)
        send_end = max(d.answered_at for d in deliveries)
        errors: list[str] = []
        for delivery in deliveries:
            _account(delivery, workload, errors)
        accepted = {(a.source, a.dedup_key) for a in workload if a.outcome == "accepted"}
        say(
            f"sent in {send_end - started:.1f}s ({len(workload) / (send_end - started):.0f} alerts/s); "
            f"outcomes {dict(Counter(a.outcome for a in workload))}; waiting for {len(accepted)} incidents"
        )
        limit = wait_timeout if wait_timeout is not None else max(300.0, 0.3 * alerts)
        waited = _wait(api, service_id, accepted, probe, limit, stall, say)
        errors += waited.errors
        result = _verify(
            api.base_url,
            service_id,
            senders,
            batch,
            deliveries,
            workload,
            waited,
            errors,
            started=started,
            wait_seconds=time.time() - send_end,
        )
        result.date, result.machine = date, _machine()
        result.wall_seconds = round(time.monotonic() - began, 3)
        return result
    finally:
        if stack is not None:
            stack.stop()


def _machine() -> dict[str, Any]:
    from importlib.metadata import PackageNotFoundError, version

    try:
        moto = version("moto")
    except PackageNotFoundError:
        moto = None
    return {
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "moto": moto,
    }


def _setup(api: Client, alerts: int) -> tuple[str, dict[str, str]]:
    """A service of its own and its three sources (Heroku without a secret: unsigned bodies)."""
    service_id: str = api.request("POST", "/api/services", {"name": f"load-{alerts}"})["id"]
    hooks = {
        source: api.request("POST", f"/api/services/{service_id}/sources", {"source": source})["webhook_url"]
        for source in ("threatstack", "kapacitor", "heroku")
    }
    return service_id, hooks


def _send(
    hooks: dict[str, str],
    deliveries: list[Delivery],
    senders: int,
    say: Callable[[str], None],
    rate: float | None = None,
) -> None:
    done = 0
    lock = threading.Lock()
    step = max(1, len(deliveries) // 10)
    due: dict[int, float] = {}  # id(delivery) -> seconds after the start it is sent (with a rate)
    if rate:
        sent = 0
        for delivery in deliveries:
            due[id(delivery)] = sent / rate
            sent += len(delivery.alerts)
    start = time.monotonic()

    def send(delivery: Delivery) -> None:
        nonlocal done
        if rate:
            time.sleep(max(0.0, start + due[id(delivery)] - time.monotonic()))
        _post(hooks[delivery.source], delivery)
        with lock:
            done += 1
            if done % step == 0:
                say(f"  sent {done}/{len(deliveries)} deliveries")

    with ThreadPoolExecutor(max_workers=senders, thread_name_prefix="sender") as pool:
        list(pool.map(send, deliveries))


def _queue_probe(stack: Any) -> Callable[[], int]:
    """Messages still on the way to the incident function (visible, in flight or delayed), read from
    the emulator: one cheap call, where listing every incident through the API is not (moto answers
    BatchGetItem slowly, and it runs one call at a time per group of services)."""
    import boto3

    sqs = boto3.client("sqs", region_name="us-east-1", endpoint_url=stack.emulator.url)
    queues = [source.queue_url for source in stack.harness.stack.event_sources]
    names = [
        "ApproximateNumberOfMessages",
        "ApproximateNumberOfMessagesNotVisible",
        "ApproximateNumberOfMessagesDelayed",
    ]

    def pending() -> int:
        total = 0
        for queue in queues:
            found = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=names)["Attributes"]
            total += sum(int(found.get(name, 0)) for name in names)
        return total

    return pending


@dataclass
class Waited:
    incidents: list[dict[str, Any]]
    timed_out: bool  # the wait ended with incidents still to come
    still_queued: int | None  # messages on the way to the incident function when it ended (None: unknown)
    errors: list[str] = field(default_factory=list)  # calls that failed during the wait (retried)


class _Patience:
    """How long the wait goes on: ``limit`` seconds in all, ``stall`` seconds without progress (a
    measure, e.g. messages queued, going below its lowest so far). Pauses end at the limit."""

    def __init__(self, limit: float, stall: float) -> None:
        self._began = time.monotonic()
        self._deadline = self._began + limit
        self._stall = stall
        self._progress_at = self._began
        self._best = math.inf

    def progressed(self, measure: int) -> None:
        if measure < self._best:
            self._progress_at, self._best = time.monotonic(), measure

    def ran_out(self) -> bool:
        now = time.monotonic()
        return now >= self._deadline or now - self._progress_at >= self._stall

    def pause(self, seconds: float) -> None:
        time.sleep(max(0.0, min(seconds, MAX_PAUSE, self._deadline - time.monotonic())))


def _wait(
    api: Client,
    service_id: str,
    wanted: set[tuple[str, str]],
    probe: Callable[[], int] | None,
    limit: float,
    stall: float,
    say: Callable[[str], None],
) -> Waited:
    """The service's incidents once every wanted key has one, or the wait gave up: after ``limit``
    seconds, or ``stall`` seconds without progress (fewer messages queued, or fewer incidents
    missing). Every pause is cut at the limit, so the wait ends within ``limit`` plus one call.

    With a probe (our own stack), wait for the queue to drain, then list: a key still missing when
    the queue was found empty twice in a row (a listing apart) is lost, not late. The probe is
    spaced by twenty times what it costs (at most MAX_PAUSE): the emulator runs one call at a time
    per group of services, so the wait must not slow down what it waits for. Without a probe, list
    with pauses twice as long as a listing takes, for the same reason. A failed probe or listing
    (the API or the emulator did not answer) is noted and tried again, within the same limits."""
    patience = _Patience(limit, stall)
    drained = 0  # listings in a row that found the queue empty and keys still missing
    last_report = -math.inf
    pending: int | None = None
    incidents: list[dict[str, Any]] = []
    errors: list[str] = []

    while True:
        try:
            if probe is not None:
                asked = time.monotonic()
                pending = probe()
                cost = time.monotonic() - asked
                if pending:
                    drained = 0
                    patience.progressed(pending)
                    if patience.ran_out():
                        break
                    if time.monotonic() - last_report >= REPORT_EVERY:
                        say(f"  {pending} messages still queued for the incident function")
                        last_report = time.monotonic()
                    patience.pause(max(1.0, 20 * cost))
                    continue
            asked = time.monotonic()
            incidents = list_incidents(api, service_id)
            listing = time.monotonic() - asked
        except (ApiError, BotoCoreError, ClientError, OSError, ValueError) as exc:
            errors.append(f"during the wait: {type(exc).__name__}: {exc}")
            say(f"  {errors[-1]} (trying again)")
            if patience.ran_out():
                break
            patience.pause(5.0)
            continue
        missing = len(wanted - {(i["source"], i["dedup_key"]) for i in incidents})
        if not missing:
            return Waited(incidents, False, pending, errors)
        if probe is not None:
            drained += 1
            if drained >= 2:  # nothing on the way twice in a row and keys still missing: lost
                return Waited(incidents, False, pending, errors)
        else:
            patience.progressed(missing)
            if patience.ran_out():
                return Waited(incidents, True, None, errors)
        say(f"  {len(incidents)} incidents, {missing} to come (listing took {listing:.1f}s)")
        patience.pause(max(1.0, 2 * listing))

    # The wait ran out: what has been written so far.
    try:
        incidents = list_incidents(api, service_id)
    except (ApiError, OSError, ValueError) as exc:
        errors.append(f"the last listing: {type(exc).__name__}: {exc}")
    return Waited(incidents, True, pending, errors)


def _verify(
    url: str,
    service_id: str,
    senders: int,
    batch: int,
    deliveries: list[Delivery],
    workload: list[Alert],
    waited: Waited,
    errors: list[str],
    *,
    started: float,
    wait_seconds: float,
) -> Result:
    incidents = waited.incidents
    by_key: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for incident in incidents:
        by_key[(incident["source"], incident["dedup_key"])].append(incident)
    sent_keys = {(a.source, a.dedup_key) for a in workload}
    accepted = [a for a in workload if a.outcome == "accepted"]
    latencies: list[float] = []
    lost = doubled = 0
    for alert in accepted:
        found = by_key.get((alert.source, alert.dedup_key), [])
        if not found:
            lost += 1
            if lost <= 5:
                errors.append(f"lost: {alert.source} {alert.dedup_key}")
            continue
        if len(found) > 1 or found[0].get("alert_count") != 1:
            doubled += 1
            if doubled <= 5:
                counts = [(i["id"], i.get("alert_count")) for i in found]
                errors.append(f"doubled: {alert.source} {alert.dedup_key}: {counts}")
        opened = min(_when(i["opened_at"]) for i in found)
        latencies.append((opened - deliveries[alert.delivery].sent_at) * 1000)
    unexpected = sum(len(v) for k, v in by_key.items() if k not in sent_keys)

    send_end = max(d.answered_at for d in deliveries)
    send_seconds = send_end - started
    last_written = max((_when(i["opened_at"]) for i in incidents), default=started)
    end_to_end = max(last_written, send_end) - started
    responses = [(d.answered_at - d.sent_at) * 1000 for d in deliveries if d.status]
    outcomes = Counter(a.outcome for a in workload)
    return Result(
        alerts=len(workload),
        senders=senders,
        batch=batch,
        deliveries=len(deliveries),
        deliveries_by_source=dict(Counter(d.source for d in deliveries)),
        alerts_by_source=dict(Counter(a.source for a in workload)),
        send_seconds=round(send_seconds, 3),
        ingest_alerts_per_s=round(len(workload) / send_seconds, 1),
        end_to_end_seconds=round(end_to_end, 3),
        end_to_end_alerts_per_s=round(len(accepted) / end_to_end, 1),
        wait_seconds=round(wait_seconds, 3),
        latency_ms_p50=round(nearest_rank(latencies, 50), 1),
        latency_ms_p99=round(nearest_rank(latencies, 99), 1),
        latency_ms_max=round(max(latencies, default=0.0), 1),
        response_ms_p50=round(nearest_rank(responses, 50), 1),
        response_ms_p99=round(nearest_rank(responses, 99), 1),
        accepted=outcomes["accepted"],
        ignored=outcomes["ignored"],
        rejected=outcomes["rejected"],
        unaccounted=outcomes[None],
        status_codes=dict(sorted(Counter(str(d.status or "no answer") for d in deliveries).items())),
        server_errors=sum(1 for d in deliveries if d.status >= 500),
        connection_errors=sum(1 for d in deliveries if not d.status),
        incidents=len(incidents),
        lost=lost,
        doubled=doubled,
        unexpected=unexpected,
        timed_out=waited.timed_out,
        still_queued=waited.still_queued,
        url=url,
        service_id=service_id,
        errors=errors[:20],
    )


def report(result: Result, out: TextIO = sys.stdout) -> None:
    r = result
    lines = [
        f"alerts sent        {r.alerts}  ({', '.join(f'{k} {v}' for k, v in r.alerts_by_source.items())})",
        f"deliveries         {r.deliveries}  "
        f"({', '.join(f'{k} {v}' for k, v in r.deliveries_by_source.items())}), {r.senders} senders",
        f"send time          {r.send_seconds:.1f} s   ingest {r.ingest_alerts_per_s:.0f} alerts/s   "
        f"webhook answer p50 {r.response_ms_p50:.0f} ms, p99 {r.response_ms_p99:.0f} ms",
        f"end to end         {r.end_to_end_seconds:.1f} s   {r.end_to_end_alerts_per_s:.0f} alerts/s "
        f"(first send -> last incident written; waited {r.wait_seconds:.1f} s after the last answer)",
        f"webhook->incident  p50 {r.latency_ms_p50:.0f} ms   p99 {r.latency_ms_p99:.0f} ms   "
        f"max {r.latency_ms_max:.0f} ms",
        f"outcomes           accepted {r.accepted}, ignored {r.ignored}, rejected {r.rejected}, "
        f"unaccounted {r.unaccounted}",
        f"HTTP               {r.status_codes}; 5xx {r.server_errors}, connection errors "
        f"{r.connection_errors}",
        f"incidents          {r.incidents}; lost {r.lost}, doubled {r.doubled}, unexpected {r.unexpected}",
        f"run                {r.date}, {r.wall_seconds:.1f} s in all, {r.machine.get('cpus')} CPUs, "
        f"moto {r.machine.get('moto')}",
        "result             " + ("OK" if r.ok else "FAILED: " + "; ".join(r.failures)),
    ]
    lines += [f"  {e}" for e in r.errors]
    print("\n".join(lines), file=out, flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--alerts", type=int, default=10_000)
    parser.add_argument("--senders", type=int, default=16)
    parser.add_argument("--batch", type=int, default=100, help="alerts per Threat Stack delivery")
    parser.add_argument("--url", help="a running local stack (default: start one for the run)")
    parser.add_argument(
        "--rate", type=float, help="alerts per second to send at (default: as fast as answered)"
    )
    parser.add_argument(
        "--wait-timeout",
        type=float,
        help="longest wait for the incidents, in seconds (default: 0.3 per alert, at least 300)",
    )
    parser.add_argument(
        "--stall", type=float, default=180.0, help="give up after this many seconds without progress"
    )
    parser.add_argument(
        "--out",
        "--json-out",
        type=Path,
        help="write the result as JSON here (the full-size figures live in bench/load-results.json)",
    )
    args = parser.parse_args(argv)
    result = run(
        args.alerts,
        args.senders,
        args.batch,
        url=args.url,
        wait_timeout=args.wait_timeout,
        stall=args.stall,
        out=sys.stderr,
        rate=args.rate,
    )
    report(result)
    if args.out:
        command = " ".join(["python", "bench/load.py", *(argv if argv is not None else sys.argv[1:])])
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps({**result.as_json(), "command": command}, indent=2) + "\n")
        print(f"wrote {args.out}", flush=True)
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
