"""The whole path on moto: webhook -> raw delivery -> bus -> rule -> SQS -> incident function -> DynamoDB."""

from __future__ import annotations

import base64
import json
import secrets
from typing import Any

import boto3
import pytest
from alertbridge import runtime
from alertbridge.models.incident import Status
from alertbridge_tools.apigw import EVENTS_DIR, load_event
from alertbridge_tools.harness import Harness
from botocore.awsrequest import AWSResponse

from tests.conftest import sample

KEY = "kapacitor/cpu/serverA"


@pytest.fixture
def token(stack: Harness, service_id: str) -> str:
    return stack.add_source(service_id, "kapacitor")[1]


def scan(stack: Harness) -> list[dict[str, Any]]:
    db = boto3.client("dynamodb", region_name="us-east-1")
    return db.scan(TableName=stack.stack.physical["Table"])["Items"]


def test_critical_then_ok_opens_then_resolves_one_incident(
    stack: Harness, service_id: str, token: str
) -> None:
    first = stack.post("kapacitor", token, sample("kapacitor-critical.json"))
    assert first.status == 202
    assert first.body["outcome"] == "accepted"
    assert first.body["alerts"] == [
        {
            "index": 0,
            "outcome": "accepted",
            "event_id": first.body["alerts"][0]["event_id"],
            "action": "trigger",
            "dedup_key": KEY,
        }
    ]
    assert stack.pump().deleted == 1
    [open_inc] = runtime.incident_store().list_open(service_id)
    assert (open_inc.status, open_inc.severity, open_inc.dedup_key, open_inc.alert_count) == (
        Status.TRIGGERED,
        "critical",
        KEY,
        1,
    )

    assert stack.post("kapacitor", token, sample("kapacitor-ok.json")).status == 202
    stack.pump()
    assert runtime.incident_store().list_open(service_id) == []
    incidents, _ = runtime.incident_store().for_service(service_id)
    assert [(i.id, i.status, i.resolved_by) for i in incidents] == [(open_inc.id, Status.RESOLVED, "source")]
    assert [e.kind for e in incidents[0].timeline] == ["opened", "resolved"]


def test_raw_delivery_is_kept_with_outcome_and_exact_bytes(
    stack: Harness, token: str, service_id: str
) -> None:
    body = sample("kapacitor-critical.json")
    resp = stack.post(
        "kapacitor", token, body, {"Authorization": "Basic c2VjcmV0", "User-Agent": "Go-http-client/1.1"}
    )
    record, raw = runtime.delivery_store().get(resp.body["delivery_id"])
    assert raw == body
    assert record.outcome == "accepted" and record.published is True and record.status_code == 202
    assert record.headers["authorization"] == "<present>"  # never the credential itself
    assert record.headers["user-agent"] == "Go-http-client/1.1"
    assert record.alerts[0].dedup_key == KEY


def test_same_delivery_twice_counts_once(stack: Harness, service_id: str, token: str) -> None:
    for _ in range(3):
        assert stack.post("kapacitor", token, sample("kapacitor-critical.json")).status == 202
    stack.pump()
    [inc] = runtime.incident_store().list_open(service_id)
    assert inc.alert_count == 1


def test_unknown_token_is_404_and_stores_nothing(stack: Harness, token: str) -> None:
    before = len(scan(stack))
    for bad in ("nope", token[:-1] + ("A" if token[-1] != "A" else "B"), ""):
        resp = stack.post("kapacitor", bad or "x", sample("kapacitor-critical.json"))
        assert resp.status == 404 and resp.body == {"error": "unknown webhook token", "status": 404}
    assert len(scan(stack)) == before
    assert stack.pump().received == 0


def test_token_of_another_source_is_refused(stack: Harness, service_id: str) -> None:
    _, other = stack.add_source(service_id, "kapacitor")
    src, _ = stack.add_source(service_id, "kapacitor")
    record = runtime.source_store().get_source(src.id)
    # A token valid for a source of another kind is refused on this route.
    db = boto3.client("dynamodb", region_name="us-east-1")
    db.update_item(
        TableName=stack.stack.physical["Table"],
        Key={"PK": {"S": f"SRC#{record.id}"}, "SK": {"S": "SRC"}},
        UpdateExpression="SET #s = :s",
        ExpressionAttributeNames={"#s": "source"},
        ExpressionAttributeValues={":s": {"S": "threatstack"}},
    )
    runtime.reset()
    stack.handlers = {name: fn.load() for name, fn in stack.stack.functions.items()}
    assert stack.post("kapacitor", other, sample("kapacitor-critical.json")).status == 202
    _, token = runtime.source_store().rotate_token(record.id)
    assert stack.post("kapacitor", token, sample("kapacitor-critical.json")).status == 404


@pytest.mark.parametrize(
    ("case", "status", "needle"),
    [
        ("httppost-row", 422, "httpPost node row"),
        ("not-json", 400, "not valid JSON"),
    ],
)
def test_bodies_we_cannot_understand_are_4xx_json_and_kept(
    stack: Harness, token: str, case: str, status: int, needle: str
) -> None:
    resp = stack.request(load_event("kapacitor", case, token))
    assert resp.status == status and needle in resp.body["error"]
    assert resp.headers["Content-Type"] == "application/json"
    record, raw = runtime.delivery_store().get(resp.body["delivery_id"])
    assert record.outcome == "rejected" and needle in (record.reason or "")
    assert raw  # the body is kept for a later replay
    assert stack.pump().received == 0


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"\xff\xfe\x00binary",
        b"[]",
        b"null",
        b'"x"',
        b"{}",
        b'{"level":"PANIC","id":"x"}',
        b'{"level":"OK"}',
        b'{"id":7,"level":"CRITICAL"}',
        b"[" * 5000 + b"]" * 5000,
    ],
)
def test_never_a_5xx_for_any_body(stack: Harness, token: str, body: bytes) -> None:
    resp = stack.post("kapacitor", token, body)
    assert 400 <= resp.status < 500, resp.body
    assert resp.body["error"]


def test_oversize_body_is_413_and_kept(stack: Harness, token: str) -> None:
    big = b'{"id":"x","level":"CRITICAL","details":"' + b"a" * (1024 * 1024) + b'"}'
    resp = stack.post("kapacitor", token, big)
    assert resp.status == 413
    _, raw = runtime.delivery_store().get(resp.body["delivery_id"])
    assert raw == big  # large bodies go to the raw bucket, not lost


def test_a_body_too_large_for_an_item_goes_to_s3_whose_client_it_creates(stack: Harness, token: str) -> None:
    assert stack.post("kapacitor", token, sample("kapacitor-critical.json")).status == 202
    assert runtime.s3.cache_info().currsize == 0  # no S3 client for bodies that fit an item
    noise = base64.b64encode(secrets.token_bytes(450_000)).decode()  # ~600 KB that zlib cannot shrink
    big = json.dumps({"id": "x", "level": "CRITICAL", "details": noise}).encode()
    resp = stack.post("kapacitor", token, big)
    assert resp.status == 202 and resp.body["outcome"] == "accepted"
    assert runtime.s3.cache_info().currsize == 1
    objects = runtime.s3().list_objects_v2(Bucket=stack.stack.physical["RawBucket"])["Contents"]
    [key] = [o["Key"] for o in objects]
    assert key.startswith("raw/") and key.endswith(f"/{resp.body['delivery_id']}.zz")
    _, raw = runtime.delivery_store().get(resp.body["delivery_id"])
    assert raw == big


def test_every_event_file_is_a_valid_proxy_event(stack: Harness, token: str) -> None:
    expected = {
        "critical": 202,
        "ok": 202,
        "warning": 202,
        "details-html-escaped": 202,
        "no-recoveries": 202,
        "httppost-row": 422,
        "not-json": 400,
    }
    found = sorted(p.stem for p in (EVENTS_DIR / "kapacitor").glob("*.json"))
    assert found == sorted(expected)
    for case, status in expected.items():
        event = load_event("kapacitor", case, token)
        assert event["resource"] == "/hooks/kapacitor/{token}" and event["httpMethod"] == "POST"
        assert stack.request(event).status == status, case


def test_level_change_escalates_and_no_recoveries_is_noted(
    stack: Harness, service_id: str, token: str
) -> None:
    for case in ("warning", "critical", "no-recoveries"):
        assert stack.request(load_event("kapacitor", case, token)).status == 202
    stack.pump()
    incidents = {i.dedup_key: i for i in runtime.incident_store().list_open(service_id)}
    cpu = incidents[KEY]
    # WARNING at 10:01:10 is newer than CRITICAL at 10:00:10: the level is the latest one.
    assert cpu.severity == "medium" and cpu.alert_count == 2
    disk = incidents["kapacitor/disk/serverB"]
    assert disk.recoverable is False and "resolve by hand" in disk.timeline[0].message


def test_bus_outage_answers_503_and_keeps_the_delivery_unpublished(
    stack: Harness, service_id: str, token: str
) -> None:
    publisher = runtime.publisher()
    client = publisher._events

    def outage(**_: Any) -> tuple[AWSResponse, dict[str, Any]]:
        return AWSResponse("https://events", 200, {}, None), {
            "FailedEntryCount": 1,
            "Entries": [{"ErrorCode": "ServiceUnavailable", "ErrorMessage": "down"}],
        }

    client.meta.events.register("before-call.events.PutEvents", outage)
    publisher._backoff = 0
    resp = stack.post("kapacitor", token, sample("kapacitor-critical.json"))
    assert resp.status == 503 and "retry" in resp.body["error"]
    source_id = runtime.source_store().list_sources(service_id)[0].id
    unpublished, _ = runtime.delivery_store().list_for_source(source_id, only="unpublished")
    assert len(unpublished) == 1 and unpublished[0].published is False
    client.meta.events.unregister("before-call.events.PutEvents", outage)
    # The vendor retries: the same alert goes through once.
    assert stack.post("kapacitor", token, sample("kapacitor-critical.json")).status == 202
    stack.pump()
    [inc] = runtime.incident_store().list_open(service_id)
    assert inc.alert_count == 1


def test_poison_message_ends_in_the_dlq_and_good_ones_are_applied(
    stack: Harness, service_id: str, token: str
) -> None:
    queue = stack.stack.physical["AlertQueue"]
    stack.sqs.send_message(
        QueueUrl=queue, MessageBody=json.dumps({"detail": {"schema_version": "1", "nonsense": True}})
    )
    stack.sqs.send_message(QueueUrl=queue, MessageBody="not json at all")
    assert stack.post("kapacitor", token, sample("kapacitor-critical.json")).status == 202
    stack.pump()
    assert len(runtime.incident_store().list_open(service_id)) == 1
    dlq = stack.stack.physical["AlertDeadLetterQueue"]
    got = stack.sqs.receive_message(QueueUrl=dlq, MaxNumberOfMessages=10).get("Messages", [])
    assert sorted(m["Body"] for m in got) == sorted(
        ["not json at all", json.dumps({"detail": {"schema_version": "1", "nonsense": True}})]
    )
