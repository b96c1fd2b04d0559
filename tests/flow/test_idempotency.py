"""``Idempotency-Key`` on the management API, on moto: a retried POST answers what the first did and
acts once; the same key on another body is a 422, on a route whose answer holds a secret a 400; a
request that failed, or whose Lambda timed out, leaves the key free for the retry. Two at once:
tests/concurrency/test_idempotency_concurrent.py."""

from __future__ import annotations

import time
from types import SimpleNamespace
from typing import Any

import boto3
import pytest
from alertbridge import operations, runtime
from alertbridge.management import idempotency
from alertbridge_tools.apigw import proxy_event, response_headers
from alertbridge_tools.harness import Harness, Response

from tests.flow.test_management import call
from tests.meta.test_data_model_doc import documented_kinds


def keyed(stack: Harness, path: str, body: Any, key: str) -> Response:
    return call(stack, "POST", path, body, headers={"Idempotency-Key": key})


def updates(incident_id: str) -> list[str]:
    """Newest first, as the incident shows them."""
    return [
        u.message for u in reversed(runtime.status_page_store().updates([incident_id]).get(incident_id, []))
    ]


def records(stack: Harness) -> list[dict[str, Any]]:
    table = stack.stack.environment()["TABLE_NAME"]
    answer = boto3.client("dynamodb").query(
        TableName=table,
        KeyConditionExpression="PK = :pk",
        ExpressionAttributeValues={":pk": {"S": "IDEM#management"}},
    )
    return answer["Items"]


def test_a_retried_public_update_is_posted_once_and_answered_the_same(
    stack: Harness, incident_id: str
) -> None:
    path = f"/api/incidents/{incident_id}/updates"
    body = {"message": "Rolling back the deploy.", "phase": "identified"}
    first = keyed(stack, path, body, "k-1")
    again = keyed(stack, path, body, "k-1")
    assert first.status == again.status == 201
    assert again.body == first.body
    assert updates(incident_id) == ["Rolling back the deploy."]
    other = keyed(stack, path, {"message": "Fix out.", "phase": "monitoring"}, "k-2")
    assert other.status == 201 and updates(incident_id) == ["Fix out.", "Rolling back the deploy."]
    # Without a key every POST acts, as before.
    assert call(stack, "POST", path, body).status == 201
    assert len(updates(incident_id)) == 3
    [record, _] = records(stack)
    assert int(record["expires_at"]["N"]) > 0  # swept by the table's Time to Live
    assert "idempotency record" in documented_kinds(stack)


def test_the_same_key_on_another_body_is_a_422_and_on_another_path_is_its_own(
    stack: Harness, service_id: str, incident_id: str
) -> None:
    path = f"/api/incidents/{incident_id}/updates"
    assert keyed(stack, path, {"message": "one"}, "k").status == 201
    reused = keyed(stack, path, {"message": "two"}, "k")
    assert reused.status == 422 and "another request" in reused.body["error"]
    assert updates(incident_id) == ["one"]
    made = keyed(stack, "/api/services", {"name": "payments"}, "k")  # a key is scoped to its path
    assert made.status == 201
    assert keyed(stack, "/api/services", {"name": "payments"}, "k").body == made.body
    names = [s.name for s in runtime.source_store().list_services()]
    assert names.count("payments") == 1


@pytest.mark.parametrize("key", ["", "x" * 256, "ключ", "a\tb"])
def test_a_malformed_key_is_a_400(stack: Harness, incident_id: str, key: str) -> None:
    answer = keyed(stack, f"/api/incidents/{incident_id}/updates", {"message": "m"}, key)
    assert answer.status == 400 and "Idempotency-Key" in answer.body["error"]
    assert updates(incident_id) == []


def test_routes_whose_answer_holds_a_secret_refuse_a_key(stack: Harness, service_id: str) -> None:
    before = runtime.source_store().list_sources(service_id)
    refused = keyed(stack, f"/api/services/{service_id}/sources", {"source": "kapacitor"}, "k")
    assert refused.status == 400 and "secret" in refused.body["error"]
    assert runtime.source_store().list_sources(service_id) == before
    channel = keyed(
        stack,
        f"/api/services/{service_id}/channels",
        {"kind": "webhook", "url": "https://example.com/h"},
        "k",
    )
    assert channel.status == 400
    source, _ = stack.add_source(service_id, "heroku")
    assert keyed(stack, f"/api/sources/{source.id}/rotate", None, "k").status == 400
    assert records(stack) == []  # nothing holding a secret was kept


def test_an_acknowledge_retried_after_it_succeeded_is_not_a_409(stack: Harness, incident_id: str) -> None:
    path = f"/api/incidents/{incident_id}/acknowledge"
    first = keyed(stack, path, {"note": "on it"}, "ack-1")
    assert first.status == 200 and first.body["status"] == "acknowledged"
    again = keyed(stack, path, {"note": "on it"}, "ack-1")
    assert again.status == 200 and again.body == first.body
    resolved = keyed(stack, f"/api/incidents/{incident_id}/resolve", {}, "res-1")
    assert resolved.status == 200
    assert keyed(stack, f"/api/incidents/{incident_id}/resolve", {}, "res-1").status == 200


def test_a_request_that_failed_leaves_its_key_free_for_the_retry(
    stack: Harness, incident_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = f"/api/incidents/{incident_id}/updates"
    real = operations.post_public_update

    def down(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("DynamoDB unavailable")

    missing = keyed(stack, "/api/incidents/inc_00000000000000000000-1/updates", {"message": "m"}, "k")
    assert missing.status == 404 and records(stack) == []  # a refusal is not kept either
    monkeypatch.setattr(operations, "post_public_update", down)
    with pytest.raises(RuntimeError):  # the Lambda's invocation fails (API Gateway answers 502)
        keyed(stack, path, {"message": "m"}, "k")
    assert records(stack) == []
    monkeypatch.setattr(operations, "post_public_update", real)
    assert keyed(stack, path, {"message": "m"}, "k").status == 201
    assert updates(incident_id) == ["m"]


def test_a_key_whose_lambda_timed_out_is_free_once_the_timeout_has_passed(
    stack: Harness, incident_id: str
) -> None:
    """The first request's record says in progress until its Lambda's timeout: a retry meanwhile is
    a 409 with Retry-After; after it, the retry runs (the record is not kept in progress for the
    key's whole day). Powertools reads the wall clock, so the timeout is moved into the past."""
    path = f"/api/incidents/{incident_id}/updates"
    persistence = runtime.idempotency_store(idempotency.configure)
    request = {"scope": ["k", "POST", path], "body": '{"message": "m"}'}
    persistence.save_inprogress(data=request, remaining_time_in_millis=29_000)  # then the Lambda died
    busy = keyed(stack, path, {"message": "m"}, "k")
    assert busy.status == 409 and "in progress" in busy.body["error"]
    assert busy.headers.get("Retry-After") == "2"
    [record] = records(stack)
    assert int(record["in_progress_expiration"]["N"]) > time.time() * 1000 + 28_000  # the Lambda's 29 s
    table = stack.stack.environment()["TABLE_NAME"]
    boto3.client("dynamodb").update_item(
        TableName=table,
        Key={"PK": record["PK"], "SK": record["SK"]},
        UpdateExpression="SET in_progress_expiration = :past",
        ExpressionAttributeValues={":past": {"N": str(int(time.time() * 1000) - 1)}},
    )
    assert keyed(stack, path, {"message": "m"}, "k").status == 201
    assert updates(incident_id) == ["m"]


def test_an_answer_of_5xx_is_not_kept(
    stack: Harness, service_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A test alert whose ingest answered 503 (rules unreadable): the retry with its key sends it."""
    source, _ = stack.add_source(service_id, "kapacitor")
    real = operations.send_test_alert
    answers = iter([SimpleNamespace(status=503, body={"error": "rules unavailable", "status": 503})])
    monkeypatch.setattr(operations, "send_test_alert", lambda *a: next(answers, None) or real(*a))
    path = f"/api/sources/{source.id}/test-alert"
    assert keyed(stack, path, None, "k").status == 503
    assert records(stack) == []
    sent = keyed(stack, path, None, "k")
    assert sent.status == 202 and sent.body["outcome"] == "accepted"
    assert keyed(stack, path, None, "k").body == sent.body  # now kept: the same delivery, not another


def test_a_replay_is_the_first_answer_byte_for_byte(stack: Harness, incident_id: str) -> None:
    path = f"/api/incidents/{incident_id}/updates"
    event = proxy_event(
        "POST",
        path,
        resource=path,
        headers={"Content-Type": "application/json", "Idempotency-Key": "k"},
        body=b'{"message": "m"}',
        binary=False,
    )
    first, again = stack.invoke(event), stack.invoke(event)
    assert first is not None and again is not None
    assert (again["statusCode"], again["body"]) == (first["statusCode"], first["body"])
    assert response_headers(again) == response_headers(first) == [("Content-Type", "application/json")]
