"""The management API's own rules on moto: who acted on an incident, webhook URLs, 400s that name
the field, and the one conflict-retry loop."""

from __future__ import annotations

import ast
import json
from typing import Any, cast, get_args

import pytest
from alertbridge import operations, retry, runtime
from alertbridge.models.incident import Status
from alertbridge.store.incidents import Conflict, IncidentStore
from alertbridge_tools.apigw import proxy_event
from alertbridge_tools.harness import Harness, Response

from tests.conftest import ROOT

ANA = "arn:aws:iam::123456789012:user/ana"


def call(
    stack: Harness,
    method: str,
    path: str,
    body: Any = None,
    *,
    identity: dict[str, str] | None = None,
    stage: str = "local",
    headers: dict[str, str] | None = None,
    query: dict[str, str] | None = None,
) -> Response:
    """A management call as API Gateway hands it over, with the caller's IAM identity if any."""
    raw = None if body is None else json.dumps(body).encode()
    event = proxy_event(
        method,
        path,
        resource=path,
        headers={"Content-Type": "application/json", "Host": "127.0.0.1", **(headers or {})},
        query=query,
        body=raw,
        stage=stage,
    )
    event["requestContext"]["identity"].update(identity or {})
    return stack.request(event)


# --- who acknowledged, who resolved -----------------------------------------------------------------
def test_the_iam_principal_is_recorded_and_the_body_only_noted(stack: Harness, incident_id: str) -> None:
    identity = {"userArn": ANA, "caller": "AIDAEXAMPLE"}
    acked = call(
        stack, "POST", f"/api/incidents/{incident_id}/acknowledge", {"by": "mallory"}, identity=identity
    )
    assert acked.status == 200, acked.body
    assert acked.body["acknowledged_by"] == ANA
    assert acked.body["timeline"][-1]["message"] == f"acknowledged by {ANA} (note: 'mallory')"

    done = call(
        stack, "POST", f"/api/incidents/{incident_id}/resolve", {"note": "on call: bob"}, identity=identity
    )
    assert done.status == 200, done.body
    assert done.body["resolved_by"] == f"person:{ANA}"
    assert done.body["timeline"][-1] | {"at": None} == done.body["timeline"][-1] | {
        "at": None,
        "kind": "resolved",
        "message": f"resolved by {ANA} (note: 'on call: bob')",
        "by": f"person:{ANA}",
    }


def test_the_caller_id_when_there_is_no_user_arn(stack: Harness, incident_id: str) -> None:
    done = call(stack, "POST", f"/api/incidents/{incident_id}/resolve", identity={"caller": "AROAEXAMPLE:ci"})
    assert done.body["resolved_by"] == "person:AROAEXAMPLE:ci"
    assert done.body["timeline"][-1]["message"] == "resolved by AROAEXAMPLE:ci"


def test_without_an_identity_the_operator_acts(stack: Harness, incident_id: str) -> None:
    """The local stack authenticates nobody: what the body says is a note, never who acted."""
    acked = call(stack, "POST", f"/api/incidents/{incident_id}/acknowledge")
    assert acked.body["acknowledged_by"] == operations.UNAUTHENTICATED == "operator"
    assert acked.body["timeline"][-1]["message"] == "acknowledged by operator"
    done = call(stack, "POST", f"/api/incidents/{incident_id}/resolve", {"by": "alice"})
    assert done.body["resolved_by"] == "person:operator"
    assert done.body["timeline"][-1]["message"] == "resolved by operator (note: 'alice')"


def test_acting_on_a_resolved_incident_is_a_409(stack: Harness, incident_id: str) -> None:
    assert call(stack, "POST", f"/api/incidents/{incident_id}/resolve").status == 200
    again = call(stack, "POST", f"/api/incidents/{incident_id}/resolve")
    assert (again.status, again.body) == (409, {"error": "the incident is already resolved", "status": 409})


# --- webhook URLs ---------------------------------------------------------------------------------
def test_webhook_url_on_aws_is_the_stage_url(
    stack: Harness, service_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PUBLIC_BASE_URL", raising=False)
    runtime.settings.cache_clear()
    host = "abc123.execute-api.us-east-1.amazonaws.com"
    made = call(
        stack,
        "POST",
        f"/api/services/{service_id}/sources",
        {"source": "kapacitor"},
        stage="prod",
        headers={"Host": host, "X-Forwarded-Proto": "https"},
    )
    assert made.status == 201, made.body
    assert made.body["webhook_url"] == f"https://{host}/prod/hooks/kapacitor/{made.body['token']}"


def test_webhook_url_from_public_base_url(
    stack: Harness, service_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://alerts.example.com/")
    runtime.settings.cache_clear()
    try:
        made = call(stack, "POST", f"/api/services/{service_id}/sources", {"source": "stathat"}, stage="prod")
    finally:
        monkeypatch.delenv("PUBLIC_BASE_URL")
        runtime.settings.cache_clear()
    assert made.body["webhook_url"] == f"https://alerts.example.com/hooks/stathat/{made.body['token']}"


# --- requests ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("method", "path", "body", "query", "named"),
    [
        ("POST", "/api/services", {"name": ""}, None, "body.name"),
        ("POST", "/api/services", {"name": "x", "colour": "red"}, None, "body.colour"),
        ("GET", "/api/incidents", None, {"status": "weird"}, "query.status"),
        ("GET", "/api/incidents", None, {"limit": "0"}, "query.limit"),
        ("GET", "/api/deliveries", None, {"only": "lost"}, "query.only"),
        ("GET", "/api/deliveries", None, {"limit": "many"}, "query.limit"),
    ],
)
def test_a_bad_request_is_a_400_naming_the_field(
    stack: Harness, method: str, path: str, body: Any, query: dict[str, str] | None, named: str
) -> None:
    answer = call(stack, method, path, body, query=query)
    assert answer.status == 400
    assert set(answer.body) == {"error", "status"} and answer.body["status"] == 400
    assert answer.body["error"].startswith("invalid request: ") and named in answer.body["error"]


def test_a_body_that_is_not_json_is_a_400(stack: Harness) -> None:
    event = proxy_event("POST", "/api/services", resource="/api/services", body=b"{not json")
    answer = stack.request(event)
    assert answer.status == 400 and answer.body["error"] == "invalid request: body: JSON decode error"


def test_severities_are_checked_and_settings_merged(stack: Harness, service_id: str) -> None:
    bad = call(
        stack,
        "POST",
        f"/api/services/{service_id}/sources",
        {"source": "threatstack", "severity_filter": [4]},
    )
    assert bad.status == 400 and "severity_filter" in bad.body["error"] and "1, 2 or 3" in bad.body["error"]
    made = call(
        stack,
        "POST",
        f"/api/services/{service_id}/sources",
        {"source": "threatstack", "severity_filter": [1]},
    )
    changed = call(stack, "PATCH", f"/api/sources/{made.body['id']}", {"recovery_policy": "monitor"})
    assert (changed.body["recovery_policy"], changed.body["severity_filter"]) == ("monitor", [1])
    cleared = call(stack, "PATCH", f"/api/sources/{made.body['id']}", {"clear_severity_filter": True})
    assert (cleared.body["recovery_policy"], cleared.body["severity_filter"]) == ("monitor", None)


def test_the_status_filter_names_every_status() -> None:
    assert set(get_args(operations.StatusFilter)) == {"open", "all"} | {s.value for s in Status}


@pytest.mark.parametrize("module", ["operations.py", "channels_ops.py"])
def test_operations_take_their_stores_and_never_build_them(module: str) -> None:
    tree = ast.parse((ROOT / "layers" / "core" / "alertbridge" / module).read_text())
    imported = {
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module == "alertbridge"
        for alias in node.names
    } | {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert "runtime" not in imported and "alertbridge.runtime" not in imported


# --- the conflict-retry loop ----------------------------------------------------------------------
def test_retry_reads_and_decides_again_after_a_conflict() -> None:
    attempts: list[int] = []
    pauses: list[float] = []

    def attempt() -> str:
        attempts.append(1)
        if len(attempts) < 3:
            raise Conflict("someone wrote first")
        return "written"

    assert retry.until_written(attempt, tries=5, sleep=pauses.append) == "written"
    assert len(attempts) == 3 and len(pauses) == 2 and all(0 <= p <= 0.5 for p in pauses)


def test_retry_gives_up_after_n_conflicts() -> None:
    def attempt() -> None:
        raise Conflict("again")

    with pytest.raises(Conflict, match="gave up after 4 conflicting writes"):
        retry.until_written(attempt, tries=4, sleep=lambda _: None)


def test_a_manual_resolve_decides_again_after_losing_a_race(stack: Harness, incident_id: str) -> None:
    store = runtime.incident_store()

    class Racing:
        """The incident store, with someone acknowledging between our read and our first write."""

        raced = False

        def get(self, incident_id: str) -> Any:
            return store.get(incident_id)

        def save(self, decision: Any) -> Any:
            if not self.raced:
                self.raced = True
                operations.act(store, incident_id, "acknowledge", principal=ANA)
            return store.save(decision)

    done = operations.act(
        cast(IncidentStore, Racing()), incident_id, "resolve", principal="arn:aws:iam::1:user/bo"
    )
    assert done.status is Status.RESOLVED
    assert [e.kind for e in done.timeline][-2:] == ["acknowledged", "resolved"]


def test_a_manual_action_that_keeps_losing_is_a_409(stack: Harness, incident_id: str) -> None:
    store = runtime.incident_store()

    class AlwaysBeaten:
        def get(self, incident_id: str) -> Any:
            return store.get(incident_id)

        def save(self, decision: Any) -> Any:
            raise Conflict("someone wrote first")

    with pytest.raises(operations.Refused, match="the incident kept changing; try again"):
        operations.act(cast(IncidentStore, AlwaysBeaten()), incident_id, "resolve", principal=None)
