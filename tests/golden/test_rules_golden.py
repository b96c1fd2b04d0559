"""Golden answers per rule kind: the Threat Stack sample batch (three alerts: two Host alerts on
ip-10-0-1-23 and ip-10-0-1-57, one CloudTrail alert in us-east-1) through the real webhook path
with one rule, and the per-alert outcomes it must answer, exactly."""

from __future__ import annotations

from typing import Any

import pytest
from alertbridge import runtime
from alertbridge_tools.harness import Harness

from tests.conftest import sample

KEYS = ["665a1f0e2c3b4d0011aa0001", "665a1f0e2c3b4d0011aa0002", "665a1f0e2c3b4d0011aa0003"]


def _accepted(index: int, key: str | None = None, **more: Any) -> dict[str, Any]:
    return {
        "index": index,
        "outcome": "accepted",
        "action": "trigger",
        "dedup_key": key or KEYS[index],
        **more,
    }


def _by(kind: str, name: str) -> list[dict[str, str]]:
    return [{"id": "r_1", "name": name, "kind": kind}]


CASES: dict[str, tuple[dict[str, Any], list[dict[str, Any]]]] = {
    "tag": (
        {"name": "hosts", "kind": "tag", "when": "vendor.source == 'Host'", "tags": {"team": "hosts"}},
        [_accepted(0, rules=_by("tag", "hosts")), _accepted(1, rules=_by("tag", "hosts")), _accepted(2)],
    ),
    "severity": (
        {
            "name": "cloud is critical",
            "kind": "severity",
            "when": "tags.source == 'CloudTrail'",
            "severity": "critical",
        },
        [_accepted(0), _accepted(1), _accepted(2, rules=_by("severity", "cloud is critical"))],
    ),
    "route": (
        {
            "name": "db team",
            "kind": "route",
            "when": "vendor.server_or_region == 'ip-10-0-1-57'",
            "route_to": "TARGET",
        },
        [_accepted(0), _accepted(1, rules=_by("route", "db team"), service_id="TARGET"), _accepted(2)],
    ),
    "dedup": (
        {
            "name": "by server",
            "kind": "dedup",
            "when": "vendor.source == 'Host'",
            "dedup_key": "join(':', ['host', vendor.server_or_region])",
        },
        [
            _accepted(0, "host:ip-10-0-1-23", rules=_by("dedup", "by server")),
            _accepted(1, "host:ip-10-0-1-57", rules=_by("dedup", "by server")),
            _accepted(2),
        ],
    ),
    "suppress": (
        {"name": "root logins", "kind": "suppress", "when": "contains(title, 'Root Account')"},
        [
            _accepted(0),
            _accepted(1),
            {
                "index": 2,
                "outcome": "suppressed",
                "action": "trigger",
                "dedup_key": KEYS[2],
                "reason": "suppressed by rule r_1 'root logins'",
                "rules": _by("suppress", "root logins"),
            },
        ],
    ),
}


@pytest.mark.parametrize("kind", list(CASES))
def test_golden_answer_per_rule_kind(stack: Harness, service_id: str, kind: str) -> None:
    rule, expected = CASES[kind]
    target = runtime.source_store().create_service("target").id
    rule = {k: (target if v == "TARGET" else v) for k, v in rule.items()}
    assert stack.call("POST", f"/api/services/{service_id}/rules", rule).status == 201
    _, token = stack.add_source(service_id, "threatstack")
    answer = stack.post("threatstack", token, sample("threatstack-batch.json"))
    assert answer.status == 202
    got = [{k: v for k, v in o.items() if k != "event_id"} for o in answer.body["alerts"]]
    want = [{k: (target if v == "TARGET" else v) for k, v in o.items()} for o in expected]
    assert got == want
    assert answer.body["outcome"] == "accepted"
