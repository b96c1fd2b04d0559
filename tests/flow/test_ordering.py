"""Order independence across several keys, through the real consumer and DynamoDB (moto): whatever
the arrival order and the batch split, each key ends in the state its latest vendor signal implies."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from datetime import timedelta

import pytest
from alertbridge import runtime
from alertbridge.consumer import Message, process
from alertbridge.models.alert import CanonicalAlert
from alertbridge.models.incident import Status
from alertbridge.models.parts import Action
from alertbridge.observability import logger
from alertbridge_tools.harness import Harness
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from moto import mock_aws

from tests.flow.test_contract import make_alert
from tests.unit.test_decisions import T0, implied_open

KEYS = ["db", "cpu", "disk"]


@pytest.fixture(scope="module")
def store_stack() -> Iterator[Harness]:
    with mock_aws():
        harness = Harness.create()
        logger.setLevel("WARNING")
        yield harness
        logger.setLevel("INFO")


@st.composite
def interleavings(draw: st.DrawFn) -> tuple[list[CanonicalAlert], list[list[CanonicalAlert]]]:
    signals = []
    for key in KEYS:
        count = draw(st.integers(0, 6))
        minutes = draw(st.lists(st.integers(0, 300), min_size=count, max_size=count, unique=True))
        for n, minute in enumerate(minutes):
            action = draw(st.sampled_from([Action.TRIGGER, Action.TRIGGER, Action.RESOLVE, Action.REMINDER]))
            signals.append((key, n, minute, action))
    arrival = draw(st.permutations(signals))
    cuts = sorted(draw(st.lists(st.integers(0, len(arrival)), max_size=4)))
    service = hashlib.sha256(repr(arrival).encode()).hexdigest()[:12]
    alerts = [
        make_alert(
            service_id=f"svc_{service}",
            dedup_key=key,
            action=action,
            occurred_at=T0 + timedelta(minutes=minute),
            event_id=hashlib.sha256(f"{service}|{key}|{n}".encode()).hexdigest()[:32],
        )
        for key, n, minute, action in arrival
    ]
    batches = [alerts[a:b] for a, b in zip([0, *cuts], [*cuts, len(alerts)], strict=True) if alerts[a:b]]
    duplicates = draw(st.lists(st.sampled_from(alerts), max_size=3)) if alerts else []
    return alerts, [*batches, duplicates] if duplicates else batches


@settings(
    max_examples=60, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck)
)
@given(case=interleavings(), policy=st.sampled_from(["resolve", "monitor"]))
def test_each_key_ends_as_its_latest_signal_implies(
    store_stack: Harness, case: tuple[list[CanonicalAlert], list[list[CanonicalAlert]]], policy: str
) -> None:
    alerts, batches = case
    store = runtime.incident_store()
    for number, batch in enumerate(batches):
        messages = [
            Message(f"{number}-{i}", json.dumps({"detail": json.loads(a.model_dump_json())}))
            for i, a in enumerate(batch)
        ]
        assert process(messages, store, lambda _a: policy).failed == []  # type: ignore[arg-type,return-value]
    for key in KEYS:
        signals = [a for a in alerts if a.dedup_key == key]
        if not signals:
            continue
        latest = store.latest(signals[0].service_id, key)
        is_open = latest is not None and latest.is_open and latest.status is not Status.MONITORING
        assert is_open == implied_open(signals), key
        triggers = sum(1 for s in signals if s.action is Action.TRIGGER)
        if latest is not None and latest.is_open:
            assert 1 <= latest.alert_count <= len(signals)
        assert triggers or latest is None or latest.is_ledger or not latest.is_open
