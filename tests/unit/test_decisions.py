"""Incident decisions (pure): lifecycle, dedup, ordering, monitoring policy, timeline."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pytest
from alertbridge.decisions import TIMELINE_LIMIT, Decision, decide, manual
from alertbridge.models.alert import CanonicalAlert
from alertbridge.models.incident import Incident, Status, incident_id, parse_incident_id
from alertbridge.models.parts import Action, Severity
from alertbridge.models.records import RecoveryPolicy
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.flow.test_contract import make_alert

T0 = datetime(2024, 5, 14, 10, 0, tzinfo=UTC)
NOW = datetime(2026, 1, 1, tzinfo=UTC)


def sig(
    action: Action,
    minute: int,
    *,
    key: str = "cpu",
    severity: Severity = Severity.CRITICAL,
    n: int | None = None,
) -> CanonicalAlert:
    ident = n if n is not None else minute * 10 + list(Action).index(action)
    return make_alert(
        action=action,
        dedup_key=key,
        severity=severity,
        occurred_at=T0 + timedelta(minutes=minute),
        event_id=hashlib.sha256(f"{key}|{ident}".encode()).hexdigest()[:32],
    )


def run(
    signals: list[CanonicalAlert],
    policy: RecoveryPolicy = "resolve",
    latest: Incident | None = None,
    split: int = 1,
) -> tuple[Incident | None, list[Decision]]:
    """Apply signals in arrival order, in groups of ``split``, as the store would (latest episode wins)."""
    decisions = []
    for start in range(0, len(signals), split):
        decision = decide(latest, signals[start : start + split], policy, NOW)
        decisions.append(decision)
        for seq in sorted(decision.writes):
            inc, expected = decision.writes[seq]
            stored = inc.model_copy(update={"version": (expected or 0) + 1})
            if latest is None or stored.seq >= latest.seq:
                latest = stored
    return latest, decisions


def test_trigger_opens_then_resolve_resolves() -> None:
    inc, decisions = run([sig(Action.TRIGGER, 0), sig(Action.RESOLVE, 3)])
    assert inc is not None
    assert inc.status is Status.RESOLVED and inc.resolved_by == "source"
    assert inc.alert_count == 1 and inc.seq == 1
    assert [d.results[0].result for d in decisions] == ["opened", "resolved"]
    assert [e.kind for e in inc.timeline] == ["opened", "resolved"]


def test_repeat_trigger_appends_and_level_change_escalates() -> None:
    inc, _ = run(
        [
            sig(Action.TRIGGER, 0, severity=Severity.MEDIUM),
            sig(Action.TRIGGER, 1, severity=Severity.CRITICAL),
            sig(Action.TRIGGER, 2, severity=Severity.MEDIUM),
        ]
    )
    assert inc is not None and inc.alert_count == 3
    assert inc.severity is Severity.MEDIUM  # follows the source's current level
    assert [e.kind for e in inc.timeline] == ["opened", "alert", "escalated", "alert", "deescalated"]


def test_older_trigger_does_not_change_the_level() -> None:
    inc, _ = run(
        [sig(Action.TRIGGER, 5, severity=Severity.CRITICAL), sig(Action.TRIGGER, 1, severity=Severity.INFO)]
    )
    assert inc is not None and inc.severity is Severity.CRITICAL and inc.alert_count == 2


def test_same_event_twice_counts_once() -> None:
    first = sig(Action.TRIGGER, 0)
    inc, decisions = run([first, first, first], split=2)
    assert inc is not None and inc.alert_count == 1
    assert [r.result for d in decisions for r in d.results] == ["opened", "duplicate", "duplicate"]


def test_trigger_after_resolve_is_a_recurrence() -> None:
    inc, _ = run([sig(Action.TRIGGER, 0), sig(Action.RESOLVE, 1), sig(Action.TRIGGER, 2)])
    assert inc is not None and inc.seq == 2 and inc.status is Status.TRIGGERED
    assert inc.recurrence_of == incident_id("svc_1", "cpu", 1)


def test_late_trigger_older_than_resolve_never_reopens() -> None:
    inc, decisions = run([sig(Action.TRIGGER, 0), sig(Action.RESOLVE, 5), sig(Action.TRIGGER, 3)])
    assert inc is not None and inc.status is Status.RESOLVED and inc.seq == 1
    assert decisions[-1].results[0].result == "late"
    assert inc.timeline[-1].kind == "late"


def test_late_resolve_older_than_latest_trigger_is_ignored() -> None:
    inc, decisions = run([sig(Action.TRIGGER, 0), sig(Action.TRIGGER, 5), sig(Action.RESOLVE, 3)])
    assert inc is not None and inc.status is Status.TRIGGERED
    assert decisions[-1].results[0].result == "late"


def test_resolve_first_is_recorded_and_blocks_older_triggers() -> None:
    inc, decisions = run([sig(Action.RESOLVE, 5), sig(Action.TRIGGER, 3)])
    assert inc is not None and inc.is_ledger and not inc.is_open  # the key's ledger, not an incident
    assert [d.results[0].result for d in decisions] == ["recorded", "late"]
    assert decisions[0].results[0].incident_id is None
    inc, _ = run([sig(Action.TRIGGER, 7)], latest=inc)
    assert inc is not None and inc.seq == 2 and inc.status is Status.TRIGGERED and inc.recurrence_of is None


def test_reminder_adds_to_open_incident_but_never_opens_one() -> None:
    inc, decisions = run([sig(Action.REMINDER, 0)])
    assert inc is not None and inc.is_ledger and decisions[0].results[0].result == "recorded"
    inc, _ = run([sig(Action.TRIGGER, 1), sig(Action.REMINDER, 2)], latest=inc)
    assert (
        inc is not None
        and inc.seq == 2
        and not inc.is_ledger
        and inc.alert_count == 2
        and inc.timeline[-1].kind == "reminder"
    )


def test_monitor_policy_recovery_moves_to_monitoring_and_a_new_problem_reopens() -> None:
    inc, _ = run([sig(Action.TRIGGER, 0), sig(Action.RESOLVE, 1)], policy="monitor")
    assert inc is not None and inc.status is Status.MONITORING and inc.resolved_at is None
    inc, decisions = run([sig(Action.TRIGGER, 2)], policy="monitor", latest=inc)
    assert inc is not None and inc.status is Status.TRIGGERED and inc.seq == 1
    assert decisions[0].results[0].result == "reopened"
    inc, _ = run([sig(Action.RESOLVE, 3)], policy="monitor", latest=inc)
    assert inc is not None
    confirmed = manual(inc, "resolve", "alice", NOW)
    assert confirmed.status is Status.RESOLVED and confirmed.resolved_by == "person:alice"


def test_manual_acknowledge_and_resolve() -> None:
    inc, _ = run([sig(Action.TRIGGER, 0)])
    assert inc is not None
    acked = manual(inc, "acknowledge", "bob", NOW)
    assert acked.status is Status.ACKNOWLEDGED and acked.acknowledged_by == "bob"
    with pytest.raises(ValueError, match="acknowledge"):
        manual(acked, "acknowledge", "bob", NOW)
    resolved = manual(acked, "resolve", "bob", NOW)
    assert resolved.status is Status.RESOLVED and resolved.timeline[-1].by == "person:bob"
    with pytest.raises(ValueError, match="already resolved"):
        manual(resolved, "resolve", "bob", NOW)
    # A trigger older than the person's resolve stays closed; a newer one opens a recurrence.
    later, _ = run([sig(Action.TRIGGER, 1)], latest=resolved)
    assert later is not None and later.seq == 1
    newer = make_alert(dedup_key="cpu", occurred_at=NOW + timedelta(minutes=1), event_id="f" * 32)
    again, _ = run([newer], latest=resolved)
    assert again is not None and again.seq == 2


def test_timeline_is_bounded_and_keeps_the_opening() -> None:
    signals = [sig(Action.TRIGGER, m) for m in range(TIMELINE_LIMIT + 30)]
    inc, _ = run(signals, split=7)
    assert inc is not None and inc.alert_count == TIMELINE_LIMIT + 30
    assert len(inc.timeline) == TIMELINE_LIMIT and inc.timeline[0].kind == "opened"
    assert inc.timeline_omitted == 30


def test_incident_ids_round_trip() -> None:
    ident = incident_id("svc_1", "cpu", 12)
    assert parse_incident_id(ident) == (ident.rsplit("-", 1)[0], 12)
    for bad in ("", "inc_x-1", "inc_3ff6d4220afc21c7d23a-0", "inc_3ff6d4220afc21c7d23a-x", "../../etc"):
        assert parse_incident_id(bad) is None


# --- order independence -------------------------------------------------------------------------
ACTIONS = st.sampled_from([Action.TRIGGER, Action.TRIGGER, Action.RESOLVE, Action.REMINDER])


@st.composite
def histories(draw: st.DrawFn) -> tuple[list[CanonicalAlert], list[CanonicalAlert], int]:
    """Signals for one key with distinct vendor times, and an arrival order and a batch split."""
    count = draw(st.integers(1, 12))
    minutes = draw(st.lists(st.integers(0, 500), min_size=count, max_size=count, unique=True))
    signals = [sig(draw(ACTIONS), m, n=i) for i, m in enumerate(minutes)]
    arrival = draw(st.permutations(signals))
    return signals, list(arrival), draw(st.integers(1, 4))


def implied_open(signals: list[CanonicalAlert]) -> bool:
    """The state the latest trigger/resolve implies (reminders never change it)."""
    decisive = [s for s in signals if s.action is not Action.REMINDER]
    if not decisive:
        return False
    return max(decisive, key=lambda s: s.occurred_at).action is Action.TRIGGER


@settings(max_examples=400, deadline=None)
@given(histories(), st.sampled_from(["resolve", "monitor"]))
def test_final_state_follows_latest_vendor_time_whatever_the_arrival_order(
    case: tuple[list[CanonicalAlert], list[CanonicalAlert], int], policy: RecoveryPolicy
) -> None:
    signals, arrival, split = case
    inc, _ = run(arrival, policy=policy, split=split)
    is_open = inc is not None and inc.is_open and inc.status is not Status.MONITORING
    assert is_open == implied_open(signals)
    # Never more than one open episode, and every trigger is accounted for exactly once.
    if inc is not None and inc.is_open:
        assert inc.alert_count >= 1
