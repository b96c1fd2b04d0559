"""Concurrency against a moto server over HTTP: conditional writes keep one open incident per key."""

from __future__ import annotations

import hashlib
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
import pytest
from alertbridge import runtime
from alertbridge.consumer import Message, process
from alertbridge.models.parts import Action
from alertbridge.store.incidents import IncidentStore
from alertbridge_tools.harness import Harness

from tests.conftest import sample
from tests.flow.test_contract import make_alert
from tests.unit.test_decisions import T0

THREADS = 16


def test_many_concurrent_triggers_make_exactly_one_open_incident(
    server_stack: Harness, moto_server: str
) -> None:
    table = server_stack.stack.physical["Table"]
    service_id = runtime.source_store().create_service("payments").id
    alerts = [
        make_alert(service_id=service_id, dedup_key="db:down", event_id=f"{i:02x}" * 16, occurred_at=T0)
        for i in range(40)
    ]
    barrier = threading.Barrier(THREADS)

    def worker(n: int) -> list[str]:
        store = IncidentStore(
            boto3.client("dynamodb", region_name="us-east-1", endpoint_url=moto_server), table
        )
        barrier.wait()
        mine = [a for i, a in enumerate(alerts) if i % THREADS == n]
        # Each alert also arrives twice (retries): duplicates must not count.
        messages = [Message(f"{n}-{i}", _event(a)) for i, a in enumerate(mine + mine)]
        return process(messages, store, lambda _a: "resolve").failed

    with ThreadPoolExecutor(THREADS) as pool:
        failed = [f for result in pool.map(worker, range(THREADS)) for f in result]
    assert failed == []
    incidents, _ = runtime.incident_store().for_service(service_id)
    assert len(incidents) == 1
    assert incidents[0].is_open and incidents[0].alert_count == len(alerts)
    assert len(runtime.incident_store().list_open(service_id)) == 1


def test_concurrent_webhook_deliveries_through_the_real_functions(server_stack: Harness) -> None:
    service_id = runtime.source_store().create_service("api").id
    _, token = server_stack.add_source(service_id, "kapacitor")
    body = sample("kapacitor-critical.json")
    with ThreadPoolExecutor(THREADS) as pool:
        statuses = list(pool.map(lambda _: server_stack.post("kapacitor", token, body).status, range(50)))
    assert statuses == [202] * 50
    server_stack.pump()
    [incident] = runtime.incident_store().list_open(service_id)
    assert incident.alert_count == 1  # 50 copies of one vendor event: one distinct event


def test_concurrent_trigger_and_resolve_converge(server_stack: Harness, moto_server: str) -> None:
    table = server_stack.stack.physical["Table"]
    service_id = runtime.source_store().create_service("edge").id
    from datetime import timedelta

    signals = [
        make_alert(
            service_id=service_id,
            dedup_key="lb",
            event_id=hashlib.sha256(str(i).encode()).hexdigest()[:32],
            occurred_at=T0 + timedelta(seconds=i),
            action=Action.RESOLVE if i % 5 == 4 else Action.TRIGGER,
        )
        for i in range(30)
    ]  # the latest (i = 29) is a resolve

    def worker(n: int) -> list[str]:
        store = IncidentStore(
            boto3.client("dynamodb", region_name="us-east-1", endpoint_url=moto_server), table
        )
        return process(
            [Message(str(i), _event(s)) for i, s in enumerate(signals) if i % 8 == n],
            store,
            lambda _a: "resolve",
        ).failed

    with ThreadPoolExecutor(8) as pool:
        assert [f for r in pool.map(worker, range(8)) for f in r] == []
    assert runtime.incident_store().list_open(service_id) == []


def _event(alert: object) -> str:
    import json

    return json.dumps({"detail": json.loads(alert.model_dump_json())})  # type: ignore[attr-defined]


def test_a_writer_that_read_a_closed_episode_conflicts_once_the_key_reopened(
    stack: Harness, service_id: str
) -> None:
    """Two writers read the same closed episode: one reopens the key (a newer trigger, a new episode),
    the other holds a newer recovery for it (a late note on the closed episode). The second must not
    land on the closed episode as if nothing happened: it conflicts, reads again and resolves the
    reopened incident, as the recovery's later vendor time says."""
    from datetime import timedelta

    from alertbridge.decisions import decide
    from alertbridge.store.incidents import Conflict

    store = runtime.incident_store()

    def signal(action: Action, minute: int) -> Any:
        return make_alert(
            service_id=service_id,
            dedup_key="db:down",
            action=action,
            occurred_at=T0 + timedelta(minutes=minute),
            event_id=hashlib.sha256(f"{action}{minute}".encode()).hexdigest()[:32],
        )

    for alert in (signal(Action.TRIGGER, 0), signal(Action.RESOLVE, 1)):
        store.save(decide(store.latest(service_id, "db:down"), [alert], "resolve", T0))
    closed = store.latest(service_id, "db:down")
    assert closed is not None and not closed.is_open

    reopen = decide(closed, [signal(Action.TRIGGER, 5)], "resolve", T0)
    late = decide(closed, [signal(Action.RESOLVE, 6)], "resolve", T0)
    assert set(late.writes) == {closed.seq}  # decided on the closed episode alone
    store.save(reopen)
    with pytest.raises(Conflict):
        store.save(late)

    again = decide(store.latest(service_id, "db:down"), [signal(Action.RESOLVE, 6)], "resolve", T0)
    store.save(again)
    latest = store.latest(service_id, "db:down")
    assert latest is not None and latest.seq == closed.seq + 1 and not latest.is_open
