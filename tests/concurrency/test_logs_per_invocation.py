"""Functions running at once in one process log as on Lambda: each line names its own function,
and a delivery's id follows that delivery (no keys leaking between invocations)."""

from __future__ import annotations

import io
import json
import threading
from typing import Any

from alertbridge import runtime
from alertbridge.observability import logger
from alertbridge_tools.harness import Harness

from tests.conftest import sample_json


class _Lines(io.TextIOBase):
    def __init__(self) -> None:
        self.lines: list[str] = []
        self._lock = threading.Lock()

    def write(self, text: str) -> int:
        with self._lock:
            self.lines += [line for line in text.splitlines() if line.strip()]
        return len(text)


def test_ingest_and_incident_functions_at_once_keep_their_own_keys(server_stack: Harness) -> None:
    service_id = runtime.source_store().create_service("logs").id
    _, token = server_stack.add_source(service_id, "kapacitor")
    critical = sample_json("kapacitor-critical.json")
    captured = _Lines()
    old = logger.registered_handler.setStream(captured)  # type: ignore[attr-defined]
    old_level = logger.log_level
    logger.setLevel("INFO")
    answered: list[str] = []
    stop = threading.Event()

    def send(worker: int) -> None:
        for n in range(15):
            body = json.dumps(critical | {"id": f"cpu/server{worker}-{n}"}).encode()
            resp = server_stack.post("kapacitor", token, body)
            assert resp.status == 202, resp.body
            answered.append(resp.body["delivery_id"])

    def consume() -> None:
        while not stop.is_set():
            for poller in server_stack.pollers:
                poller.poll_once(wait_seconds=0)

    try:
        consumer = threading.Thread(target=consume)
        consumer.start()
        senders = [threading.Thread(target=send, args=(w,)) for w in range(3)]
        for t in senders:
            t.start()
        for t in senders:
            t.join()
        stop.set()
        consumer.join()
        server_stack.pump()
    finally:
        logger.registered_handler.setStream(old)  # type: ignore[attr-defined]
        logger.setLevel(old_level)

    records: list[dict[str, Any]] = [json.loads(line) for line in captured.lines]
    by_message: dict[str, list[dict[str, Any]]] = {}
    for record in records:
        by_message.setdefault(record["message"], []).append(record)
    deliveries = by_message["delivery answered"]
    assert len(deliveries) == 45
    assert {r["function_name"] for r in deliveries} == {"KapacitorIngestFunction"}
    assert sorted(r["delivery_id"] for r in deliveries) == sorted(answered)  # each its own id
    assert len({r["function_request_id"] for r in deliveries}) == 45
    updated = by_message["incidents updated"]
    assert {r["function_name"] for r in updated} == {"IncidentFunction"}
    assert sorted(d for r in updated for d in r["delivery_id"]) == sorted(answered)
    for record in records:  # every line names its function; only an ingest's carry one delivery id
        assert record.get("function_name"), record
        if record["function_name"] != "KapacitorIngestFunction":
            assert isinstance(record.get("delivery_id", []), list), record
