"""Generated bodies on every source route (hypothesis, seeded and bounded): never a 5xx, never an
unhandled exception, every 4xx a JSON error saying what is wrong, every authenticated rejected body
kept with its reason. ALERTBRIDGE_FUZZ_EXAMPLES raises the count (default 2,000 per source)."""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from alertbridge import runtime, sources
from alertbridge.models.records import SourceSettings
from alertbridge.observability import logger
from alertbridge_tools.harness import Harness
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from moto import mock_aws

EXAMPLES = int(os.environ.get("ALERTBRIDGE_FUZZ_EXAMPLES", "2000"))
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

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=50),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=12), children, max_size=5)
    ),
    max_leaves=25,
)


def _mutations(sample: dict[str, Any]) -> st.SearchStrategy[bytes]:
    """The source's own sample with fields deleted, retyped, blown up or duplicated."""

    @st.composite
    def mutate(draw: st.DrawFn) -> bytes:
        doc = json.loads(json.dumps(sample))
        target = doc["alerts"][0] if doc.get("alerts") else doc
        for _ in range(draw(st.integers(1, 4))):
            keys = list(target) or ["x"]
            key = draw(st.sampled_from(keys))
            how = draw(st.sampled_from(["delete", "retype", "huge", "nest", "null"]))
            if how == "delete":
                target.pop(key, None)
            elif how == "retype":
                target[key] = draw(json_values)
            elif how == "huge":
                target[key] = "A" * draw(st.sampled_from([5_000, 100_000, 400_000]))
            elif how == "nest":
                target[key] = json.loads("[" * 200 + "]" * 200)
            else:
                target[key] = None
        text = json.dumps(doc)
        if draw(st.booleans()) and text.startswith("{") and len(text) > 2:  # a duplicated key
            first = next(iter(doc), "id")
            text = "{" + json.dumps(first) + ": 12345, " + text[1:]
        return text.encode()

    return mutate()


def bodies(sample: dict[str, Any]) -> st.SearchStrategy[bytes]:
    return st.one_of(
        json_values.map(lambda v: json.dumps(v).encode()),
        _mutations(sample),
        _mutations(sample),
        st.binary(max_size=300),
        st.text(max_size=300).map(lambda t: t.encode("utf-8", "surrogatepass")),
        st.sampled_from(
            [
                b"",
                b" ",
                b"null",
                b"[]",
                b"{}",
                b"{",
                b"[" * 1000 + b"]" * 1000,
                b'{"a":' * 1000 + b"1" + b"}" * 1000,
                b"\xff\xfe\xfd",
                b"\x00" * 64,
                json.dumps(sample).encode()[:-3],
                b"a=1&b=2&" * 50,
            ]
        ),
    )


@pytest.fixture(scope="module")
def fuzz_stack() -> Iterator[Harness]:
    with mock_aws():
        harness = Harness.create()
        logger.setLevel("ERROR")  # thousands of deliveries; errors would still show
        yield harness
        logger.setLevel("INFO")


@pytest.mark.parametrize("source", sources.SOURCES)
def test_generated_bodies(fuzz_stack: Harness, source: str, record_property: Any) -> None:
    service_id = runtime.sources().create_service(f"fuzz-{source}").id
    _, token = fuzz_stack.add_source(service_id, source, SourceSettings(severity_filter=(1, 2)))
    sample = json.loads(sources.sample(source))
    statuses: Counter[int] = Counter()

    @settings(
        max_examples=EXAMPLES,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
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
            record, raw = runtime.deliveries().get(resp.body["delivery_id"])
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
