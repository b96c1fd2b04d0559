"""Benchmark: how long the public status page takes to render, for N services.

    python bench/status_page.py                       # 50 services, 200 runs of each measurement
    python bench/status_page.py --services 2 --repeat 2   # a smoke run (tests/flow/test_status.py)

Two measurements, each timed with time.perf_counter over repeated runs (median and p95, in ms):

1. pure render: the board built from in-memory services and incidents, then the HTML and the JSON
   rendered from it (no storage at all);
2. the status function's handler on moto in-process (the template's table, incidents opened and
   resolved through the real webhook -> bus -> queue -> incident function path), with the
   function's own cache off, so every run reads the table. Moto is an emulator: its per-call cost
   is not DynamoDB's. So the same page is also read sequentially and split: our own work (outside
   the AWS calls), and an estimate of the handler on AWS: that work plus typical call durations
   (bench/awstime.py), the settings and services read first, then WORKERS services' reads at a time.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import math
import os
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
for extra in (ROOT / "layers" / "core", ROOT / "tooling"):
    if str(extra) not in sys.path:
        sys.path.insert(0, str(extra))

# Never reach real AWS: fake credentials, no endpoint or profile from the environment.
os.environ.update(
    {
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        "POWERTOOLS_METRICS_DISABLED": "true",
        "POWERTOOLS_LOG_LEVEL": "WARNING",
        "STATUS_CACHE_SECONDS": "0",
    }
)
for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
    os.environ.pop(name, None)
warnings.filterwarnings("ignore", message="No application metrics to publish")

from alertbridge import runtime  # noqa: E402
from alertbridge.models.incident import IncidentSummary, Status  # noqa: E402
from alertbridge.models.parts import Severity  # noqa: E402
from alertbridge.models.records import PublicUpdate, Service  # noqa: E402
from alertbridge.observability import logger  # noqa: E402
from alertbridge.status.board import Snapshot, build_board, to_json  # noqa: E402
from alertbridge.status.html import render_html  # noqa: E402
from alertbridge.status.page import StatusPage  # noqa: E402
from alertbridge.status.reads import WORKERS  # noqa: E402
from alertbridge_tools.apigw import proxy_event  # noqa: E402
from alertbridge_tools.harness import Harness  # noqa: E402
from awstime import aws_time  # noqa: E402  (bench/awstime.py)
from moto import mock_aws  # noqa: E402

SEVERITIES = [Severity.CRITICAL, Severity.MEDIUM, Severity.INFO, Severity.HIGH, Severity.LOW]
LEVELS = ["CRITICAL", "WARNING", "INFO"]  # Kapacitor levels: critical, medium, info


def timed(fn: Callable[[], Any], repeat: int) -> list[float]:
    fn()  # warm up
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return times


def summary(label: str, times: list[float]) -> dict[str, float]:
    ordered = sorted(times)
    p95 = ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]
    median = statistics.median(ordered)
    print(f"{label:<44} median {median:8.2f} ms   p95 {p95:8.2f} ms   ({len(times)} runs)")
    return {"median_ms": round(median, 3), "p95_ms": round(p95, 3), "runs": len(times)}


# --- 1. pure render ------------------------------------------------------------------------------
def synthetic(services: int, at: datetime) -> list[Snapshot]:
    """Services with 0-3 open incidents of mixed severities and states, 0-2 resolved in 24 h."""
    snapshots = []
    for n in range(services):
        service = Service(
            id=f"svc_{n:04d}", name=f"service-{n:02d}", created_at=at - timedelta(days=30), public=True
        )

        def incident(k: int, status: Status, opened: datetime, n: int = n) -> IncidentSummary:
            return IncidentSummary(
                id=f"inc_{n:010d}{k:010d}-1",
                source="kapacitor",
                source_id=f"src_{n:04d}",
                status=status,
                severity=SEVERITIES[(n + k) % len(SEVERITIES)],
                title=f"check-{k} on host-{n} is failing <b>&</b> needs attention",
                opened_at=opened,
                resolved_at=at - timedelta(hours=k + 1) if status is Status.RESOLVED else None,
            )

        states = [Status.TRIGGERED, Status.ACKNOWLEDGED, Status.MONITORING]
        opened = [incident(k, states[k % 3], at - timedelta(minutes=37 * (k + 1))) for k in range(n % 4)]
        resolved = [incident(10 + k, Status.RESOLVED, at - timedelta(hours=30)) for k in range(n % 3)]
        updates = {
            i.id: [PublicUpdate(message="We are looking into it.", at=at, phase="identified", by="bench")]
            for i in opened[:1]
        }
        snapshots.append(Snapshot(service, opened, resolved, {f"src_{n:04d}": True}, updates))
    return snapshots


def bench_render(services: int, repeat: int) -> dict[str, Any]:
    at = datetime.now(UTC)
    snapshots = synthetic(services, at)
    page = build_board(snapshots, at)
    opened = sum(len(r.open) for r in page.services)
    print(
        f"pure render: {services} services, {opened} open incidents, {len(page.recently_resolved)} resolved"
    )
    return {
        "html": summary("  board + HTML", timed(lambda: render_html(build_board(snapshots, at)), repeat)),
        "json": summary(
            "  board + JSON", timed(lambda: json.dumps(to_json(build_board(snapshots, at))), repeat)
        ),
    }


# --- 2. the handler on moto in-process -----------------------------------------------------------
def populate(harness: Harness, services: int) -> tuple[int, int]:
    """Services with a Kapacitor source each, alerts through the real path: some open, some resolved."""
    opened = resolved = 0
    for n in range(services):
        service_id = runtime.source_store().create_service(f"service-{n:02d}").id
        runtime.source_store().update_service(service_id, {"public": True})
        _, token = harness.add_source(service_id, "kapacitor")
        for k in range(n % 4 + n % 3):
            body = {
                "id": f"host-{n}/check-{k}",
                "message": f"check-{k} on host-{n} is failing",
                "level": LEVELS[(n + k) % 3],
                "time": datetime.now(UTC).isoformat(),
            }
            assert harness.post("kapacitor", token, json.dumps(body).encode()).status == 202
            if k >= n % 4:  # the last n % 3 of them recover
                body.update(level="OK", previousLevel=body["level"], time=datetime.now(UTC).isoformat())
                assert harness.post("kapacitor", token, json.dumps(body).encode()).status == 202
                resolved += 1
            else:
                opened += 1
    harness.pump()
    return opened, resolved


def bench_handler(services: int, repeat: int) -> dict[str, Any]:
    logger.setLevel("WARNING")
    with mock_aws():
        harness = Harness.create()
        with contextlib.redirect_stdout(io.StringIO()):  # the functions' metrics (EMF) lines
            opened, resolved = populate(harness, services)
        print(f"handler on moto in-process: {services} services, {opened} open, {resolved} resolved")
        results: dict[str, Any] = {}
        for path in ("/status", "/status.json"):
            event = proxy_event("GET", path, resource=path, headers={"Host": "127.0.0.1"})

            def call(event: dict[str, Any] = event) -> None:
                answer = harness.invoke(event)
                assert answer is not None
                assert answer["statusCode"] == 200, answer

            results[path] = summary(f"  GET {path} (the function's handler, on moto)", timed(call, repeat))
        # The same page read sequentially, to split the time: table calls (moto) vs our own work, and
        # what the handler would take on AWS: our work + the services read (a Query, a BatchGetItem)
        # + each public service's reads, WORKERS services at a time, at typical DynamoDB round trips.
        page = StatusPage(
            runtime.source_store(),
            runtime.incident_store(),
            runtime.status_page_store(),
            cache_seconds=0,
            workers=1,
        )
        event = proxy_event("GET", "/status", resource="/status", headers={"Host": "127.0.0.1"})
        totals, own, on_aws = [], [], []
        page.handle(event)
        calls = 0
        for _ in range(repeat):
            with aws_time() as t:
                assert page.handle(event)["statusCode"] == 200
            totals.append(t.wall_ms)
            own.append(t.own_ms)
            on_aws.append(t.billed_ms(overlap=WORKERS, serial=3))
            calls = len(t.calls_ms)
        results["sequential_total"] = summary("  GET /status, sequential reads on moto: total", totals)
        results["own_work"] = summary("  ... of which outside the table calls", own)
        results["handler_on_aws_estimate"] = summary(
            f"  handler estimate on AWS ({WORKERS} reads at a time)", on_aws
        )
        results["table_calls_per_request"] = calls
        print(
            f"  table calls per request: {calls} (the settings, 2 for the services, then per public "
            "service a Query of its incidents, 2 for its sources, 1 for public updates when it shows any)"
        )
    runtime.reset()
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--services", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=200, help="timed runs per measurement")
    parser.add_argument(
        "--handler-repeat", type=int, default=None, help="timed handler runs (default: --repeat, at most 10)"
    )
    parser.add_argument("--no-handler", action="store_true", help="only the pure render")
    parser.add_argument("--out", type=Path, help="also write the results as JSON here")
    args = parser.parse_args(argv)
    results: dict[str, Any] = {"services": args.services, "render": bench_render(args.services, args.repeat)}
    if not args.no_handler:
        repeat = args.handler_repeat or min(args.repeat, 10)
        results["handler_moto"] = bench_handler(args.services, repeat)
    if args.out:
        args.out.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
