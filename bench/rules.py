"""Alert rules: where evaluating them costs least (docs/decisions.md, "Alert rules run in ingest").

Three figures per place the rules could run, the ingest functions or the incident function:
- the evaluator's cold start: the instructions (valgrind, deterministic) and milliseconds that
  importing it adds to what that function's init imports anyway; its floor is the probe's own
  start (nothing imported);
- per-alert evaluation with 50 rules (the same code wherever it runs), beside its floor: the same
  50 compiled JMESPath expressions searched over the same document, without our work around them;
- DynamoDB reads of rules per delivery with a warm container, counted on moto over 200 deliveries
  (ingest: the real path; the incident function: its RuleStore read per alert, as it would).

    python bench/run.py --only rules
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import timeit
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
EVALUATOR = ("alertbridge.models.rule", "alertbridge.rules", "alertbridge.store.rules")
# What a function's init imports, less the evaluator (and, for ingest, the module that imports it).
PLACES = {"ingest": ("kapacitor", "dynamodb,events"), "incidents": ("incidents", "dynamodb")}
RULES = 50
PROBE = """
import importlib, os, sys, time
os.environ.update(AWS_DEFAULT_REGION="us-east-1", TABLE_NAME="t", BUS_NAME="b", RAW_BUCKET="r",
                  AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench")
for name in sys.argv[1].split(","):
    if name:
        importlib.import_module(name)
import boto3
for client in sys.argv[3].split(","):  # the clients the function's init creates (they load jmespath)
    boto3.client(client)
start = time.perf_counter()
for name in sys.argv[2].split(","):
    if name:
        importlib.import_module(name)
print((time.perf_counter() - start) * 1000)
"""


def _modules(function: str, env: dict[str, str]) -> list[str]:
    """The alertbridge modules a function's init imports (bench/cold_start_probe.py says)."""
    out = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "cold_start_probe.py"),
            str(ROOT / "functions" / function / "app.py"),
            "",
        ],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        env=env,
    )
    modules: list[str] = json.loads(out.stdout.strip().splitlines()[-1])["modules"]
    return modules


def _run(args: list[str], env: dict[str, str], valgrind: str | None) -> tuple[float, int | None]:
    command = [sys.executable, "-c", PROBE, *args]
    if valgrind:
        command = [valgrind, "--tool=callgrind", "--callgrind-out-file=/dev/null", *command]
    done = subprocess.run(
        command, capture_output=True, text=True, check=True, cwd=ROOT, env=env | {"PYTHONHASHSEED": "0"}
    )
    found = re.search(r"Collected\s*:\s*(\d+)", done.stderr)
    return float(done.stdout.strip().splitlines()[-1]), int(found.group(1)) if found else None


def cold_start(repeat: int, env: dict[str, str], figure: Callable[..., Any]) -> list[Any]:
    valgrind = shutil.which("valgrind")
    env = env | {"PYTHONPATH": os.pathsep.join([str(ROOT / "layers" / "core"), env.get("PYTHONPATH", "")])}
    figures = []
    for place, (function, clients) in PLACES.items():
        loaded = [m for m in _modules(function, env) if m not in (*EVALUATOR, "alertbridge.ingest")]
        before, evaluator = ",".join(loaded), ",".join(EVALUATOR)
        ms = statistics.median(_run([before, evaluator, clients], env, None)[0] for _ in range(repeat))
        figures.append(figure(f"rules.cold_start.{place}.evaluator_import", ms, "ms"))
        if valgrind:
            _, with_it = _run([before, evaluator, clients], env, valgrind)
            _, without = _run([before, "", clients], env, valgrind)
            assert with_it is not None
            assert without is not None
            figures.append(
                figure(
                    f"rules.cold_start.{place}.evaluator_instructions", (with_it - without) / 1e6, "Minstr"
                )
            )
    return figures


def _chain() -> list[Any]:
    """50 rules as a busy service might have them: tags by team and host, severities, routes, a few
    suppressions of other environments and a dedup rule, most not matching this alert."""
    from datetime import UTC, datetime

    from alertbridge import rules
    from alertbridge.models.rule import Rule

    now = datetime(2026, 1, 1, tzinfo=UTC)
    kinds: list[dict[str, Any]] = [
        {"kind": "tag", "when": "vendor.server_or_region == 'ip-10-0-{n}-1'", "tags": {"team": "t{n}"}},
        {
            "kind": "severity",
            "when": "contains(title, 'sudoers {n}') && severity != 'critical'",
            "severity": "low",
        },
        {"kind": "route", "when": "starts_with(tags.server_or_region, 'db-{n}')", "route_to": "svc_{n}"},
        {"kind": "suppress", "when": "tags.env == 'staging-{n}' || contains(title, '[test {n}]')"},
        {"kind": "tag", "when": "vendor.severity == `3` && source == 'threatstack'", "tags": {"tier": "{n}"}},
    ]
    made = []
    for n in range(RULES - 1):
        spec = {k: (v.format(n=n) if isinstance(v, str) else v) for k, v in kinds[n % len(kinds)].items()}
        if "tags" in spec:
            spec["tags"] = {k: v.format(n=n) for k, v in spec["tags"].items()}
        made.append(Rule(id=f"r_{n + 1}", name=f"rule {n + 1}", created_at=now, **spec))
    made.append(
        Rule(
            id=f"r_{RULES}",
            name="by title and server",
            kind="dedup",
            when="source == 'threatstack'",
            dedup_key="join(':', [title, vendor.server_or_region])",
            created_at=now,
        )
    )
    for rule in made:
        rules.check(rule)
    return made


def evaluation(repeat: int, figure: Callable[..., Any]) -> list[Any]:
    from alertbridge import rules

    sys.path.insert(0, str(ROOT))
    from tests.flow.test_contract import make_alert

    chain = _chain()
    vendor = {
        "id": "665a",
        "title": "User Added To Sudoers: deploy",
        "severity": 1,
        "server_or_region": "ip-10-0-1-57",
        "source": "Host",
        "organization_name": "Acme Corp",
    }
    alert = make_alert(
        source="threatstack",
        title=vendor["title"],
        tags={"server_or_region": "ip-10-0-1-57", "source": "Host"},
    )
    compiled = [rules.compiled(r.when) for r in chain]
    doc = rules.document(alert, vendor)
    number = 200

    def ours() -> None:
        rules.evaluate(chain, alert, vendor)

    def floor() -> None:
        for expression in compiled:
            expression.search(doc)

    ours_us = min(timeit.repeat(ours, number=number, repeat=repeat)) / number * 1e6
    floor_us = min(timeit.repeat(floor, number=number, repeat=repeat)) / number * 1e6
    applied = [r.id for r in rules.evaluate(chain, alert, vendor).applied]
    return [
        figure(f"rules.evaluate.{RULES}_rules_per_alert", ours_us, "us", floor_us),
        figure(f"rules.evaluate.{RULES}_rules_applied", len(applied), "rules"),
    ]


def reads(figure: Callable[..., Any]) -> list[Any]:
    """GetItems of rule items per delivery, warm: 200 Threat Stack deliveries of one alert each to
    a service with 50 rules, within one cache minute."""
    from alertbridge import runtime
    from alertbridge.models.rule import RuleSet
    from alertbridge.observability import logger
    from alertbridge_tools.harness import Harness
    from moto import mock_aws

    os.environ.update(
        AWS_ACCESS_KEY_ID="bench",
        AWS_SECRET_ACCESS_KEY="bench",  # noqa: S106  (moto: not a credential)
        AWS_DEFAULT_REGION="us-east-1",
        POWERTOOLS_METRICS_DISABLED="true",
    )
    logger.setLevel("WARNING")  # the 200 deliveries' logs are not the figure
    deliveries = 200
    with mock_aws():
        stack = Harness.create()
        service = runtime.source_store().create_service("bench rules").id
        _, token = stack.add_source(service, "threatstack")
        chain = [
            r.model_copy(update={"route_to": None, "kind": "tag", "tags": {"x": "y"}})
            if r.kind == "route"
            else r
            for r in _chain()
        ]
        runtime.rule_store().save(RuleSet(service_id=service, rules=tuple(chain), next_id=RULES + 1), 0)
        runtime.rule_store().get(service, cached=True)  # a warm container: read once
        counted = {"n": 0}

        def count(params: dict[str, Any], **_: Any) -> None:
            if params.get("Key", {}).get("PK", {}).get("S", "").startswith("RULES#"):
                counted["n"] += 1

        db = runtime.dynamodb()
        db.meta.events.register("provide-client-params.dynamodb.GetItem", count)
        try:
            with contextlib.redirect_stdout(io.StringIO()):  # the EMF records are not the figure
                for n in range(deliveries):
                    alert = {"id": f"{n:024x}", "title": "t", "severity": 1, "server_or_region": "ip-1"}
                    assert (
                        stack.post("threatstack", token, json.dumps({"alerts": [alert]}).encode()).status
                        == 202
                    )
            ingest = counted["n"]
            counted["n"] = 0
            store = runtime.rule_store()
            for _ in range(deliveries):  # the incident function would read the set per alert, cached alike
                store.get(service, cached=True)
            incidents = counted["n"]
        finally:
            db.meta.events.unregister("provide-client-params.dynamodb.GetItem", count)
        runtime.reset()
    return [
        figure("rules.requests.ingest.rule_reads_per_delivery_warm", ingest / deliveries, "reads"),
        figure("rules.requests.incidents.rule_reads_per_delivery_warm", incidents / deliveries, "reads"),
    ]


def measure(quick: bool, env: dict[str, str], figure: Callable[..., Any]) -> list[Any]:
    figures = cold_start(1 if quick else 7, env, figure) if not quick else []
    figures += evaluation(2 if quick else 7, figure)
    figures += reads(figure)
    return figures
