"""alertbridge.rules, pure: checking rules (what is wrong, and where), each kind's effect, the order
they apply in, and the property that rules never lose an alert."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from alertbridge import rules
from alertbridge.models.alert import CanonicalAlert
from alertbridge.models.delivery import OUTCOMES, AlertOutcome
from alertbridge.models.parts import Action, AppliedRule, Severity, explain
from alertbridge.models.rule import Rule, RuleSet
from alertbridge.normalize import Normalized
from hypothesis import given
from hypothesis import strategies as st

from tests.flow.test_contract import make_alert
from tests.strategies import seeded

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def rule(n: int = 1, **fields: Any) -> Rule:
    base: dict[str, Any] = {
        "id": f"r_{n}",
        "name": f"rule {n}",
        "kind": "suppress",
        "when": "`true`",
        "created_at": NOW,
    }
    made = Rule(**{**base, **fields})
    rules.check(made)
    return made


def test_each_kind_does_what_it_says() -> None:
    alert = make_alert(tags={"host": "db-1"})
    tagged = rules.evaluate([rule(kind="tag", tags={"team": "db", "host": "db-one"})], alert, None).alert
    assert tagged.tags == {"host": "db-one", "team": "db"}
    rated = rules.evaluate([rule(kind="severity", severity="low")], alert, None).alert
    assert rated.severity is Severity.LOW
    routed = rules.evaluate([rule(kind="route", route_to="svc_db")], alert, None).alert
    assert (routed.service_id, routed.event_id) == ("svc_db", alert.event_id)
    keyed = rules.evaluate(
        [rule(kind="dedup", dedup_key="join('/', [source, tags.host])", window_s=600)], alert, None
    ).alert
    assert (keyed.dedup_key, keyed.dedup_window_s) == ("kapacitor/db-1", 600)
    verdict = rules.evaluate([rule(kind="suppress")], alert, None)
    assert verdict.suppressed_by is not None and verdict.suppressed_by.id == "r_1"
    assert [v.rules for v in (tagged, rated, routed, keyed)] == [
        [AppliedRule(id="r_1", name="rule 1", kind=k)] for k in ("tag", "severity", "route", "dedup")
    ]


def test_rules_apply_in_order_each_seeing_what_the_earlier_did() -> None:
    chain = [
        rule(1, kind="tag", when="severity == 'critical'", tags={"team": "db"}),
        rule(2, kind="route", when="tags.team == 'db'", route_to="svc_db"),
        rule(3, kind="route", when="`true`", route_to="svc_other"),  # routing is decided once
        rule(4, kind="severity", when="service_id == 'svc_db'", severity="high"),
        rule(5, kind="suppress", when="severity == 'critical'"),  # no longer critical: passes
    ]
    verdict = rules.evaluate(chain, make_alert(), None)
    assert verdict.suppressed_by is None
    assert (verdict.alert.service_id, verdict.alert.severity) == ("svc_db", Severity.HIGH)
    assert [r.id for r in verdict.alert.rules] == ["r_1", "r_2", "r_4"]
    assert explain(verdict.alert.rules) == (
        "tagged by rule r_1 'rule 1'; routed by rule r_2 'rule 2'; re-rated by rule r_4 'rule 4'"
    )


def test_a_suppress_stops_evaluation_and_recoveries_pass_it() -> None:
    chain = [rule(1, kind="suppress"), rule(2, kind="tag", tags={"x": "y"})]
    assert rules.evaluate(chain, make_alert(), None).applied == [chain[0].applied]
    recovery = rules.evaluate(chain, make_alert(action=Action.RESOLVE), None)
    assert recovery.suppressed_by is None
    assert recovery.alert.tags == {"x": "y"}


def test_dedup_applies_to_recoveries_so_both_land_on_the_same_key() -> None:
    chain = [rule(kind="dedup", dedup_key="join(':', ['cpu', tags.host])")]
    trigger, recovery = (
        rules.evaluate(chain, make_alert(action=a, tags={"host": "h1"}), None).alert
        for a in (Action.TRIGGER, Action.RESOLVE)
    )
    assert trigger.dedup_key == recovery.dedup_key == "cpu:h1"


def test_a_test_alert_keeps_its_own_key_space() -> None:
    chain = [rule(kind="dedup", dedup_key="title")]
    assert rules.evaluate(chain, make_alert(test=True), None).alert.dedup_key == "test:cpu:nil is CRITICAL"


def test_jmespath_truthiness_and_what_does_not_match() -> None:
    alert = make_alert(tags={"n": "0"})
    matches = {
        "`0`": True,
        "tags": True,
        "`[]`": False,
        "`{}`": False,
        "''": False,
        "nothing": False,
        "`false`": False,
        "length(title)": True,
        "abs(title)": False,  # a runtime type error: the rule does not apply, the alert goes on
        "vendor.server_or_region == 'ip-1'": True,
        "vendor.missing.deeper": False,
    }
    for when, expected in matches.items():
        verdict = rules.evaluate(
            [rule(kind="tag", when=when, tags={"m": "1"})], alert, {"server_or_region": "ip-1"}
        )
        assert bool(verdict.applied) is expected, when


def test_a_dedup_template_that_gives_no_text_leaves_the_key() -> None:
    for template in ("missing", "`3`", "''", "tags"):
        verdict = rules.evaluate([rule(kind="dedup", dedup_key=template)], make_alert(), None)
        assert (verdict.applied, verdict.alert.dedup_key) == ([], "cpu:nil"), template


def test_a_rule_narrowed_to_a_source_skips_the_others() -> None:
    chain = [rule(kind="suppress", source_id="src_2")]
    assert rules.evaluate(chain, make_alert(source_id="src_1"), None).suppressed_by is None
    assert rules.evaluate(chain, make_alert(source_id="src_2"), None).suppressed_by is not None


def test_tags_never_exceed_the_canonical_limit() -> None:
    alert = make_alert(tags={f"k{n}": "v" for n in range(50)})
    tagged = rules.evaluate([rule(kind="tag", tags={"extra": "x", "k1": "new"})], alert, None).alert
    assert len(tagged.tags) == 50 and tagged.tags["k1"] == "new"
    CanonicalAlert.model_validate(tagged.model_dump())


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"when": "a &&"}, "when: incomplete expression at position 4\n  a &&\n      ^"),
        ({"when": "title == 'x"}, "when: Unclosed ' delimiter at position 9\n  title == 'x\n           ^"),
        ({"when": "[?"}, "when: incomplete expression at position 2"),
        ({"when": "nope(title)"}, "when: unknown function nope() at position 0"),
        ({"when": "join(',')"}, "when: join() takes 2 argument(s), got 1"),
        ({"when": "merge()"}, "when: merge() takes at least 1 argument(s), got 0"),
        ({"kind": "dedup", "dedup_key": "title ||"}, "dedup_key: incomplete expression at position 8"),
        ({"kind": "route"}, "route_to: a route rule needs it"),
        ({"kind": "severity"}, "severity: a severity rule needs it"),
        ({"kind": "tag", "tags": {"a": "b"}, "window_s": 5}, "window_s: not a field of a tag rule"),
    ],
)
def test_invalid_rules_name_what_and_where(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(rules.RuleInvalid) as caught:
        rules.check(
            Rule(
                **{
                    "id": "r_1",
                    "name": "n",
                    "kind": "suppress",
                    "when": "`true`",
                    "created_at": NOW,
                    **fields,
                }
            )
        )
    assert message in str(caught.value)


def test_expressions_compile_once() -> None:
    rules.compiled.cache_clear()
    chain = [rule(kind="tag", when="title != 'x'", tags={"a": "b"})]
    for _ in range(3):
        rules.evaluate(chain, make_alert(), None)
    info = rules.compiled.cache_info()
    assert (info.misses, info.hits) == (1, 3)  # check() compiled it; three evaluations reused it


# --- the property: rules never lose an alert -------------------------------------------------------
CONDITIONS = st.sampled_from(
    [
        "`true`",
        "`false`",
        "severity == 'critical'",
        "contains(title, '1')",
        "tags.env == 'staging'",
        "vendor.n > `2`",
        "abs(title)",
        "action == 'resolve'",
    ]
)


@st.composite
def rule_sets(draw: st.DrawFn) -> list[Rule]:
    made = []
    for n in range(1, draw(st.integers(0, 6)) + 1):
        kind = draw(st.sampled_from(["tag", "severity", "route", "suppress", "dedup"]))
        extra: dict[str, Any] = {
            "tag": {"tags": {"env": draw(st.sampled_from(["prod", "staging"]))}},
            "severity": {"severity": draw(st.sampled_from(list(Severity)))},
            "route": {"route_to": draw(st.sampled_from(["svc_a", "svc_b"]))},
            "suppress": {},
            "dedup": {"dedup_key": draw(st.sampled_from(["title", "join(':', [source, title])", "missing"]))},
        }[kind]
        made.append(rule(n, kind=kind, when=draw(CONDITIONS), **extra))
    return made


@st.composite
def deliveries(draw: st.DrawFn) -> tuple[Normalized, list[Any]]:
    result, vendors = Normalized(), []
    for index in range(draw(st.integers(1, 8))):
        vendors.append({"n": index})
        fate = draw(st.sampled_from(["accepted", "accepted", "ignored", "rejected"]))
        if fate != "accepted":
            result.outcomes.append({"index": index, "outcome": fate, "reason": f"{fate} by the mapping"})
            continue
        action = draw(st.sampled_from(list(Action)))
        alert = make_alert(
            event_id=f"{index:032x}",
            action=action,
            title=f"alert {index}",
            severity=draw(st.sampled_from(list(Severity))),
            tags=draw(st.sampled_from([{}, {"env": "staging"}])),
            raw_ref=f"delivery/dlv_1#{index}",
        )
        result.alerts.append(alert)
        result.outcomes.append(
            {
                "index": index,
                "outcome": "accepted",
                "event_id": alert.event_id,
                "action": action.value,
                "dedup_key": alert.dedup_key,
            }
        )
    return result, vendors


@seeded(max_examples=300)
@given(rule_sets(), deliveries())
def test_rules_never_lose_an_alert(chain: list[Rule], delivery: tuple[Normalized, list[Any]]) -> None:
    result, vendors = delivery
    accepted_before = {o["event_id"]: o["action"] for o in result.outcomes if o["outcome"] == "accepted"}
    count = len(result.outcomes)
    rules.apply(result, RuleSet(service_id="svc_1", rules=tuple(chain)), lambda: vendors)
    assert len(result.outcomes) == count  # one outcome per vendor alert, still
    for outcome in result.outcomes:
        AlertOutcome.model_validate(outcome)  # the delivery record can keep it
        assert outcome["outcome"] in OUTCOMES
        assert outcome["outcome"] == "accepted" or outcome["reason"]
    published = [a.event_id for a in result.alerts]
    kept = [o["event_id"] for o in result.outcomes if o["outcome"] == "accepted"]
    assert published == kept and len(set(published)) == len(published)  # each accepted one published once
    suppressed = [o["event_id"] for o in result.outcomes if o["outcome"] == "suppressed"]
    assert set(published) | set(suppressed) == set(accepted_before)
    assert not set(published) & set(suppressed)
    assert all(accepted_before[e] != "resolve" for e in suppressed)  # recoveries always pass
    for alert in result.alerts:
        CanonicalAlert.model_validate(alert.model_dump())  # still a valid contract


def test_vendor_objects_are_each_alerts_own_part_of_the_body() -> None:
    from alertbridge.vendors import kapacitor, stathat, threatstack
    from alertbridge.vendors.base import Delivery

    def objects(mapping: Any, body: bytes, content_type: str = "application/json") -> list[Any]:
        delivery = Delivery(body=body, headers={"content-type": content_type}, received_at=NOW)
        return rules.vendor_objects_of(mapping, delivery)

    assert objects(threatstack, b'{"alerts": [{"id": "a"}, 3]}') == [{"id": "a"}, 3]
    assert objects(threatstack, b'{"id": "bare", "severity": "1"}') == [{"id": "bare", "severity": "1"}]
    assert objects(threatstack, b"not json") == []
    assert objects(kapacitor, b'{"id": "cpu", "level": "OK"}') == [{"id": "cpu", "level": "OK"}]
    form = "application/x-www-form-urlencoded"
    assert objects(stathat, b"stat_name=errors&value=3", form) == [{"stat_name": "errors", "value": "3"}]
    assert objects(stathat, b"CPU is high on web-1", "text/plain") == [{}]
    assert objects(kapacitor, b"{" + b" " * rules.MAX_VENDOR_BYTES + b"}") == []  # too large: vendor is null
