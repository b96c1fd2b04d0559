"""Concurrent rule edits against a moto server over HTTP: every change lands once, in one order, and
a change made against a version that is no longer current is refused (409)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import boto3
from alertbridge import operations, runtime
from alertbridge.store.rules import RuleStore
from alertbridge_tools.harness import Harness

THREADS = 8


def _store(moto_server: str, table: str) -> RuleStore:
    return RuleStore(boto3.client("dynamodb", region_name="us-east-1", endpoint_url=moto_server), table)


def test_concurrent_adds_land_once_each_with_distinct_ids(server_stack: Harness, moto_server: str) -> None:
    table = server_stack.stack.physical["Table"]
    service_id = runtime.source_store().create_service("rules").id
    barrier = threading.Barrier(THREADS)

    def worker(n: int) -> str | None:
        store = _store(moto_server, table)
        barrier.wait()
        try:
            _, rule = operations.add_rule(
                runtime.source_store(),
                store,
                service_id,
                {"name": f"w{n}", "kind": "suppress", "when": "`false`"},
            )
        except operations.Refused:  # "kept changing": a 409 the caller sees, never a lost change
            return None
        return rule.id

    with ThreadPoolExecutor(THREADS) as pool:
        results = list(pool.map(worker, range(THREADS)))
    landed = [r for r in results if r is not None]
    final = _store(moto_server, table).get(service_id)
    assert len(landed) >= THREADS // 2, results  # 10 tries each: refusals are rare
    assert sorted(landed) == sorted(r.id for r in final.rules)  # every change that answered landed
    assert len(set(landed)) == len(landed) and final.version == len(landed)  # once each, ids distinct


def test_edits_against_the_same_version_one_wins_the_others_get_409(
    server_stack: Harness, moto_server: str
) -> None:
    table = server_stack.stack.physical["Table"]
    service_id = runtime.source_store().create_service("rules").id
    for name in ("a", "b"):
        operations.add_rule(
            runtime.source_store(),
            _store(moto_server, table),
            service_id,
            {"name": name, "kind": "suppress", "when": "`false`"},
        )
    barrier = threading.Barrier(THREADS)

    def worker(n: int) -> str:
        store = _store(moto_server, table)
        barrier.wait()
        try:
            operations.move_rule(runtime.source_store(), store, service_id, "r_1", 2, expected_version=2)
        except operations.Refused as exc:
            return str(exc)
        return "moved"

    with ThreadPoolExecutor(THREADS) as pool:
        results = list(pool.map(worker, range(THREADS)))
    assert results.count("moved") == 1
    refused = [r for r in results if r != "moved"]
    assert len(refused) == THREADS - 1 and all("at version 3, not 2" in r for r in refused), refused
    final = _store(moto_server, table).get(service_id)
    assert (final.version, [r.id for r in final.rules]) == (3, ["r_2", "r_1"])
