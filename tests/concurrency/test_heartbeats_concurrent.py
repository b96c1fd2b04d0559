"""Quiet sources under real concurrency (a moto server over HTTP): two checkers at once open each
silence once; a delivery racing the checker never leaves a silence incident open."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
from alertbridge import runtime, timestamps
from alertbridge.checker import Checker
from alertbridge.silence import SILENCE_SOURCE
from alertbridge.store.bus import Publisher
from alertbridge.store.deliveries import DeliveryStore
from alertbridge.store.due import DueIndex
from alertbridge.store.heartbeats import HeartbeatStore
from alertbridge.store.maintenance import MaintenanceStore
from alertbridge.store.sources import SourceStore
from alertbridge_tools.harness import Harness

SOURCES = 8


def _checker(stack: Harness, endpoint: str) -> Checker:
    """A checker with clients of its own: another Lambda instance."""
    env = stack.stack.environment()
    db = boto3.client("dynamodb", region_name="us-east-1", endpoint_url=endpoint)
    events = boto3.client("events", region_name="us-east-1", endpoint_url=endpoint)
    return Checker(
        due=DueIndex(db, env["TABLE_NAME"]),
        notes=runtime.notification_store(),
        incidents=runtime.incident_store(),
        channels=runtime.channel_store(),
        queue=runtime.notify_queue(),
        sources=SourceStore(db, env["TABLE_NAME"]),
        seen=HeartbeatStore(db, env["TABLE_NAME"]),
        deliveries=DeliveryStore(db, env["TABLE_NAME"], runtime.s3, None, 30),
        publisher=Publisher(events, env["BUS_NAME"]),
        quiet_now=MaintenanceStore(db, env["TABLE_NAME"]).in_window,
    )


def _sources(stack: Harness, service_id: str) -> list[dict[str, Any]]:
    made = [
        stack.call(
            "POST", f"/api/services/{service_id}/sources", {"source": "kapacitor", "expect_every": "1m"}
        )
        for _ in range(SOURCES)
    ]
    assert all(m.status == 201 for m in made)
    return [m.body for m in made]


def _silences(service_id: str) -> list[Any]:
    found, _ = runtime.incident_store().for_service(service_id, limit=100)
    return [i for i in found if i.source == SILENCE_SOURCE]


def test_two_checkers_at_once_open_each_silence_exactly_once(server_stack: Harness, moto_server: str) -> None:
    service_id = runtime.source_store().create_service("batch").id
    _sources(server_stack, service_id)
    server_stack.advance(61)
    at = timestamps.now()
    checkers = [_checker(server_stack, moto_server) for _ in range(2)]
    barrier = threading.Barrier(2)

    def run(checker: Checker) -> dict[str, int]:
        barrier.wait()
        return checker.run(at)

    with ThreadPoolExecutor(2) as pool:
        found = list(pool.map(run, checkers))
    assert sum(f.get("src.silent", 0) for f in found) == SOURCES, found
    assert all(f.get("src.failed", 0) == 0 for f in found)
    server_stack.pump()
    silences = _silences(service_id)
    assert len(silences) == SOURCES and {i.alert_count for i in silences} == {1}


def test_a_delivery_racing_the_checker_never_leaves_a_silence_open(
    server_stack: Harness, moto_server: str
) -> None:
    service_id = runtime.source_store().create_service("race").id
    made = _sources(server_stack, service_id)
    server_stack.advance(61)
    at = timestamps.now()
    checker = _checker(server_stack, moto_server)
    barrier = threading.Barrier(2)

    def deliver() -> list[int]:
        barrier.wait()
        return [server_stack.post("kapacitor", m["token"], b'{"id":"x","level":"OK"}').status for m in made]

    def check() -> dict[str, int]:
        barrier.wait()
        return checker.run(at)

    with ThreadPoolExecutor(2) as pool:
        statuses, found = pool.submit(deliver), pool.submit(check)
        assert set(statuses.result()) == {202} and found.result().get("src.failed", 0) == 0
    server_stack.pump()
    assert [i for i in _silences(service_id) if i.is_open] == []
    server_stack.advance(61)  # and the watch goes on: silent again a minute after those deliveries
    server_stack.pump()
    assert len([i for i in _silences(service_id) if i.is_open]) == SOURCES
