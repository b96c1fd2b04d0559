"""The demo: vendor samples through the real functions on an emulated AWS (moto, in-process),
printing each webhook answer and the incident as it opens and resolves."""

from __future__ import annotations

import os
from collections.abc import Callable

from alertbridge import runtime
from alertbridge.models.records import Incident
from alertbridge.observability import logger

from alertbridge_tools.apigw import event_body, load_event

Print = Callable[[str], None]


def describe(incident: Incident) -> str:
    lines = [
        f"  incident {incident.id}",
        f"    status {incident.status}   severity {incident.severity}   alerts {incident.alert_count}",
        f"    title  {incident.title}",
        f"    key    {incident.dedup_key}",
    ]
    lines += [f"    - {entry.kind:<12} {entry.message}" for entry in incident.timeline]
    return "\n".join(lines)


def run(out: Print = print) -> None:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "demo",
        "AWS_SECRET_ACCESS_KEY": "demo",
        "AWS_DEFAULT_REGION": "us-east-1",
        "POWERTOOLS_LOG_LEVEL": "WARNING",
        "POWERTOOLS_METRICS_DISABLED": "true",
    }.items():
        os.environ.setdefault(name, value)
    from moto import mock_aws  # noqa: PLC0415  (tooling only)

    from alertbridge_tools.harness import Harness  # noqa: PLC0415

    with mock_aws():
        out("Creating the template's resources on an in-process AWS emulator (moto)...")
        stack = Harness.create()
        logger.setLevel("WARNING")  # the functions log JSON at INFO; the demo prints its own story
        service = runtime.sources().create_service("demo")
        source, token = stack.add_source(service.id, "kapacitor")
        out(f"Service {service.name} ({service.id}), Kapacitor source {source.id}")
        for step, case in enumerate(("critical", "ok"), 1):
            event = load_event("kapacitor", case, token)
            out(f"\n[{step}] POST /hooks/kapacitor/<token>  ({case}: {len(event_body(event))} bytes)")
            answer = stack.request(event)
            out(f"    -> {answer.status} {answer.body}")
            delivered = stack.pump()
            out(f"    incident function: {delivered.received} message(s), {delivered.failed} failed")
            incidents, _ = runtime.incidents().for_service(service.id, limit=5)
            for incident in incidents:
                out(describe(incident))
