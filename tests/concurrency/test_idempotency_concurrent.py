"""Sixteen clients retrying one public update at once, with one ``Idempotency-Key``, through the
management function's concurrent execution environments on the moto server: it is posted once;
each answer is the first one's or a 409 (still in progress)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from alertbridge import runtime
from alertbridge_tools.harness import Harness

from tests.flow.test_management import call

THREADS = 16


@pytest.fixture
def stack(moto_server: str) -> Iterator[Harness]:
    harness = Harness.create(endpoint_url=moto_server, concurrency=lambda _: {"ManagementFunction": THREADS})
    yield harness
    runtime.reset()


def test_one_key_sent_sixteen_times_at_once_posts_one_update(stack: Harness, incident_id: str) -> None:
    path = f"/api/incidents/{incident_id}/updates"
    barrier = threading.Barrier(THREADS)

    def send(_: int) -> tuple[int, object]:
        barrier.wait()
        answer = call(stack, "POST", path, {"message": "Rolling back."}, headers={"Idempotency-Key": "k"})
        return answer.status, answer.body

    with ThreadPoolExecutor(THREADS) as pool:
        answers = list(pool.map(send, range(THREADS)))
    statuses = [status for status, _ in answers]
    assert set(statuses) <= {201, 409} and 201 in statuses
    assert len({str(body) for status, body in answers if status == 201}) == 1  # one answer, replayed
    updates = runtime.status_page_store().updates([incident_id])[incident_id]
    assert [u.message for u in updates] == ["Rolling back."]
