"""derive(old, new): the events of one committed write, on images made by the real decisions."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

from alertbridge.decisions import decide, manual
from alertbridge.incident_events import derive
from alertbridge.models.alert import CanonicalAlert
from alertbridge.models.incident import Incident, Status
from alertbridge.models.incident_event import IncidentEvent
from alertbridge.models.parts import Action, Severity
from alertbridge.models.records import RecoveryPolicy

from tests.flow.test_contract import make_alert

T0 = datetime(2024, 5, 14, 10, 0, tzinfo=UTC)
NOW = datetime(2026, 1, 1, tzinfo=UTC)


def sig(
    action: Action, minute: int, severity: Severity = Severity.CRITICAL, test: bool = False
) -> CanonicalAlert:
    return make_alert(
        action=action,
        severity=severity,
        test=test,
        occurred_at=T0 + timedelta(minutes=minute),
        event_id=hashlib.sha256(f"{action}|{minute}|{severity}".encode()).hexdigest()[:32],
    )


def commit(latest: Incident | None, *alerts: CanonicalAlert, policy: RecoveryPolicy = "resolve") -> Incident:
    """What the store writes for the latest episode: the decided image with its version bumped."""
    decision = decide(latest, alerts, policy, NOW)
    seq = max(decision.writes)
    incident, expected = decision.writes[seq]
    return incident.model_copy(update={"version": (expected or 0) + 1})


def bump(incident: Incident) -> Incident:
    return incident.model_copy(update={"version": incident.version + 1})


def types(events: list[IncidentEvent]) -> list[str]:
    return [e.type for e in events]


def test_a_new_open_episode_is_opened_with_a_deterministic_id() -> None:
    new = commit(None, sig(Action.TRIGGER, 0))
    [event] = derive(None, new)
    assert event.type == "incident.opened"
    assert event.id == f"{new.id}.v1"
    assert event.version == 1
    assert event.occurred_at == new.updated_at
    assert event.by == "source"
    assert event.incident.status is Status.TRIGGERED
    assert event.incident.severity is Severity.CRITICAL
    assert event.incident.test is False
    assert derive(None, new) == [event]  # a retried stream record gives the same event


def test_a_repeat_alert_gives_no_event() -> None:
    opened = commit(None, sig(Action.TRIGGER, 0))
    repeated = commit(opened, sig(Action.TRIGGER, 1))
    assert repeated.alert_count == 2
    assert repeated.version == 2
    assert derive(opened, repeated) == []


def test_a_version_only_bump_gives_no_event() -> None:
    opened = commit(None, sig(Action.TRIGGER, 0))
    assert derive(opened, bump(opened)) == []


def test_acknowledge_then_resolve_by_a_person() -> None:
    opened = commit(None, sig(Action.TRIGGER, 0))
    acked = bump(manual(opened, "acknowledge", "ana", NOW))
    [ack] = derive(opened, acked)
    assert ack.type == "incident.acknowledged"
    assert ack.by == "person:ana"
    assert ack.id == f"{opened.id}.v2"
    assert ack.incident.acknowledged_by == "ana"

    resolved = bump(manual(acked, "resolve", "bo", NOW + timedelta(minutes=5)))
    [res] = derive(acked, resolved)
    assert res.type == "incident.resolved"
    assert res.by == "person:bo"
    assert res.version == 3
    assert res.occurred_at == NOW + timedelta(minutes=5)


def test_resolve_by_the_source() -> None:
    opened = commit(None, sig(Action.TRIGGER, 0))
    resolved = commit(opened, sig(Action.RESOLVE, 1))
    [event] = derive(opened, resolved)
    assert (event.type, event.by, event.incident.status) == ("incident.resolved", "source", Status.RESOLVED)


def test_monitoring_then_reopen() -> None:
    opened = commit(None, sig(Action.TRIGGER, 0))
    monitoring = commit(opened, sig(Action.RESOLVE, 1), policy="monitor")
    assert types(derive(opened, monitoring)) == ["incident.monitoring"]
    reopened = commit(monitoring, sig(Action.TRIGGER, 2), policy="monitor")
    [event] = derive(monitoring, reopened)
    assert (event.type, event.by) == ("incident.reopened", "source")
    assert event.id == f"{opened.id}.v3"


def test_reopen_at_another_level_gives_two_events_with_suffixed_ids() -> None:
    opened = commit(None, sig(Action.TRIGGER, 0, Severity.MEDIUM))
    monitoring = commit(opened, sig(Action.RESOLVE, 1), policy="monitor")
    reopened = commit(monitoring, sig(Action.TRIGGER, 2, Severity.CRITICAL), policy="monitor")
    events = derive(monitoring, reopened)
    assert types(events) == ["incident.reopened", "incident.escalated"]
    assert [e.id for e in events] == [f"{opened.id}.v3.reopened", f"{opened.id}.v3.escalated"]
    assert events[1].previous_severity is Severity.MEDIUM
    assert len({e.id for e in events}) == 2


def test_level_changes_escalate_and_deescalate_by_rank() -> None:
    opened = commit(None, sig(Action.TRIGGER, 0, Severity.MEDIUM))
    higher = commit(opened, sig(Action.TRIGGER, 1, Severity.HIGH))
    [up] = derive(opened, higher)
    assert (up.type, up.previous_severity, up.incident.severity) == (
        "incident.escalated",
        Severity.MEDIUM,
        Severity.HIGH,
    )
    lower = commit(higher, sig(Action.TRIGGER, 2, Severity.LOW))
    [down] = derive(higher, lower)
    assert (down.type, down.previous_severity) == ("incident.deescalated", Severity.HIGH)


def test_a_level_change_of_an_acknowledged_incident_is_still_an_event() -> None:
    opened = commit(None, sig(Action.TRIGGER, 0, Severity.LOW))
    acked = bump(manual(opened, "acknowledge", "ana", NOW))
    worse = commit(acked, sig(Action.TRIGGER, 1, Severity.CRITICAL))
    assert types(derive(acked, worse)) == ["incident.escalated"]


def test_a_recurrence_is_opened_and_says_what_it_recurs() -> None:
    first = commit(None, sig(Action.TRIGGER, 0))
    closed = commit(first, sig(Action.RESOLVE, 1))
    second = commit(closed, sig(Action.TRIGGER, 2))
    assert second.seq == 2
    [event] = derive(None, second)
    assert event.type == "incident.opened"
    assert event.incident.recurrence_of == first.id


def test_opened_and_resolved_in_one_write() -> None:
    new = commit(None, sig(Action.TRIGGER, 0), sig(Action.RESOLVE, 1))
    events = derive(None, new)
    assert types(events) == ["incident.opened", "incident.resolved"]
    assert [e.id for e in events] == [f"{new.id}.v1.opened", f"{new.id}.v1.resolved"]


def test_ledger_episodes_never_give_events() -> None:
    ledger = commit(None, sig(Action.RESOLVE, 0))
    assert ledger.is_ledger
    assert derive(None, ledger) == []
    touched = commit(ledger, sig(Action.RESOLVE, 1))
    assert touched.is_ledger
    assert derive(ledger, touched) == []


def test_an_image_that_did_not_move_forward_gives_no_event() -> None:
    opened = commit(None, sig(Action.TRIGGER, 0))
    resolved = commit(opened, sig(Action.RESOLVE, 1))
    assert derive(resolved, opened) == []  # out of order
    assert derive(opened, resolved.model_copy(update={"version": opened.version})) == []


def test_test_incidents_carry_test() -> None:
    new = commit(None, sig(Action.TRIGGER, 0, test=True))
    [event] = derive(None, new)
    assert event.incident.test is True


def test_the_snapshot_leaves_out_the_timeline_and_keeps_links_and_tags() -> None:
    alert = make_alert(
        links=[{"href": "https://example.com/x", "text": "graph"}],
        tags={"env": "prod"},
        occurred_at=T0,
    )
    new = commit(None, alert)
    [event] = derive(None, new)
    body = event.model_dump(mode="json")
    assert body["incident"]["links"] == [{"href": "https://example.com/x", "text": "graph"}]
    assert body["incident"]["tags"] == {"env": "prod"}
    assert "timeline" not in body["incident"]
    assert IncidentEvent.model_validate_json(event.model_dump_json()) == event
