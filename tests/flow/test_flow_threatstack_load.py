"""A Threat Stack batch of 1,000 alerts end to end on moto: one delivery, 1,000 outcomes, exactly
1,000 incidents, and the same batch again changes nothing.

Marked slow: the system does ~100 PutEvents calls and 10 incident-function invocations, but in-process
moto is quadratic in this volume (its SQS computes the queue's attributes for every message sent
and received, and its DynamoDB Query sorts the whole table on every call), so this takes about
1.5 min on moto for the first batch and as much again for the redelivery. Deselect with
``-m "not slow"``.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from alertbridge_tools.harness import Harness

from tests.flow.test_flow_threatstack import alert
from tests.flow.test_sources_flow import accepted, add_hook, incidents_of, post_json

pytestmark = pytest.mark.slow


def timed(step: Any) -> tuple[Any, float]:
    started = time.perf_counter()
    return step(), time.perf_counter() - started


def test_a_batch_of_1000_alerts_is_one_delivery_and_1000_incidents_and_counts_once(
    stack: Harness, service_id: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """``stack`` and ``service_id`` here are conftest's: a stack of its own, so that nothing else
    is in the table."""
    hook = add_hook(stack, service_id, "threatstack")
    batch = {"alerts": [alert(n, severity=n % 3 + 1) for n in range(1000)]}

    resp, ingest_s = timed(lambda: post_json(stack, "threatstack", hook.token, batch))
    outcomes = accepted(resp, 1000)
    assert [o["index"] for o in outcomes] == list(range(1000))
    assert {o["action"] for o in outcomes} == {"trigger"}
    first, pump_s = timed(stack.pump)
    assert (first.received, first.deleted, first.failed, first.invocations) == (1000, 1000, 0, 10)

    incidents = incidents_of(service_id)
    assert len(incidents) == 1000
    assert {i.dedup_key for i in incidents} == {a["id"] for a in batch["alerts"]}
    assert {i.alert_count for i in incidents} == {1}

    # The same batch again (a retry): the same event ids, nothing new, nothing counted twice.
    again_resp, again_ingest_s = timed(lambda: post_json(stack, "threatstack", hook.token, batch))
    assert [o["event_id"] for o in accepted(again_resp, 1000)] == [o["event_id"] for o in outcomes]
    again, again_pump_s = timed(stack.pump)
    assert (again.received, again.deleted, again.failed) == (1000, 1000, 0)
    incidents = incidents_of(service_id)
    assert len(incidents) == 1000
    assert {i.alert_count for i in incidents} == {1}
    assert {len(i.timeline) for i in incidents} == {1}

    with capsys.disabled():
        print(
            f"\n1,000 Threat Stack alerts on in-process moto: ingest {ingest_s:.1f}s, pump {pump_s:.1f}s; "
            f"again: ingest {again_ingest_s:.1f}s, pump {again_pump_s:.1f}s"
        )
