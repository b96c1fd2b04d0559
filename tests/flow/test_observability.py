"""What operators see: structured logs that follow a delivery, EMF metrics per source, and never a
token or a secret in any output."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from alertbridge.models.records import SourceSettings
from alertbridge.vendors import heroku as heroku_mapping
from alertbridge_tools.apigw import load_event
from alertbridge_tools.harness import Harness

from tests.conftest import sample

SECRET = "test-webhook-secret"


@pytest.fixture
def logged() -> Any:
    """Everything the functions log (as CloudWatch would receive it), collected in a buffer."""
    import io
    import logging

    from alertbridge.observability import logger

    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(logger.registered_formatter)
    logger.addHandler(handler)
    logger.setLevel("DEBUG")  # the most a deployment could log
    yield buffer
    logger.removeHandler(handler)
    logger.setLevel("INFO")


def lines(text: str) -> list[dict[str, Any]]:
    out = []
    for line in text.splitlines():
        if line.startswith("{"):
            try:
                out.append(json.loads(line))
            except ValueError:
                continue
    return out


def test_full_run_logs_follow_the_delivery_and_never_show_a_token_or_secret(
    stack: Harness, service_id: str, capsys: pytest.CaptureFixture[str], logged: Any
) -> None:
    tokens = []
    for source in ("kapacitor", "threatstack", "uptrends", "stathat"):
        tokens.append(stack.add_source(service_id, source)[1])
    _, heroku = stack.add_source(service_id, "heroku", SourceSettings(secret=SECRET))
    tokens.append(heroku)
    made = stack.call(
        "POST", f"/api/services/{service_id}/sources", {"source": "heroku", "secret": "another-secret-1"}
    )
    tokens.append(made.body["token"])
    rotated = stack.call("POST", f"/api/sources/{made.body['id']}/rotate")
    tokens.append(rotated.body["token"])

    capsys.readouterr()
    for source, case, token in [
        ("kapacitor", "critical", tokens[0]),
        ("threatstack", "batch", tokens[1]),
        ("uptrends", "alert", tokens[2]),
        ("stathat", "json", tokens[3]),
        ("heroku", "build-failed", tokens[4]),
        ("kapacitor", "httppost-row", tokens[0]),
        ("kapacitor", "critical", "wrong-" + tokens[0]),
    ]:
        stack.request(load_event(source, case, token))
    tampered = load_event("heroku", "build-failed", tokens[4])
    body = base64.b64decode(tampered["body"]).replace(b"failed", b"failez")
    tampered["body"] = base64.b64encode(body).decode()
    assert stack.request(tampered).status == 401
    stack.pump()
    stack.call("GET", "/api/deliveries")
    out = capsys.readouterr()
    everything = out.out + out.err + logged.getvalue()

    for secret in [*tokens, SECRET, "another-secret-1"]:
        assert secret not in everything
    # The signature header value is not logged either.
    signature = load_event("heroku", "build-failed", "x")["headers"]["Heroku-Webhook-Hmac-SHA256"]
    assert signature not in everything

    records = lines(logged.getvalue())
    ingest = [r for r in records if str(r.get("function_name", "")).endswith("IngestFunction")]
    incidents = [r for r in records if r.get("function_name") == "IncidentFunction"]
    assert ingest and incidents
    answered = [r for r in ingest if r.get("message") == "delivery answered"]
    assert len(answered) == 8
    # Every ingest line of a kept delivery carries its id; the incident lines carry the ids of the
    # deliveries they applied: one correlation id from webhook to incident write.
    kept = [r for r in ingest if r.get("status") != 404 and "message" in r and "level" in r]
    assert all("delivery_id" in r for r in kept), [r for r in kept if "delivery_id" not in r]
    applied = [r for r in incidents if r.get("message") == "incidents updated"]
    assert applied and all(r["delivery_id"] for r in applied)
    ingest_ids = {r["delivery_id"] for r in answered if r.get("status") == 202}
    incident_ids = {d for r in applied for d in r["delivery_id"]}
    assert ingest_ids == incident_ids


def test_emf_metrics_per_source(
    stack: Harness, service_id: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "false")
    _, token = stack.add_source(service_id, "kapacitor")
    capsys.readouterr()
    stack.post("kapacitor", token, sample("kapacitor-critical.json"))
    stack.post("kapacitor", token, sample("kapacitor-critical.json"))  # a retry
    stack.post("kapacitor", token, b'{"series": []}')
    stack.pump()
    stack.post("kapacitor", token, sample("kapacitor-ok.json"))
    stack.pump()
    rule = {"name": "drop warnings", "kind": "suppress", "when": "severity == 'medium'"}
    assert stack.call("POST", f"/api/services/{service_id}/rules", rule).status == 201
    warning = {**json.loads(sample("kapacitor-critical.json")), "level": "WARNING", "id": "disk"}
    assert stack.post("kapacitor", token, json.dumps(warning).encode()).body["outcome"] == "suppressed"
    emf = [r for r in lines(capsys.readouterr().out) if "_aws" in r]
    totals: dict[tuple[str, str, str], float] = {}
    for record in emf:
        for directive in record["_aws"]["CloudWatchMetrics"]:
            assert directive["Namespace"] == "Alertbridge"
            for metric in directive["Metrics"]:
                name = metric["Name"]
                value = record[name]
                key = (record.get("service", ""), record.get("source", ""), name)
                totals[key] = totals.get(key, 0) + (sum(value) if isinstance(value, list) else value)
    assert totals[("ingest-kapacitor", "kapacitor", "received")] == 5
    assert totals[("ingest-kapacitor", "kapacitor", "suppressed")] == 1
    assert totals[("ingest-kapacitor", "kapacitor", "accepted")] == 3
    assert totals[("ingest-kapacitor", "kapacitor", "rejected")] == 1
    assert totals[("ingest-kapacitor", "kapacitor", "published")] == 3
    assert totals[("incidents", "kapacitor", "opened")] == 1
    assert totals[("incidents", "kapacitor", "deduplicated")] == 1
    assert totals[("incidents", "kapacitor", "resolved")] == 1


def test_signatures_are_compared_in_constant_time() -> None:
    """The comparisons that guard access use hmac.compare_digest (no early exit on a mismatch)."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "layers/core/alertbridge"
    heroku = (root / "vendors/heroku/__init__.py").read_text()
    tokens = (root / "store/sources.py").read_text()
    assert "compare_digest" in heroku and "compare_digest" in tokens
    assert len(heroku_mapping.sign(SECRET, b"x")) == 44


def test_only_token_hashes_are_at_rest(stack: Harness, service_id: str) -> None:
    import hashlib as _hashlib

    import boto3

    made = stack.call("POST", f"/api/services/{service_id}/sources", {"source": "heroku", "secret": SECRET})
    token = made.body["token"]
    items = boto3.client("dynamodb", region_name="us-east-1").scan(TableName=stack.stack.physical["Table"])[
        "Items"
    ]
    dump = json.dumps(items)
    assert token not in dump
    assert _hashlib.sha256(token.encode()).hexdigest() in dump
    shown = stack.call("GET", f"/api/services/{service_id}/sources").body
    assert SECRET not in json.dumps(shown) and shown[0]["has_secret"] is True


def test_no_metric_blobs_when_metrics_are_off(
    stack: Harness, service_id: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """With metrics off (the local stack), 120 deliveries to one warm ingest function print no EMF:
    Powertools' flush keeps the values when off, and printed them at the 100th."""
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")
    _, token = stack.add_source(service_id, "kapacitor")
    capsys.readouterr()
    for n in range(120):
        alert = {**json.loads(sample("kapacitor-critical.json")), "id": f"blob-{n}"}
        assert stack.post("kapacitor", token, json.dumps(alert).encode()).status == 202
    assert not [r for r in lines(capsys.readouterr().out) if "_aws" in r]
