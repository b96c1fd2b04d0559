"""alertbridge benchmarks: cold start, warm normalization, AWS requests, cost per million alerts,
deployment size, each figure beside its floor measured in the same run.

    python bench/run.py            # full run: prints a table, writes bench/results.json
                                   # (--only SECTION: updates that section's figures in it)
    python bench/run.py --quick    # a tiny run (what the test suite checks still works)

Figures are medians over repeated runs. Nothing here asserts a time: the table says which targets
are met, and the process exits 0 either way (the numbers are for people to read).
"""

from __future__ import annotations

import argparse
import io
import json
import logging
import math
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
import timeit
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

import capacity  # noqa: E402  (bench/capacity.py)
import heartbeats  # noqa: E402  (bench/heartbeats.py)
import notifications  # noqa: E402  (bench/notifications.py)
import rules  # noqa: E402  (bench/rules.py)
from awstime import aws_time  # noqa: E402  (bench/awstime.py)

RESULTS = ROOT / "bench" / "results.json"

# us-east-1 list prices (USD), November 2026 pricing pages.
PRICE = {
    "apigw_rest_request": 3.50 / 1e6,
    "lambda_request": 0.20 / 1e6,
    "lambda_gb_second_arm64": 0.0000133334,
    "eventbridge_event_64kb": 1.00 / 1e6,
    "sqs_request_64kb": 0.40 / 1e6,
    "dynamodb_wru": 0.625 / 1e6,
    "dynamodb_rru": 0.125 / 1e6,
    "s3_put": 0.005 / 1000,
    "cloudwatch_logs_gb": 0.50,
}


@dataclass
class Figure:
    name: str
    value: float
    unit: str
    floor: float | None = None
    ratio: float | None = None
    target: float | None = None
    met: bool | None = None


def figure(
    name: str,
    value: float,
    unit: str,
    floor: float | None = None,
    target: float | None = None,
    *,
    target_is_ratio: bool = False,
) -> Figure:
    exact_ratio = value / floor if floor else None
    met: bool | None = None
    if target is not None:  # judged on the unrounded figures: 1.2504 does not meet 1.25
        measured = exact_ratio if target_is_ratio else value
        met = measured is not None and measured <= target
    ratio = round(exact_ratio, 3) if exact_ratio is not None else None
    return Figure(
        name, round(value, 3), unit, round(floor, 3) if floor is not None else None, ratio, target, met
    )


# --- 1. cold start ---------------------------------------------------------------------------------
FUNCTIONS = [  # functions/<name>
    *("kapacitor", "threatstack", "heroku", "uptrends", "stathat", "incidents"),
    *("notifier", "incident_events", "checker", "heartbeat"),
]


def _probe(target: str, clients: list[str], env: dict[str, str]) -> tuple[float, list[str]]:
    out = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "cold_start_probe.py"), target, ",".join(clients)],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        env=env,
    )
    result = json.loads(out.stdout.strip().splitlines()[-1])
    return float(result["ms"]), list(result["clients"])


def _function_environment() -> dict[str, str]:
    """This machine's environment less its AWS settings, plus the literal variables template.yaml
    gives every function (PYDANTIC_DISABLE_PLUGINS, ...): the probe runs as the function would."""
    from alertbridge_tools.template import load_template

    variables = load_template()["Globals"]["Function"]["Environment"]["Variables"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    return env | {k: v for k, v in variables.items() if isinstance(v, str)}


def _compiled() -> None:
    """Both sides of a cold start import bytecode, as on Lambda: the runtime's boto3 is compiled, and
    so is the layer (layers/core/Makefile); `make setup` compiles the virtualenv, and our package is
    compiled here (a checkout has no .pyc where PYTHONDONTWRITEBYTECODE is set)."""
    import compileall

    compileall.compile_dir(ROOT / "layers" / "core" / "alertbridge", quiet=1)
    compileall.compile_dir(ROOT / "functions", quiet=1)


def cold_starts(repeat: int) -> list[Figure]:
    """Bytecode on both sides (``_compiled``). The floor creates the clients the function's init
    created (read from its process), no more."""
    _compiled()
    env = _function_environment()
    figures = []
    for function in FUNCTIONS:
        app = str(ROOT / "functions" / function / "app.py")
        _, clients = _probe(app, [], env)  # a first run: which clients its init creates
        runs, floors = [], []
        for _ in range(repeat):  # interleaved, so drift on the machine hits both alike
            floors.append(_probe("floor", clients, env)[0])
            runs.append(_probe(app, clients, env)[0])
        target = 1.25 if function != "incidents" else None
        figures.append(
            figure(
                f"cold_start.{function}",
                statistics.median(runs),
                "ms",
                statistics.median(floors),
                target,
                target_is_ratio=True,
            )
        )
    return figures


def _instructions(valgrind: str, args: list[str], env: dict[str, str]) -> int:
    """CPU instructions of one probe process, counted by valgrind: the same count on every run and
    whatever else the machine is doing (wall time on a shared VM is not: ±10% between runs)."""
    done = subprocess.run(
        [valgrind, "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable, *args],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        env=env | {"PYTHONHASHSEED": "0"},
    )
    found = re.search(r"Collected\s*:\s*(\d+)", done.stderr)
    if found is None:
        raise RuntimeError(f"no instruction count from valgrind: {done.stderr[-500:]}")
    return int(found.group(1))


def cold_start_instructions() -> list[Figure]:
    """The cold starts again, as instructions executed (millions) instead of milliseconds: the
    deterministic figure beside the noisy one. Each side less the probe's own start (``nothing``)."""
    from concurrent.futures import ThreadPoolExecutor

    valgrind = shutil.which("valgrind")
    if valgrind is None:
        return [Figure("cold_start_instructions.unavailable_install_valgrind", 0, "Minstr")]
    _compiled()
    env = _function_environment()
    probe = str(ROOT / "bench" / "cold_start_probe.py")
    apps = {f: str(ROOT / "functions" / f / "app.py") for f in FUNCTIONS}
    clients = {f: ",".join(_probe(app, [], env)[1]) for f, app in apps.items()}
    jobs = {"nothing": [probe, "nothing"]}
    jobs |= {f"floor:{c}": [probe, "floor", c, "bare"] for c in set(clients.values())}
    jobs |= {f: [probe, app, "", "bare"] for f, app in apps.items()}
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        counted = pool.map(lambda args: _instructions(valgrind, args, env), jobs.values())
        counts = dict(zip(jobs, counted, strict=True))
    base = counts["nothing"]
    return [
        figure(
            f"cold_start_instructions.{f}",
            (counts[f] - base) / 1e6,
            "Minstr",
            (counts[f"floor:{clients[f]}"] - base) / 1e6,
            1.25 if f != "incidents" else None,
            target_is_ratio=True,
        )
        for f in FUNCTIONS
    ]


# --- 2. warm normalization -------------------------------------------------------------------------
def threatstack_batch(n: int) -> bytes:
    return json.dumps(
        {
            "alerts": [
                {
                    "id": f"{i:024x}",
                    "title": f"Suspicious process {i}",
                    "created_at": 1715680801000 + i,
                    "severity": 1 + i % 3,
                    "organization_id": "5d0c2f1e8b3a4c0012ab34cd",
                    "server_or_region": f"ip-10-0-{i % 250}-1",
                    "source": "Host",
                    "organization_name": "Acme Corp",
                }
                for i in range(n)
            ]
        }
    ).encode()


def _samples() -> dict[str, bytes]:
    from alertbridge import vendors

    return {
        "threatstack-1000": threatstack_batch(1000),
        "heroku": vendors.sample("heroku"),
        "kapacitor": vendors.sample("kapacitor"),
    }


def _floor_models() -> dict[str, Callable[[bytes], Any]]:
    """The least a receiver could do: parse the JSON and validate it with a minimal pydantic model."""
    from pydantic import BaseModel

    class TsAlert(BaseModel):
        id: str
        title: str
        severity: int | str
        created_at: int | str

    class TsBatch(BaseModel):
        alerts: list[TsAlert]

    class Kapacitor(BaseModel):
        id: str
        level: str
        message: str
        time: str

    class Heroku(BaseModel):
        id: str
        resource: str
        action: str
        data: dict[str, Any]

    return {
        "threatstack-1000": lambda b: TsBatch.model_validate(json.loads(b)),
        "kapacitor": lambda b: Kapacitor.model_validate(json.loads(b)),
        "heroku": lambda b: Heroku.model_validate(json.loads(b)),
    }


def normalization(repeat: int) -> list[Figure]:
    from alertbridge import vendors
    from alertbridge.models.alert import CanonicalAlert
    from alertbridge.models.records import Source
    from alertbridge.normalize import _canonical, delivery_fields, normalize
    from alertbridge.store.bus import chunks, entry
    from alertbridge.vendors.base import Delivery, Draft

    floors = _floor_models()
    figures = []
    for name, body in _samples().items():
        kind = name.split("-")[0]
        source = Source(
            id="src_bench",
            service_id="svc_bench",
            source=kind,
            token_hash="0" * 64,
            created_at=datetime.now(UTC),
        )
        delivery = Delivery(
            body=body, headers={"content-type": "application/json"}, received_at=datetime.now(UTC)
        )

        def ours() -> None:
            alerts = normalize(vendors.module(kind), source, delivery, "dlv_bench").alerts  # noqa: B023
            chunks([entry(a, "bus") for a in alerts])

        def floor() -> None:
            floors[name](body)  # noqa: B023

        # What the bus contract alone costs: the same alerts' canonical fields, already mapped and
        # cut, validated as CanonicalAlert and serialized into PutEvents entries (no vendor parsing,
        # no mapping). Where this part alone is over 2x the floor, no mapping can meet the target.
        drafts = vendors.module(kind).map_delivery(delivery)
        shared = delivery_fields(source, delivery, "dlv_bench", test=False)
        fields = [_canonical(d, i, shared) for i, d in enumerate(drafts) if isinstance(d, Draft)]

        def contract() -> None:
            chunks([entry(CanonicalAlert.model_validate(f), "bus") for f in fields])  # noqa: B023

        number = max(1, 200 // (1000 if "1000" in name else 1) * (repeat // 3 or 1))
        ours_ms, floor_ms = _interleaved(ours, floor, number, repeat * 3)
        figures.append(figure(f"normalize.{name}", ours_ms, "ms", floor_ms, 2.0, target_is_ratio=True))
        contract_ms, floor_ms = _interleaved(contract, floor, number, repeat * 3)
        figures.append(figure(f"normalize.{name}.contract_only", contract_ms, "ms", floor_ms))
    return figures


def _interleaved(
    ours: Callable[[], None], floor: Callable[[], None], number: int, repeat: int
) -> tuple[float, float]:
    """Median ms per call of each, timed in alternation so that the machine's drift (a shared VM here
    runs 1.5x slower for seconds at a time) hits both alike."""
    ours_ms, floor_ms = [], []
    for _ in range(repeat):
        ours_ms.append(timeit.timeit(ours, number=number) / number * 1000)
        floor_ms.append(timeit.timeit(floor, number=number) / number * 1000)
    return statistics.median(ours_ms), statistics.median(floor_ms)


# --- 3. AWS requests, 4. cost ----------------------------------------------------------------------
@contextmanager
def counting(clients: list[Any]) -> Iterator[Counter[str]]:
    """Count AWS requests (botocore's before-send: every HTTP request, retries included)."""
    counts: Counter[str] = Counter()

    def count(**kwargs: Any) -> None:
        counts[kwargs["event_name"].split(".", 1)[1]] += 1

    for client in clients:
        client.meta.events.register("before-send", count)
    try:
        yield counts
    finally:
        for client in clients:
            client.meta.events.unregister("before-send", count)


@contextmanager
def log_bytes() -> Iterator[list[int]]:
    """Bytes the functions write to CloudWatch Logs (structured logs and EMF metrics)."""
    from alertbridge.observability import logger

    sink = io.StringIO()
    handler = logging.StreamHandler(sink)
    handler.setFormatter(logger.registered_formatter)
    logger.addHandler(handler)
    previous = sys.stdout
    emf = io.StringIO()
    sys.stdout = emf
    total = [0]
    try:
        yield total
    finally:
        sys.stdout = previous
        logger.removeHandler(handler)
        total[0] = len(sink.getvalue().encode()) + len(emf.getvalue().encode())


def requests_and_cost(quick: bool) -> list[Figure]:
    os.environ.update(
        AWS_ACCESS_KEY_ID="bench",
        AWS_SECRET_ACCESS_KEY="bench",  # noqa: S106  (moto: not a credential)
        AWS_DEFAULT_REGION="us-east-1",
        POWERTOOLS_METRICS_DISABLED="false",
    )
    from alertbridge import runtime
    from alertbridge.observability import logger
    from alertbridge_tools.harness import Harness
    from alertbridge_tools.template import load_template
    from moto import mock_aws

    template = load_template()
    memory_mb = int(template["Globals"]["Function"]["MemorySize"])
    key_workers = int(
        template["Resources"]["IncidentFunction"]["Properties"]["Environment"]["Variables"]["KEY_WORKERS"]
    )
    figures: list[Figure] = []
    with mock_aws():
        stack = Harness.create()
        logger.setLevel("INFO")
        db, events = runtime.dynamodb(), runtime.publisher()._events
        service = runtime.source_store().create_service("bench").id
        _, ts_token = stack.add_source(service, "threatstack")
        _, kap_token = stack.add_source(service, "kapacitor")
        stack.post(
            "kapacitor",
            kap_token,
            json.dumps({"id": "warm", "level": "INFO", "time": "2026-01-01T00:00:00Z"}).encode(),
        )
        stack.post("threatstack", ts_token, threatstack_batch(1))
        stack.pump()

        sizes = [1, 10, 100] if quick else [1, 10, 100, 1000]
        for n in sizes:
            with counting([db, events]) as counts:
                resp = stack.post(
                    "threatstack",
                    ts_token,
                    threatstack_batch(n)
                    if n > 1
                    else threatstack_batch(1).replace(b"000000000000000000000000", b"f" * 24),
                )
            assert resp.status == 202, resp.body
            total = sum(counts.values())
            figures.append(
                figure(
                    f"requests.ingest.threatstack_{n}_alerts", total, "requests", None, 3 + math.ceil(n / 10)
                )
            )
        stack.pump()

        def incident_batch(keys: int) -> tuple[int, float]:
            body = {
                "alerts": [
                    {
                        "id": f"{'b' if keys > 1 else 'c'}{(i % keys):023x}",
                        "title": "t",
                        "created_at": 1715680801000 + i,
                        "severity": 1,
                    }
                    for i in range(100)
                ]
            }
            # Same id repeated: Threat Stack gives the same event id, so vary the batch per alert id
            stack.post("threatstack", ts_token, json.dumps(body).encode())
            with counting([db]) as counts:
                started = time.perf_counter()
                stack.pump()
                elapsed = time.perf_counter() - started
            return sum(counts.values()), elapsed

        one_key, _ = incident_batch(1)
        many_keys, _ = incident_batch(100)
        figures.append(figure("requests.incidents.100_messages_1_key", one_key, "requests"))
        figures.append(figure("requests.incidents.100_messages_100_keys", many_keys, "requests"))

        figures += _cost(stack, service, kap_token, ts_token, memory_mb, key_workers, quick)
    return figures


def _cost(
    stack: Any, service: str, kap_token: str, ts_token: str, memory_mb: int, key_workers: int, quick: bool
) -> list[Figure]:
    """Cost per million alerts, from what the deliveries really did here (requests, capacity units,
    log bytes, handler time), at list prices. Lambda time: the handler time measured here, with the
    emulator's time replaced by AWS round trips (LATENCY_MS)."""
    from alertbridge import runtime

    db = runtime.dynamodb()
    gb = memory_mb / 1024
    out: list[Figure] = []
    scenarios = {
        "single_alert_deliveries": (
            lambda i: (
                "kapacitor",
                kap_token,
                json.dumps(
                    {
                        "id": f"cpu:host-{i}",
                        "message": f"cpu:host-{i} is CRITICAL",
                        "details": "usage_idle below 10%",
                        "level": "CRITICAL",
                        "time": f"2026-01-01T00:{i % 60:02d}:00Z",
                        "duration": 0,
                        "previousLevel": "OK",
                        "recoverable": True,
                        "data": {"series": [{"name": "cpu", "tags": {"host": f"host-{i}"}}]},
                    }
                ).encode(),
                1,
            ),
            8.0,
        ),
        "alerts_in_100_alert_batches": (
            lambda i: (
                "threatstack",
                ts_token,
                json.dumps(
                    {
                        "alerts": [
                            {
                                "id": f"e{i:011x}{j:012x}",
                                "title": f"Suspicious process {j}",
                                "created_at": 1715680801000 + j,
                                "severity": 1 + j % 3,
                                "server_or_region": "ip-10-0-0-1",
                                "source": "Host",
                            }
                            for j in range(100)
                        ]
                    }
                ).encode(),
                100,
            ),
            3.0,
        ),
    }
    deliveries = 3 if quick else 20
    for name, (make, target) in scenarios.items():
        per_alert: Counter[str] = Counter()
        ingest_ms: list[float] = []
        alerts = 0
        with (
            capacity.measure(db) as units,
            log_bytes() as logged,
            counting([db, runtime.publisher()._events]) as calls,
        ):
            for i in range(deliveries):
                source, token, body, n = make(i)
                with aws_time() as timed:
                    resp = stack.post(source, token, body)
                ingest_ms.append(timed.billed_ms())
                assert resp.status == 202
                alerts += n
            with aws_time() as timed:
                pumped = stack.pump()
            # The bench runs keys one at a time (in-process moto is not thread-safe); on AWS the
            # function applies KEY_WORKERS keys at once, so their round trips overlap.
            keys_per_invocation = max(1, alerts // max(1, pumped.invocations))
            incident_ms = timed.billed_ms(overlap=min(key_workers, keys_per_invocation))
        million = 1e6 / alerts  # deliveries-worth scale factor: per million alerts
        invocations = pumped.invocations
        sqs_requests = calls.get("SendMessage", 0) + alerts + 2 * max(invocations, math.ceil(alerts / 10))
        per_alert["API Gateway"] = deliveries * PRICE["apigw_rest_request"] * million
        per_alert["Lambda ingest"] = (
            deliveries
            * (
                PRICE["lambda_request"]
                + statistics.median(ingest_ms) / 1000 * gb * PRICE["lambda_gb_second_arm64"]
            )
            * million
        )
        per_alert["EventBridge"] = alerts * PRICE["eventbridge_event_64kb"] * million
        per_alert["SQS"] = sqs_requests * PRICE["sqs_request_64kb"] * million
        per_alert["Lambda incidents"] = (
            invocations * PRICE["lambda_request"] + incident_ms / 1000 * gb * PRICE["lambda_gb_second_arm64"]
        ) * million
        per_alert["DynamoDB"] = (
            units.wru * PRICE["dynamodb_wru"] + units.rru * PRICE["dynamodb_rru"]
        ) * million
        per_alert["CloudWatch Logs"] = logged[0] / 1e9 * PRICE["cloudwatch_logs_gb"] * million
        per_alert["S3"] = calls.get("PutObject", 0) * PRICE["s3_put"] * million
        total = sum(per_alert.values())
        out.append(figure(f"cost.{name}.per_million_alerts", total, "USD", None, target))
        out += [
            figure(f"cost.{name}.{part.replace(' ', '_').lower()}", value, "USD")
            for part, value in per_alert.items()
        ]
        out.append(figure(f"cost.{name}.dynamodb_wru_per_alert", units.wru / alerts, "WRU"))
    return out


# --- 5. deployment size ----------------------------------------------------------------------------
def deployment_sizes() -> list[Figure]:
    build = ROOT / ".aws-sam" / "build"
    if not build.is_dir():
        return [Figure("size.unavailable_run_make_template_first", 0, "MB")]
    figures = []
    for artifact in sorted(p for p in build.iterdir() if p.is_dir()):
        size = sum(f.stat().st_size for f in artifact.rglob("*") if f.is_file()) / 1e6
        figures.append(figure(f"size.{artifact.name}", size, "MB", None, 250.0))
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="tiny inputs, few repeats")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument(
        "--only",
        choices=[
            "cold_start",
            "instructions",
            "normalize",
            "requests",
            "notify",
            "notify_latency",
            "rules",
            "heartbeats",
            "size",
        ],
        action="append",
        help="run only these sections (repeatable); requests includes cost; notify is the notifier's "
        "cost and the AWS latency model (bench/notifications.py), notify_latency the local stack's, "
        "heartbeats the checker over 10,000 watched sources (bench/heartbeats.py); "
        "rules: the alert rules' evaluator in ingest vs the incident function (bench/rules.py)",
    )
    args = parser.parse_args(argv)
    repeat = 2 if args.quick else 7
    sys.path[:0] = [str(ROOT / "layers" / "core"), str(ROOT / "tooling")]
    logging.getLogger("botocore").setLevel(logging.WARNING)
    sections: dict[str, Callable[[], list[Figure]]] = {
        "cold_start": lambda: cold_starts(1 if args.quick else 11),
        "instructions": lambda: [] if args.quick else cold_start_instructions(),
        "normalize": lambda: normalization(repeat),
        "requests": lambda: requests_and_cost(args.quick),
        "notify": lambda: notifications.cost_and_model(args.quick, PRICE, figure),
        "notify_latency": lambda: notifications.local_latency(args.quick, figure),
        "rules": lambda: rules.measure(args.quick, _function_environment(), figure),
        "heartbeats": lambda: heartbeats.checker_cost(args.quick, figure),
        "size": deployment_sizes,
    }
    figures = [f for name, run in sections.items() if not args.only or name in args.only for f in run()]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    kept: list[dict[str, Any]] = []
    if args.only and args.out.exists():  # a partial run updates its own figures, keeps the others
        fresh = {f.name for f in figures}
        kept = [f for f in json.loads(args.out.read_text()) if f["name"] not in fresh]
    args.out.write_text(json.dumps(kept + [asdict(f) for f in figures], indent=2) + "\n")
    width = max(len(f.name) for f in figures)
    print(f"{'figure':<{width}}  {'value':>12} {'unit':<9} {'floor':>10} {'ratio':>7} {'target':>8}  met")
    for f in figures:
        floor = "" if f.floor is None else f"{f.floor:,.3f}"
        print(
            f"{f.name:<{width}}  {f.value:>12,.3f} {f.unit:<9} {floor:>10} "
            f"{'' if f.ratio is None else f'{f.ratio:.2f}x':>7} {'' if f.target is None else f.target:>8}  "
            f"{'' if f.met is None else ('yes' if f.met else 'NO')}"
        )
    print(f"\nwrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
