"""Alert rules end to end on moto (PRODUCT.md §9): managed through the API, applied in ingest
before the bus, named in the webhook answer, the delivery record and the incident timeline."""

from __future__ import annotations

from typing import Any

import pytest
from alertbridge import runtime
from alertbridge.models.incident import Status
from alertbridge.models.parts import Severity
from alertbridge_tools.harness import Harness

from tests.conftest import sample, sample_json
from tests.flow.test_sources_flow import (  # stack, service_id: the shared module fixtures
    add_hook,
    fresh_service,
    incidents_of,
    only_incident,
    post_json,
    queued,
    stack,
)

__all__ = ["stack"]


@pytest.fixture
def service_id(stack: Harness) -> str:
    return fresh_service(stack)


def add_rule(stack: Harness, service_id: str, **rule: Any) -> dict[str, Any]:
    resp = stack.call("POST", f"/api/services/{service_id}/rules", rule)
    assert resp.status == 201, resp.body
    made: dict[str, Any] = resp.body["rule"]
    return made


def threatstack_batch() -> dict[str, Any]:
    batch: dict[str, Any] = sample_json("threatstack-batch.json")
    return batch


def test_route_one_threatstack_batch_to_two_services_by_server(stack: Harness, service_id: str) -> None:
    hook = add_hook(stack, service_id, "threatstack")
    web, db = (runtime.source_store().create_service(n).id for n in ("web team", "db team"))
    to_web = add_rule(
        stack,
        service_id,
        name="web hosts",
        kind="route",
        when="vendor.server_or_region == 'ip-10-0-1-23'",
        route_to=web,
    )
    to_db = add_rule(
        stack,
        service_id,
        name="db team",
        kind="route",
        when="starts_with(tags.server_or_region, 'ip-')",
        route_to=db,
    )
    resp = post_json(stack, "threatstack", hook.token, threatstack_batch())
    assert resp.status == 202, resp.body
    first, second, third = resp.body["alerts"]
    # first route wins: alert 0 matches both, goes to web; alert 1 to db; alert 2 (a region) stays
    assert (first["service_id"], first["rules"]) == (
        web,
        [{"id": to_web["id"], "name": "web hosts", "kind": "route"}],
    )
    assert (second["service_id"], [r["id"] for r in second["rules"]]) == (db, [to_db["id"]])
    assert "service_id" not in third and "rules" not in third
    retry = post_json(stack, "threatstack", hook.token, threatstack_batch())  # the vendor retries
    assert [o["event_id"] for o in retry.body["alerts"]] == [o["event_id"] for o in resp.body["alerts"]]
    stack.pump()
    [web_incident], [db_incident] = incidents_of(web), incidents_of(db)
    assert web_incident.alert_count == db_incident.alert_count == 1  # a retry never counts twice
    assert web_incident.title.startswith("Suspicious Process")
    assert f"routed by rule {to_web['id']} 'web hosts'" in web_incident.timeline[0].message
    assert f"routed by rule {to_db['id']} 'db team'" in db_incident.timeline[0].message
    assert only_incident(service_id).tags["server_or_region"] == "us-east-1"
    record, _ = runtime.delivery_store().get(resp.body["delivery_id"])
    assert [a.rules[0].name for a in record.alerts[:2]] == ["web hosts", "db team"]


def test_suppress_keeps_the_alert_as_suppressed_and_opens_nothing(stack: Harness, service_id: str) -> None:
    hook = add_hook(stack, service_id, "kapacitor")
    rule = add_rule(
        stack, service_id, name="staging noise", kind="suppress", when="contains(title, 'staging')"
    )
    alert = {**sample_json("kapacitor-critical.json"), "message": "staging cpu high", "id": "cpu:staging"}
    resp = post_json(stack, "kapacitor", hook.token, alert)
    assert resp.status == 202
    assert resp.body["outcome"] == "suppressed"
    [outcome] = resp.body["alerts"]
    assert outcome["outcome"] == "suppressed"
    assert outcome["reason"] == f"suppressed by rule {rule['id']} 'staging noise'"
    assert outcome["rules"] == [{"id": rule["id"], "name": "staging noise", "kind": "suppress"}]
    assert queued(stack) == 0
    stack.pump()
    assert incidents_of(service_id) == []
    record, _ = runtime.delivery_store().get(resp.body["delivery_id"])
    assert (record.outcome, record.published) == ("suppressed", True)
    listed = stack.call("GET", "/api/deliveries", query={"service": service_id, "only": "suppressed"})
    assert [d["id"] for d in listed.body["deliveries"]] == [resp.body["delivery_id"]]


def test_recoveries_pass_suppression(stack: Harness, service_id: str) -> None:
    """An incident opened before a suppress rule still resolves by its source."""
    hook = add_hook(stack, service_id, "kapacitor")
    assert post_json(stack, "kapacitor", hook.token, sample_json("kapacitor-critical.json")).status == 202
    stack.pump()
    add_rule(stack, service_id, name="everything", kind="suppress", when="`true`")
    resp = post_json(stack, "kapacitor", hook.token, sample_json("kapacitor-ok.json"))
    assert resp.body["alerts"][0]["outcome"] == "accepted"
    stack.pump()
    assert only_incident(service_id).status is Status.RESOLVED
    again = post_json(
        stack,
        "kapacitor",
        hook.token,
        {**sample_json("kapacitor-critical.json"), "time": "2030-01-01T00:00:00Z"},
    )
    assert again.body["alerts"][0]["outcome"] == "suppressed"


def test_tag_severity_and_dedup_rules_shape_the_incident(stack: Harness, service_id: str) -> None:
    hook = add_hook(stack, service_id, "threatstack")
    add_rule(stack, service_id, name="env", kind="tag", when="source == 'threatstack'", tags={"env": "prod"})
    add_rule(
        stack,
        service_id,
        name="host is critical",
        kind="severity",
        when="tags.source == 'Host'",
        severity="critical",
    )
    keyed = add_rule(
        stack,
        service_id,
        name="title+server",
        kind="dedup",
        when="`true`",
        dedup_key="join(':', [title, vendor.server_or_region])",
        window_s=3600,
    )
    batch = threatstack_batch()
    repeat = {**batch["alerts"][0], "id": "665a1f0e2c3b4d0011aa0099", "created_at": 1715680809000}
    resp = post_json(stack, "threatstack", hook.token, {"alerts": [batch["alerts"][0], repeat]})
    keys = {o["dedup_key"] for o in resp.body["alerts"]}
    assert keys == {"Suspicious Process Started: nc -lvp 4444 by root:ip-10-0-1-23"}
    assert [r["kind"] for r in resp.body["alerts"][0]["rules"]] == ["tag", "severity", "dedup"]
    stack.pump()
    incident = only_incident(service_id)
    assert (incident.alert_count, incident.severity, incident.tags["env"]) == (2, Severity.CRITICAL, "prod")
    assert f"re-keyed by rule {keyed['id']} 'title+server'" in incident.timeline[-1].message


def test_invalid_rules_are_400_naming_what_and_where(stack: Harness, service_id: str) -> None:
    cases = {
        "when: unexpected ']' at position 8\n  severity]]\n          ^": {"when": "severity]]"},
        "when: Unclosed ` delimiter at position 6": {"when": "a[?b==`1]"},
        "when: unknown function exists() at position 0": {"when": "exists(title)"},
        "when: contains() takes 2 argument(s), got 1": {"when": "contains(title)"},
        "tags: a tag rule needs it": {"kind": "tag"},
        "route_to: the rule's own service": {"kind": "route", "route_to": service_id},
        "route_to: no service svc_nope": {"kind": "route", "route_to": "svc_nope"},
        "severity: Input should be": {"kind": "severity", "severity": "urgent"},
        "dedup_key: incomplete expression at position 5": {"kind": "dedup", "dedup_key": "join("},
        "severity: not a field of a suppress rule": {"severity": "low"},
        "when: String should have at most 1024 characters": {"when": "a" * 1025},
        "source_id: src_x is not a source of service": {"source_id": "src_x"},
    }
    for needle, change in cases.items():
        rule = {"name": "bad", "kind": "suppress", "when": "`true`", **change}
        resp = stack.call("POST", f"/api/services/{service_id}/rules", rule)
        assert resp.status == 400, (change, resp.body)
        assert needle in resp.body["error"], (needle, resp.body["error"])
    assert stack.call("GET", f"/api/services/{service_id}/rules").body["rules"] == []


def test_list_move_remove_and_version_conflicts(stack: Harness, service_id: str) -> None:
    base = f"/api/services/{service_id}/rules"
    for name in ("a", "b", "c"):
        add_rule(stack, service_id, name=name, kind="suppress", when=f"title == '{name}'")
    listed = stack.call("GET", base).body
    assert (listed["version"], [r["id"] for r in listed["rules"]]) == (3, ["r_1", "r_2", "r_3"])
    moved = stack.call("POST", f"{base}/r_3/move", {"position": 1, "expected_version": 3})
    assert [r["id"] for r in moved.body["rules"]] == ["r_3", "r_1", "r_2"]
    stale = stack.call("POST", f"{base}/r_1/move", {"position": 3, "expected_version": 3})
    assert stale.status == 409
    assert "at version 4, not 3" in stale.body["error"]
    stale_add = stack.call(
        "POST", base, {"name": "d", "kind": "suppress", "when": "`true`", "expected_version": 3}
    )
    assert stale_add.status == 409
    gone = stack.call("DELETE", f"{base}/r_1", query={"expected_version": "4"})
    assert [r["id"] for r in gone.body["rules"]] == ["r_3", "r_2"]
    assert stack.call("GET", f"{base}/r_1").status == 404
    assert stack.call("GET", f"{base}/r_2").body["name"] == "b"
    # ids are never reused: the next rule is r_4
    assert add_rule(stack, service_id, name="e", kind="suppress", when="`false`", position=1)["id"] == "r_4"
    assert stack.call("POST", f"{base}/r_4/move", {"position": 9}).status == 400
    assert stack.call("GET", "/api/services/svc_nope/rules").status == 404


def test_dry_run_reports_matches_over_recent_deliveries_and_changes_nothing(
    stack: Harness, service_id: str
) -> None:
    hook = add_hook(stack, service_id, "threatstack")
    other = runtime.source_store().create_service("hosts").id
    assert post_json(stack, "threatstack", hook.token, threatstack_batch()).status == 202
    stack.pump()
    before = len(incidents_of(service_id))
    rule = {"name": "hosts", "kind": "route", "when": "vendor.source == 'Host'", "route_to": other}
    resp = stack.call("POST", f"/api/services/{service_id}/rules/test", {"rule": rule, "last": 10})
    assert resp.status == 200, resp.body
    assert (resp.body["deliveries"], resp.body["alerts"], resp.body["matched"]) == (1, 3, 2)
    assert {m["would"] for m in resp.body["matches"]} == {f"route to {other}"}
    assert stack.call("GET", f"/api/services/{service_id}/rules").body["version"] == 0
    assert len(incidents_of(service_id)) == before and incidents_of(other) == []
    bad = stack.call("POST", f"/api/services/{service_id}/rules/test", {"rule": {**rule, "when": "=="}})
    assert bad.status == 400 and "position 0" in bad.body["error"]


def test_test_alerts_and_replays_go_through_the_rules(stack: Harness, service_id: str) -> None:
    hook = add_hook(stack, service_id, "threatstack")
    body = sample("threatstack-batch.json")
    first = stack.post("threatstack", hook.token, body)
    add_rule(stack, service_id, name="all", kind="suppress", when="`true`")
    replayed = stack.call("POST", f"/api/deliveries/{first.body['delivery_id']}/replay")
    assert [o["outcome"] for o in replayed.body["alerts"]] == ["suppressed"] * 3
    test_alert = stack.call("POST", f"/api/sources/{hook.source_id}/test-alert")
    assert test_alert.body["outcome"] == "suppressed"


def test_a_rule_change_made_elsewhere_takes_effect_within_a_minute(stack: Harness, service_id: str) -> None:
    """Another container's change (here: another store on the same table) reaches a warm ingest
    function once its cached copy is 60 s old, by the controlled clock."""
    from alertbridge import operations, timestamps
    from alertbridge.store.rules import CACHE_SECONDS, RuleStore

    hook = add_hook(stack, service_id, "kapacitor")
    elsewhere = RuleStore(runtime.dynamodb(), stack.stack.physical["Table"])

    def outcome(n: int) -> str:
        alert = {**sample_json("kapacitor-critical.json"), "id": f"cpu:{n}"}
        result: str = post_json(stack, "kapacitor", hook.token, alert).body["alerts"][0]["outcome"]
        return result

    try:
        assert outcome(1) == "accepted"  # the service's (empty) rules are now cached
        operations.add_rule(
            runtime.source_store(),
            elsewhere,
            service_id,
            {"name": "all", "kind": "suppress", "when": "`true`"},
        )
        assert outcome(2) == "accepted"
        stack.advance(CACHE_SECONDS - 1)
        assert outcome(3) == "accepted"
        stack.advance(2)
        assert outcome(4) == "suppressed"
        operations.remove_rule(runtime.source_store(), elsewhere, service_id, "r_1")
        assert outcome(5) == "suppressed"
        stack.advance(CACHE_SECONDS + 1)
        assert outcome(6) == "accepted"
    finally:
        timestamps.reset_clock()


def test_rules_that_cannot_be_read_keep_the_delivery_unpublished_for_replay(
    stack: Harness, service_id: str
) -> None:
    """Never publish an alert its service's rules were not applied to: 503 (the vendor retries), the
    delivery kept unpublished; a replay applies the rules."""
    from tests.faults import aws_error

    hook = add_hook(stack, service_id, "kapacitor")
    rule = add_rule(stack, service_id, name="all", kind="suppress", when="`true`")
    is_rules = lambda request: request.get("Key", {}).get("PK", {}).get("S", "").startswith("RULES#")  # noqa: E731
    with aws_error(
        runtime.dynamodb(), "dynamodb.GetItem", "ProvisionedThroughputExceededException", is_rules
    ) as failed:
        resp = post_json(stack, "kapacitor", hook.token, sample_json("kapacitor-critical.json"))
    assert failed and resp.status == 503, resp.body
    assert resp.body["error"] == (
        "temporarily unable to read the alert rules or maintenance windows; retry later"
    )
    assert queued(stack) == 0
    record, _ = runtime.delivery_store().get(resp.body["delivery_id"])
    assert (record.outcome, record.published, record.status_code) == ("accepted", False, 503)
    unpublished = stack.call("GET", "/api/deliveries", query={"service": service_id, "only": "unpublished"})
    assert [d["id"] for d in unpublished.body["deliveries"]] == [record.id]
    replayed = stack.call("POST", f"/api/deliveries/{record.id}/replay")
    assert replayed.body["alerts"][0]["reason"] == f"suppressed by rule {rule['id']} 'all'"
    assert runtime.delivery_store().get(record.id)[0].published
    stack.pump()
    assert incidents_of(service_id) == []
