"""The CLI's client: for a deployed stack, URL from the stack outputs, requests SigV4-signed; what
fails on the way is tried again when that cannot act twice (against real loopback servers)."""

from __future__ import annotations

import json
import socket
import uuid
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler

import boto3
import pytest
from alertbridge_tools import client
from alertbridge_tools.client import ApiError, Client

from tests.flow.receivers import Receiver, answer, hang, receivers, sequence


def test_for_stack_reads_the_api_url_from_the_outputs_and_signs(aws: None) -> None:
    template = {
        "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
        "Outputs": {"ApiBaseUrl": {"Value": "https://abc123.execute-api.us-east-1.amazonaws.com/prod"}},
    }
    boto3.client("cloudformation", region_name="us-east-1").create_stack(
        StackName="alertbridge-prod", TemplateBody=json.dumps(template)
    )
    client = Client.for_stack("alertbridge-prod", "us-east-1")
    assert client.base_url == "https://abc123.execute-api.us-east-1.amazonaws.com/prod"
    headers = client._sign("GET", f"{client.base_url}/api/services", None, {"Accept": "application/json"})
    assert headers["Authorization"].startswith("AWS4-HMAC-SHA256 Credential=")
    assert "/us-east-1/execute-api/aws4_request" in headers["Authorization"]
    assert "X-Amz-Date" in headers


# --- tried again: what cannot act twice, with one Idempotency-Key --------------------------------
@pytest.fixture
def receiver() -> Iterator[Callable[..., Receiver]]:
    yield from receivers()


@pytest.fixture(autouse=True)
def quick(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(client, "BACKOFF", 0.01)


def test_a_post_sent_once_is_tried_again_with_the_same_key(receiver: Callable[..., Receiver]) -> None:
    api = receiver(sequence(answer(503), answer(502), answer(201, b'{"id": "svc_1"}')))
    made = Client(api.url).request("POST", "/api/services", {"name": "payments"}, once=True)
    assert made == {"id": "svc_1"}
    keys = {r["headers"]["Idempotency-Key"] for r in api.requests}
    assert len(api.requests) == 3 and len(keys) == 1
    assert uuid.UUID(keys.pop())  # a new key per request unless one is given


def test_a_given_key_is_sent_and_retry_after_is_waited_for(receiver: Callable[..., Receiver]) -> None:
    busy = answer(409, b'{"error": "still in progress"}', {"Retry-After": "1"})
    api = receiver(sequence(busy, answer(201, b"{}")))
    Client(api.url, idempotency_key="deploy-42").request("POST", "/x", {}, once=True)
    [first, second] = api.requests
    assert first["headers"]["Idempotency-Key"] == second["headers"]["Idempotency-Key"] == "deploy-42"
    assert second["at"] - first["at"] >= 1.0  # Retry-After, not the 0.01 s backoff


def test_a_post_without_a_key_is_sent_once_whatever_the_answer(receiver: Callable[..., Receiver]) -> None:
    api = receiver(answer(503, b'{"message": "Service Unavailable"}'))
    with pytest.raises(ApiError) as failed:
        Client(api.url).request("POST", "/api/services/svc_1/sources", {"source": "kapacitor"})
    assert (failed.value.status, len(api.requests)) == (503, 1)
    assert "Idempotency-Key" not in api.requests[0]["headers"]


def test_a_client_error_is_not_tried_again(receiver: Callable[..., Receiver]) -> None:
    api = receiver(answer(409, b'{"error": "the incident is resolved"}'))
    with pytest.raises(ApiError, match="resolved"):
        Client(api.url).request("POST", "/x", {}, once=True)
    assert len(api.requests) == 1


def test_it_gives_up_after_four_attempts_with_the_last_error(receiver: Callable[..., Receiver]) -> None:
    api = receiver(answer(504, b'{"message": "Endpoint request timed out"}'))
    with pytest.raises(ApiError, match="timed out") as failed:
        Client(api.url).request("POST", "/x", {}, once=True)
    assert (failed.value.status, len(api.requests)) == (504, client.ATTEMPTS)


def test_nothing_listening_is_tried_again_then_one_line() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again: nothing listens there
    with pytest.raises(ApiError, match="cannot reach") as failed:
        Client(f"http://127.0.0.1:{port}").request("GET", "/api/services")
    assert failed.value.status == 0


def _drop(handler: BaseHTTPRequestHandler) -> None:
    """Closes the connection without an answer (a load balancer restarting, a reset)."""
    handler.close_connection = True


def test_a_connection_closed_without_an_answer_is_tried_again(receiver: Callable[..., Receiver]) -> None:
    api = receiver(sequence(_drop, answer(200, b'{"ok": true}')))
    assert Client(api.url).request("POST", "/x", {}, once=True) == {"ok": True}
    assert len(api.requests) == 2


def test_an_answer_slower_than_the_timeout_is_tried_again(receiver: Callable[..., Receiver]) -> None:
    api = receiver(sequence(hang(1.5), answer(200, b"{}")))
    assert Client(api.url, timeout=0.5).request("POST", "/x", {}, once=True) == {}
    assert len(api.requests) == 2
