"""Every webhook route end to end on moto: ingest -> raw delivery -> bus -> rule -> SQS -> incident
function -> DynamoDB. What every route must do alike (tokens, unreadable bodies, the events/ files)
is here, with the helpers the per-source flows (tests/flow/test_flow_<source>.py) share.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any, NamedTuple

import boto3
import pytest
from alertbridge import runtime
from alertbridge.models.incident import Incident
from alertbridge.models.records import SourceSettings
from alertbridge.vendors import HEARTBEAT, SOURCES
from alertbridge_tools.apigw import EVENTS_DIR, event_body, load_event
from alertbridge_tools.harness import Harness, Response
from moto import mock_aws

UNKNOWN_TOKEN = {"error": "unknown webhook token", "status": 404}


# --- fixtures and helpers shared by the per-source flows -----------------------------------------
#
# Building the stack on moto takes about a second, so each flow module builds it once
# (``module_stack``) and every test gets a service of its own (``fresh_service``): incidents,
# sources and deliveries never cross services, and the queue is drained before each test.


def module_stack() -> Iterator[Harness]:
    """The body of a module-scoped ``stack`` fixture (overrides conftest's per-test one)."""
    with mock_aws():
        yield Harness.create()
        runtime.reset()


def fresh_service(stack: Harness) -> str:
    """The body of a per-test ``service_id`` fixture: a new service, and nothing left queued."""
    stack.pump()
    assert queued(stack) == 0
    return runtime.source_store().create_service("flow").id


@pytest.fixture(scope="module")
def stack() -> Iterator[Harness]:
    yield from module_stack()


@pytest.fixture
def service_id(stack: Harness) -> str:
    return fresh_service(stack)


class Hook(NamedTuple):
    """An alert source as a vendor sees it (its token) and as the tests look it up."""

    token: str
    source_id: str
    service_id: str


def add_hook(stack: Harness, service_id: str, source: str, settings: SourceSettings | None = None) -> Hook:
    record, token = stack.add_source(service_id, source, settings)
    return Hook(token, record.id, service_id)


def add(
    stack: Harness, service_id: str, source: str, settings: SourceSettings | None = None
) -> tuple[str, str]:
    """A new alert source of ``source`` kind for the service: (token, source id)."""
    hook = add_hook(stack, service_id, source, settings)
    return hook.token, hook.source_id


def event_json(source: str, case: str) -> Any:
    """The body of ``events/<source>/<case>.json``, parsed."""
    return json.loads(event_body(load_event(source, case, "x")))


def post_event(stack: Harness, source: str, case: str, token: str) -> Response:
    """An ``events/<source>/<case>.json`` proxy event through the real function."""
    return stack.request(load_event(source, case, token))


def post_json(
    stack: Harness, source: str, token: str, payload: Any, headers: Mapping[str, str] | None = None
) -> Response:
    return stack.post(source, token, json.dumps(payload).encode(), headers)


def accepted(resp: Response, count: int = 1) -> list[dict[str, Any]]:
    """The per-alert outcomes of a 202 that accepted ``count`` alerts."""
    assert resp.status == 202, resp.body
    assert resp.body["outcome"] == "accepted"
    outcomes: list[dict[str, Any]] = resp.body["alerts"]
    assert [o["outcome"] for o in outcomes] == ["accepted"] * count
    return outcomes


def incidents_of(service_id: str) -> list[Incident]:
    """Every incident of a service (all pages), oldest first."""
    found: list[Incident] = []
    cursor: str | None = None
    while True:
        page, cursor = runtime.incident_store().for_service(service_id, limit=200, cursor=cursor)
        found.extend(page)
        if cursor is None:
            return found[::-1]


def only_incident(service_id: str) -> Incident:
    found = incidents_of(service_id)
    assert len(found) == 1, [(i.dedup_key, i.status) for i in found]
    return found[0]


def item_count(stack: Harness) -> int:
    db = boto3.client("dynamodb", region_name="us-east-1")
    paginator = db.get_paginator("scan")
    return sum(page["Count"] for page in paginator.paginate(TableName=stack.stack.physical["Table"]))


def queued(stack: Harness) -> int:
    """Messages in the incident queue (visible or in flight), without consuming them."""
    attrs = stack.sqs.get_queue_attributes(
        QueueUrl=stack.stack.physical["AlertQueue"],
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return int(attrs["ApproximateNumberOfMessages"]) + int(attrs["ApproximateNumberOfMessagesNotVisible"])


def assert_json_error(resp: Response, status: int, needle: str) -> None:
    """A 4xx answer: JSON, {"error": ...} naming what is wrong."""
    assert resp.status == status, resp.body
    assert resp.headers["Content-Type"] == "application/json"
    assert isinstance(resp.body, dict) and needle in resp.body["error"], resp.body


def assert_kept_rejected(source_id: str, resp: Response, body: bytes) -> None:
    """The delivery behind an error answer is kept, raw, as rejected with the same reason."""
    record, raw = runtime.delivery_store().get(resp.body["delivery_id"])
    assert (record.outcome, record.status_code, record.reason) == (
        "rejected",
        resp.status,
        resp.body["error"],
    )
    assert raw == body
    rejected, _ = runtime.delivery_store().list_for_source(source_id, only="rejected")
    assert record.id in {r.id for r in rejected}


# --- tokens: every route -------------------------------------------------------------------------

# A body each route understands, so that only the token can be what is refused.
GOOD_CASE = {
    "kapacitor": "critical",
    "threatstack": "batch",
    "heroku": "build-failed",
    "uptrends": "alert",
    "stathat": "json",
}


@pytest.mark.parametrize("source", SOURCES)
def test_a_wrong_token_is_404_and_stores_and_queues_nothing(
    stack: Harness, service_id: str, source: str
) -> None:
    token, _ = add(stack, service_id, source)
    before = item_count(stack)
    flipped = token[:-1] + ("A" if token[-1] != "A" else "B")
    for wrong in ("nope", flipped, token + "x", "%00"):
        resp = post_event(stack, source, GOOD_CASE[source], wrong)
        assert resp.status == 404 and resp.body == UNKNOWN_TOKEN, (wrong, resp.body)
        assert resp.headers["Content-Type"] == "application/json"
    assert item_count(stack) == before
    assert queued(stack) == 0


@pytest.mark.parametrize("route", SOURCES)
def test_a_token_of_another_source_kind_is_404_on_this_route(
    stack: Harness, service_id: str, route: str
) -> None:
    tokens = {kind: add(stack, service_id, kind)[0] for kind in SOURCES}
    before = item_count(stack)
    for kind, token in tokens.items():
        if kind == route:
            continue
        resp = post_event(stack, route, GOOD_CASE[route], token)
        assert resp.status == 404 and resp.body == UNKNOWN_TOKEN, (kind, resp.body)
    assert item_count(stack) == before
    assert queued(stack) == 0
    # The route's own token goes through with the very same body.
    assert post_event(stack, route, GOOD_CASE[route], tokens[route]).status == 202


# --- the events/ files: what the real function answers for each ---------------------------------

# source -> case -> (status, delivery outcome or the error's wording)
EVENT_ANSWERS: dict[str, dict[str, tuple[int, str]]] = {
    "kapacitor": {
        "critical": (202, "accepted"),
        "details-html-escaped": (202, "accepted"),
        "httppost-row": (422, "httpPost node row"),
        "no-recoveries": (202, "accepted"),
        "not-json": (400, "not valid JSON"),
        "ok": (202, "accepted"),
        "warning": (202, "accepted"),
    },
    "threatstack": {
        "bare-alert": (202, "accepted"),
        "batch": (202, "accepted"),
        "batch-with-bad-element": (202, "accepted"),
        "empty-alerts": (422, "the list is empty"),
        "mixed-severities": (202, "accepted"),
        "string-typed-numbers": (202, "accepted"),
    },
    "heroku": {
        "app-update": (202, "accepted"),
        "build-failed": (202, "accepted"),
        "build-pending": (202, "ignored"),
        "build-succeeded": (202, "accepted"),
        "dyno-crashed": (202, "accepted"),
        "dyno-starting": (202, "ignored"),
        "dyno-up": (202, "accepted"),
        "release-failed": (202, "accepted"),
        "release-succeeded": (202, "ignored"),
    },
    "uptrends": {
        "alert": (202, "accepted"),
        "error-type": (202, "accepted"),
        "no-incident-key": (202, "accepted"),
        "ok": (202, "accepted"),
        "reminder": (202, "accepted"),
    },
    "stathat": {
        "empty": (400, "empty body"),
        "form-encoded": (202, "accepted"),
        "json": (202, "accepted"),
        "plain-text": (202, "accepted"),
    },
}


def test_every_source_has_an_answer_table() -> None:
    assert sorted(EVENT_ANSWERS) == sorted(SOURCES)
    vendor_dirs = [p for p in EVENTS_DIR.iterdir() if p.is_dir() and p.name != HEARTBEAT]
    on_disk = {p.name: sorted(f.stem for f in p.glob("*.json")) for p in vendor_dirs}
    assert on_disk == {source: sorted(cases) for source, cases in EVENT_ANSWERS.items()}


@pytest.mark.parametrize(("source", "case"), [(s, c) for s, cases in EVENT_ANSWERS.items() for c in cases])
def test_every_event_file_gets_the_expected_answer(
    stack: Harness, service_id: str, source: str, case: str
) -> None:
    token, source_id = add(stack, service_id, source)
    status, what = EVENT_ANSWERS[source][case]
    event = load_event(source, case, token)
    assert event["resource"] == f"/hooks/{source}/{{token}}" and event["httpMethod"] == "POST"
    resp = stack.request(event)
    if status == 202:
        assert resp.status == 202 and resp.body["outcome"] == what, resp.body
        expect_published = sum(o["outcome"] == "accepted" for o in resp.body["alerts"])
        assert queued(stack) == expect_published
        record, _ = runtime.delivery_store().get(resp.body["delivery_id"])
        assert record.outcome == what and record.published is True
    else:
        assert_json_error(resp, status, what)
        assert_kept_rejected(source_id, resp, event_body(event))
        assert queued(stack) == 0
