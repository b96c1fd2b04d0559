"""Quiet sources on `alertbridge local` over real HTTP: the heartbeat URL answers GET and POST, the
local scheduler (every 5 s) runs the checker, a silence opens and the next heartbeat resolves it,
and the CLI's `sources list` says so. The clock is moved forward in-process, not waited for."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from alertbridge import timestamps
from alertbridge_tools.local import LocalStack

from tests.e2e.helpers import ab, wait_for


@pytest.fixture
def local() -> Iterator[LocalStack]:
    stack = LocalStack(port=0, quiet=True).start()
    yield stack
    stack.stop()
    timestamps.reset_clock()


def ping(url: str, method: str) -> dict[str, Any]:
    data = b"backup done" if method == "POST" else None
    with urllib.request.urlopen(urllib.request.Request(url, data=data, method=method), timeout=10) as resp:
        assert resp.status == 200
        return dict(json.loads(resp.read()))


def test_a_heartbeat_source_goes_silent_and_comes_back_on_the_local_stack(local: LocalStack) -> None:
    service = ab(local, "services", "create", "backups")
    source = ab(local, "sources", "add", service["id"], "heartbeat", "--expect-every", "1m")
    assert set(source) == {"id", "source", "webhook_url", "token"} and source["source"] == "heartbeat"
    assert ping(source["webhook_url"], "GET")["source_id"] == source["id"]
    assert ping(source["webhook_url"], "POST")["source_id"] == source["id"]
    timestamps.advance(61)

    def silent() -> list[Any]:
        return [
            i
            for i in ab(local, "incidents", "list", "--service", service["id"])
            if i["source"] == "alertbridge"
        ]

    [incident] = wait_for(silent)
    assert incident["title"].startswith("heartbeat for backups has been silent since")
    [listed] = ab(local, "sources", "list", service["id"])
    assert listed["silent"] is True and listed["expect_every"] == 60 and listed["last_heartbeat_at"]
    ping(source["webhook_url"], "GET")
    assert wait_for(lambda: not silent())
    [listed] = ab(local, "sources", "list", service["id"])
    assert listed["silent"] is False
