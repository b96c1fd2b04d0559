"""Bodies a source cannot understand, on every route, through the real functions on moto: a 4xx
with a JSON ``{"error": ...}`` naming what is wrong, the delivery kept as rejected, nothing
published, and never a 5xx (not even for a huge string field or 1,000 levels of nesting).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from alertbridge import runtime
from alertbridge_tools.harness import Harness

from tests.flow.test_sources_flow import (  # stack, service_id: the shared module fixtures
    add,
    assert_json_error,
    assert_kept_rejected,
    queued,
)

DEEP_LIST = "[" * 1000 + "]" * 1000
DEEP_OBJECT = '{"a":' * 1000 + "1" + "}" * 1000
HUGE = "x" * 600_000  # a string field well over DynamoDB's 400 KB item, under the 1 MiB body limit
INVALID_UTF8 = b'{"id": "\xff\xfe", "severity": 1}'
NOT_JSON = b"level=CRITICAL id=cpu"

# (label, body, status, what the error names)
JSON_SOURCE_BAD_BODIES: list[tuple[str, bytes, int, str]] = [
    ("not-json", NOT_JSON, 400, "not valid JSON"),
    ("json-array", b"[1, 2]", 422, "expected a JSON object"),
    ("json-string", b'"alert"', 422, "expected a JSON object"),
    ("deep-list", DEEP_LIST.encode(), 422, "expected a JSON object"),
    ("invalid-utf8", INVALID_UTF8, 400, "not UTF-8"),
    ("binary", bytes(range(256)), 400, "not UTF-8"),
    ("empty", b"", 400, "empty body"),
    ("way-too-deep", b"[" * 100_000 + b"]" * 100_000, 400, "nested too deeply"),
]


def _body(value: Any) -> bytes:
    return json.dumps(value).encode()


BAD_BODIES: dict[str, list[tuple[str, bytes, int, str]]] = {
    "kapacitor": [
        *JSON_SOURCE_BAD_BODIES,
        ("wrong-shape", _body({"series": []}), 422, "httpPost node row"),
        ("deep-object", DEEP_OBJECT.encode(), 422, "level: Field required"),
        ("huge-level", _body({"id": "cpu", "level": HUGE}), 422, "level: Input should be"),
    ],
    "threatstack": [
        *JSON_SOURCE_BAD_BODIES,
        ("wrong-shape", _body({"alerts": {"id": "x"}}), 422, "alerts: expected a list of alerts"),
        ("bare-without-id", _body({"title": "t", "severity": 1}), 422, "id: Field required"),
        ("deep-object", DEEP_OBJECT.encode(), 422, "id: Field required"),
        ("deep-element", f'{{"alerts": [{DEEP_LIST}]}}'.encode(), 422, "alerts[0]: expected an alert"),
        ("no-readable-element", _body({"alerts": ["a", 7, {"severity": 1}]}), 422, "alerts[2].id"),
        ("huge-severity", _body({"id": "x", "severity": "1" * 600_000}), 422, "severity"),
    ],
    "heroku": [
        *JSON_SOURCE_BAD_BODIES,
        ("wrong-shape", _body({"id": "e", "data": {}}), 422, "resource: Field required"),
        ("no-event-id", _body({"resource": "app", "data": {}}), 422, "no event id"),
        ("deep-object", DEEP_OBJECT.encode(), 422, "resource: Field required"),
        (
            "dyno-without-app",
            _body({"id": "e", "resource": "dyno", "data": {"state": "crashed"}}),
            422,
            "data.app.id",
        ),
        ("huge-resource-type", _body({"id": "e", "resource": [HUGE]}), 422, "resource"),
    ],
    "uptrends": [
        *JSON_SOURCE_BAD_BODIES,
        ("wrong-shape", _body({"type": "Alert", "incident": {"key": "k"}}), 422, "alert: Field required"),
        ("no-key", _body({"alert": {"type": "Alert"}}), 422, "neither incident.key nor monitor.guid"),
        ("deep-object", DEEP_OBJECT.encode(), 422, "alert: Field required"),
        ("alert-not-an-object", _body({"alert": HUGE}), 422, "alert"),
    ],
    "stathat": [
        # StatHat's body is not public: any JSON object, form or text is an alert. Only bodies that
        # are no text at all, or JSON that is not an object, are refused.
        ("empty", b"", 400, "empty body"),
        ("blank", b" \r\n\t ", 400, "empty body"),
        ("binary", bytes(range(256)), 400, "not UTF-8"),
        ("invalid-utf8", b"stat_name=\xff\xfe", 400, "not UTF-8"),
        ("json-array", b"[1, 2]", 422, "got a JSON list"),
        ("deep-list", DEEP_LIST.encode(), 422, "got a JSON list"),
    ],
}


@pytest.mark.parametrize(
    ("source", "label", "body", "status", "needle"),
    [(s, *case) for s, cases in BAD_BODIES.items() for case in cases],
    ids=[f"{s}-{case[0]}" for s, cases in BAD_BODIES.items() for case in cases],
)
def test_a_body_the_source_cannot_understand_is_a_4xx_json_error_and_is_kept(
    stack: Harness, service_id: str, source: str, label: str, body: bytes, status: int, needle: str
) -> None:
    token, source_id = add(stack, service_id, source)
    resp = stack.post(source, token, body)
    assert_json_error(resp, status, needle)
    assert_kept_rejected(source_id, resp, body)
    assert queued(stack) == 0


# A huge string in a field the mapping reads, where the body is otherwise fine: never a 5xx, the
# delivery is kept (a reason quoting the whole value would not fit in the delivery's item).
HUGE_FIELDS: list[tuple[str, Any]] = [
    ("kapacitor", {"id": "cpu", "level": "CRITICAL", "message": HUGE, "details": HUGE}),
    ("threatstack", {"alerts": [{"id": "a1", "severity": 1, "title": HUGE, "server_or_region": HUGE}]}),
    ("threatstack", {"id": HUGE, "severity": 2}),
    ("heroku", {"id": "e1", "resource": HUGE, "data": {}}),
    (
        "heroku",
        {"id": "e2", "resource": "dyno", "data": {"state": HUGE, "name": "web.1", "app": {"id": "a"}}},
    ),
    ("heroku", {"id": "e3", "resource": "build", "data": {"status": "failed", "app": {"id": HUGE}}}),
    ("uptrends", {"alert": {"type": HUGE}, "incident": {"key": "k"}}),
    ("uptrends", {"alert": {"type": "Alert", "description": HUGE}, "incident": {"key": HUGE}}),
    ("stathat", {"stat_name": HUGE, "kind": HUGE}),
    ("stathat", {"id": HUGE}),
]


@pytest.mark.parametrize(("source", "payload"), HUGE_FIELDS, ids=[s for s, _ in HUGE_FIELDS])
def test_a_huge_string_field_is_never_a_5xx_and_the_delivery_is_kept(
    stack: Harness, service_id: str, source: str, payload: Any
) -> None:
    token, _ = add(stack, service_id, source)
    body = _body(payload)
    resp = stack.post(source, token, body)
    assert resp.status < 500, resp.body
    _, raw = runtime.delivery_store().get(resp.body["delivery_id"])
    assert raw == body
    if resp.status == 202:
        assert len(json.dumps(resp.body)) < 10_000  # the answer does not echo the huge value
        assert stack.pump().failed == 0
        assert queued(stack) == 0
