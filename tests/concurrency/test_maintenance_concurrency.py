"""Deliveries in a maintenance window, at the same time, each in its own ingest (its own clients,
its own window cache, as separate Lambda containers) against a moto server: each is kept as
suppressed and none opens anything; while the key's incident is open (opened before the window)
they all pass and are all counted."""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import boto3
from alertbridge import runtime
from alertbridge.ingest import Ingest
from alertbridge.maintenance import Window
from alertbridge.store.bus import Publisher
from alertbridge.store.deliveries import DeliveryStore
from alertbridge.store.incidents import IncidentStore
from alertbridge.store.maintenance import MaintenanceStore
from alertbridge.store.rules import RuleStore
from alertbridge.store.sources import SourceStore
from alertbridge.timestamps import now
from alertbridge.vendors import kapacitor
from alertbridge_tools.harness import Harness

THREADS = 8


def body(n: int) -> bytes:
    at = f"2026-11-23T10:{n:02d}:00Z"
    return json.dumps(
        {"id": "db:down", "message": "db is CRITICAL", "level": "CRITICAL", "time": at}
    ).encode()


def deliver_at_once(stack: Harness, moto_server: str, token: str, first: int) -> list[dict[str, object]]:
    env = stack.stack.environment()
    barrier = threading.Barrier(THREADS)

    def container(n: int) -> dict[str, object]:
        db = boto3.client("dynamodb", region_name="us-east-1", endpoint_url=moto_server)
        events = boto3.client("events", region_name="us-east-1", endpoint_url=moto_server)
        incidents = IncidentStore(db, env["TABLE_NAME"])
        ingest = Ingest(
            kapacitor,
            SourceStore(db, env["TABLE_NAME"]),
            DeliveryStore(db, env["TABLE_NAME"], lambda: boto3.client("s3"), env["RAW_BUCKET"], 30),
            Publisher(events, env["BUS_NAME"]),
            RuleStore(db, env["TABLE_NAME"]),
            MaintenanceStore(db, env["TABLE_NAME"]),
            incidents.has_open,
        )
        barrier.wait()
        answer = ingest.handle(token, body(first + n), {"Content-Type": "application/json"})
        assert answer.status == 202, answer.body
        return answer.body

    with ThreadPoolExecutor(THREADS) as pool:
        return list(pool.map(container, range(THREADS)))


def add_window(service_id: str) -> None:
    start = now() - timedelta(minutes=1)
    runtime.maintenance_store().add(
        Window(
            id=f"mw_{service_id}",
            service_id=service_id,
            name="failover drill",
            created_at=now(),
            start=start,
            end=start + timedelta(hours=1),
        )
    )


def test_concurrent_deliveries_in_a_window_are_all_kept_as_suppressed(
    server_stack: Harness, moto_server: str
) -> None:
    service_id = runtime.source_store().create_service("db").id
    source, token = server_stack.add_source(service_id, "kapacitor")
    add_window(service_id)
    answers = deliver_at_once(server_stack, moto_server, token, first=0)
    assert {a["outcome"] for a in answers} == {"suppressed"}
    assert len({a["delivery_id"] for a in answers}) == THREADS
    kept, _ = runtime.delivery_store().list_for_source(source.id, only="suppressed", limit=50)
    assert len(kept) == THREADS
    assert server_stack.pump().received == 0
    assert runtime.incident_store().list_open(service_id) == []


def test_concurrent_deliveries_for_an_incident_opened_before_all_pass_and_count(
    server_stack: Harness, moto_server: str
) -> None:
    service_id = runtime.source_store().create_service("db").id
    _, token = server_stack.add_source(service_id, "kapacitor")
    assert server_stack.post("kapacitor", token, body(0)).status == 202
    server_stack.pump()
    add_window(service_id)
    answers = deliver_at_once(server_stack, moto_server, token, first=1)
    assert {a["outcome"] for a in answers} == {"accepted"}
    server_stack.pump()
    [incident] = runtime.incident_store().list_open(service_id)
    assert incident.alert_count == 1 + THREADS
