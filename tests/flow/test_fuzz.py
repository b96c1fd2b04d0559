"""Generated bodies on every source route (hypothesis, seeded and bounded): never a 5xx, never an
unhandled exception, every 4xx a JSON error saying what is wrong, every authenticated rejected body
kept with its reason. ALERTBRIDGE_FUZZ_EXAMPLES raises the count (default 2,000 per source)."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from alertbridge import runtime, vendors
from alertbridge.models.records import SourceSettings
from alertbridge.observability import logger
from alertbridge_tools.harness import Harness
from hypothesis import given
from hypothesis import strategies as st
from moto import mock_aws

from tests.strategies import EXAMPLES, bodies, seeded

CONTENT_TYPES = [
    "application/json",
    "text/plain",
    "application/x-www-form-urlencoded",
    "application/xml",
    "multipart/form-data; boundary=x",
    "",
    "application/json; charset=latin-1",
    "image/png",
]


@pytest.fixture(scope="module")
def fuzz_stack() -> Iterator[Harness]:
    with mock_aws():
        harness = Harness.create()
        logger.setLevel("ERROR")  # thousands of deliveries; errors would still show
        yield harness
        logger.setLevel("INFO")


@pytest.mark.parametrize("source", vendors.SOURCES)
def test_generated_bodies(fuzz_stack: Harness, source: str, record_property: Any) -> None:
    service_id = runtime.source_store().create_service(f"fuzz-{source}").id
    _, token = fuzz_stack.add_source(service_id, source, SourceSettings(severity_filter=(1, 2)))
    sample = json.loads(vendors.sample(source))
    statuses: Counter[int] = Counter()

    @seeded()
    @given(body=bodies(sample), content_type=st.sampled_from(CONTENT_TYPES), binary=st.booleans())
    def one(body: bytes, content_type: str, binary: bool) -> None:
        if not binary:  # an API without binary media types hands over text
            try:
                body.decode("utf-8")
            except UnicodeDecodeError:
                binary = True
        resp = fuzz_stack.post(
            source, token, body, {"Content-Type": content_type} if content_type else {}, binary=binary
        )
        statuses[resp.status] += 1
        assert resp.status < 500, (resp.status, resp.body)
        assert isinstance(resp.body, dict)
        if resp.status >= 400:
            assert isinstance(resp.body.get("error"), str) and resp.body["error"], resp.body
            record, raw = runtime.delivery_store().get(resp.body["delivery_id"])
            assert record.outcome == "rejected" and record.reason == resp.body["error"]
            assert raw == body
        else:
            assert resp.status == 202 and resp.body["outcome"] in ("accepted", "ignored", "rejected")

    one()
    total = sum(statuses.values())
    report = f"{source}: {total} bodies, " + ", ".join(
        f"{n} x {code}" for code, n in sorted(statuses.items())
    )
    record_property("fuzz", report)
    assert total >= EXAMPLES
    assert all(code < 500 for code in statuses)
