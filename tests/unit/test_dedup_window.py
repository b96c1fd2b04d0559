"""The dedup window (pure decisions): a trigger past its alert's ``dedup_window_s`` since the open
incident's first trigger resolves it by rule and opens a recurrence; within the window, or older,
it appends; whatever the arrival order, the key ends as its latest signal implies, with at most
one open incident."""

from __future__ import annotations

from alertbridge.decisions import WINDOW_RULE, decide
from alertbridge.models.alert import CanonicalAlert
from alertbridge.models.incident import Incident, Status, incident_id
from alertbridge.models.parts import Action
from alertbridge.models.records import RecoveryPolicy
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.unit.test_decisions import NOW, implied_open, run, sig

HOUR = 3600


def windowed(
    action: Action, minute: int, *, window: int | None = HOUR, n: int | None = None
) -> CanonicalAlert:
    return sig(action, minute, n=n).model_copy(update={"dedup_window_s": window})


def episodes(
    arrival: list[CanonicalAlert], policy: RecoveryPolicy = "resolve", split: int = 1
) -> dict[int, Incident]:
    """Every episode of the key as last written, applying ``arrival`` as the store would."""
    _, decisions = run(arrival, policy=policy, split=split)
    stored: dict[int, Incident] = {}
    for decision in decisions:
        for seq, (inc, expected) in decision.writes.items():
            stored[seq] = inc.model_copy(update={"version": (expected or 0) + 1})
    return stored


def test_a_trigger_past_the_window_resolves_the_old_incident_by_rule_and_opens_a_recurrence() -> None:
    found = episodes(
        [windowed(Action.TRIGGER, 0), windowed(Action.TRIGGER, 30), windowed(Action.TRIGGER, 90)]
    )
    old, new = found[1], found[2]
    assert old.status is Status.RESOLVED
    assert old.resolved_by == WINDOW_RULE
    assert old.alert_count == 2  # the first two: 30 min apart, within the hour
    assert old.timeline[-1].message == f"resolved: dedup window of 1h passed; continued in {new.id}"
    assert old.timeline[-1].by == WINDOW_RULE
    assert new.status is Status.TRIGGERED
    assert new.recurrence_of == old.id
    assert new.alert_count == 1
    assert new.id == incident_id("svc_1", "cpu", 2)


def test_the_window_runs_from_the_first_trigger_not_the_last() -> None:
    # 0, 50, 100: the third is 100 min after the incident's first trigger, though 50 after the last.
    found = episodes([windowed(Action.TRIGGER, m) for m in (0, 50, 100)])
    assert [found[s].status for s in sorted(found)] == [Status.RESOLVED, Status.TRIGGERED]


def test_without_a_window_or_within_it_a_trigger_appends() -> None:
    inc, _ = run([windowed(Action.TRIGGER, 0, window=None), windowed(Action.TRIGGER, 600, window=None)])
    assert inc is not None
    assert inc.seq == 1
    assert inc.alert_count == 2
    inc, _ = run([windowed(Action.TRIGGER, 0), windowed(Action.TRIGGER, 60)])  # exactly 1h: not past it
    assert inc is not None
    assert inc.seq == 1
    assert inc.alert_count == 2


def test_one_write_resolves_and_opens_so_a_concurrent_writer_conflicts_on_the_old_episode() -> None:
    first = decide(None, [windowed(Action.TRIGGER, 0)], "resolve", NOW)
    [(opened, _)] = first.writes.values()
    latest = opened.model_copy(update={"version": 1})
    decision = decide(latest, [windowed(Action.TRIGGER, 90)], "resolve", NOW)
    assert decision.writes[1][1] == 1  # the old episode must still be at the version read
    assert decision.writes[2][1] is None  # the new one must not exist yet
    assert [a.result for a in decision.results] == ["opened"]


def test_a_retry_of_the_trigger_that_rolled_over_is_a_duplicate() -> None:
    late = windowed(Action.TRIGGER, 90)
    found = episodes([windowed(Action.TRIGGER, 0), late, late])
    assert len(found) == 2
    assert found[2].alert_count == 1


def test_a_trigger_older_than_an_applied_recovery_starts_nothing() -> None:
    found = episodes(
        [windowed(Action.TRIGGER, 0), windowed(Action.RESOLVE, 200), windowed(Action.TRIGGER, 150)]
    )
    assert len(found) == 1
    assert found[1].status is Status.RESOLVED
    assert found[1].resolved_by == "source"


def test_a_late_trigger_never_rolls_a_monitoring_incident_over() -> None:
    arrival = [windowed(Action.TRIGGER, 0), windowed(Action.RESOLVE, 100), windowed(Action.TRIGGER, 90)]
    found = episodes(arrival, policy="monitor")
    assert list(found) == [1]
    assert found[1].status is Status.MONITORING
    assert found[1].timeline[-1].kind == "late"


def test_a_late_trigger_older_than_the_open_incident_appends_to_it() -> None:
    # Arrival: 120 opens, then 0 (two hours older) arrives: it belongs to no later episode.
    found = episodes([windowed(Action.TRIGGER, 120), windowed(Action.TRIGGER, 0)])
    assert len(found) == 1
    assert found[1].alert_count == 2


@st.composite
def windowed_histories(draw: st.DrawFn) -> tuple[list[CanonicalAlert], list[CanonicalAlert], int]:
    count = draw(st.integers(1, 10))
    minutes = draw(st.lists(st.integers(0, 400), min_size=count, max_size=count, unique=True))
    window = draw(st.sampled_from([None, 1800, HOUR, 2 * HOUR]))
    actions = st.sampled_from([Action.TRIGGER, Action.TRIGGER, Action.RESOLVE, Action.REMINDER])
    signals = [windowed(draw(actions), m, window=window, n=i) for i, m in enumerate(minutes)]
    return signals, list(draw(st.permutations(signals))), draw(st.integers(1, 4))


@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(windowed_histories(), st.sampled_from(["resolve", "monitor"]))
def test_with_a_window_the_key_still_ends_as_its_latest_signal_implies_with_one_open_at_most(
    case: tuple[list[CanonicalAlert], list[CanonicalAlert], int], policy: RecoveryPolicy
) -> None:
    signals, arrival, split = case
    found = episodes(arrival, policy=policy, split=split)
    open_ = [inc for inc in found.values() if inc.is_open]
    assert len(open_) <= 1
    latest = found[max(found)] if found else None
    is_open = latest is not None and latest.is_open and latest.status is not Status.MONITORING
    assert is_open == implied_open(signals)
    assert not open_ or open_[0] is latest
    # every trigger and reminder counted once, across the episodes (none lost to a roll-over)
    counted = sum(inc.alert_count for inc in found.values())
    assert counted <= sum(1 for s in signals if s.action is not Action.RESOLVE)
