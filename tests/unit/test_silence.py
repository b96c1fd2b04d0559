"""Quiet sources, the pure parts: durations, the silence alerts (the bus contract), when a delivery
moves its due entry, and resolve-by-timeout in the decision core."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import jsonschema
import pytest
from alertbridge import decisions
from alertbridge.models.incident import Status
from alertbridge.models.parts import Action, Severity
from alertbridge.models.records import Source, SourceSettings
from alertbridge.silence import MOVE_FRACTION, SILENCE_SOURCE, resumed_alert, should_move, silent_alert
from alertbridge.timestamps import format_duration, parse_duration
from alertbridge_tools.schema import SCHEMA_FILE

from tests.flow.test_contract import make_alert

T0 = datetime(2026, 12, 1, 22, 40, tzinfo=UTC)
SOURCE = Source(
    id="src_abc",
    service_id="svc_1",
    source="threatstack",
    settings=SourceSettings(expect_every=900, silence_severity=Severity.CRITICAL),
    token_hash="0" * 64,
    created_at=T0,
)


@pytest.mark.parametrize(("text", "seconds"), [("30s", 30), ("15m", 900), ("1h", 3600), (" 2h ", 7200)])
def test_durations(text: str, seconds: int) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["15", "1d", "m", "-1m", "1.5h", ""])
def test_bad_durations_name_what_is_wrong(text: str) -> None:
    with pytest.raises(ValueError, match="expect_every must be a whole number with a unit"):
        parse_duration(text, "expect_every")


def test_durations_read_back() -> None:
    assert [format_duration(s) for s in (45, 60, 3600, 7200, 3 * 3600, 90)] == [
        "45 s",
        "1 min",
        "60 min",
        "120 min",
        "3 h",
        "90 s",
    ]


def test_the_silence_alerts_are_canonical_alerts_of_source_alertbridge_with_stable_ids() -> None:
    schema = json.loads(SCHEMA_FILE.read_text())
    trigger = silent_alert(SOURCE, "checkout", T0)
    again = silent_alert(SOURCE, "checkout", T0)  # a second or late checker
    assert trigger == again
    assert (trigger.source, trigger.action, trigger.dedup_key) == (
        SILENCE_SOURCE,
        Action.TRIGGER,
        "silence:src_abc",
    )
    assert trigger.source_id == SOURCE.id and trigger.severity is Severity.CRITICAL
    assert trigger.title == "threatstack for checkout has been silent since 2026-12-01 22:40:00 UTC"
    assert trigger.occurred_at == T0 + timedelta(seconds=900)  # when it became silent, however late the run
    resumed = resumed_alert(SOURCE, T0, T0 + timedelta(hours=1))
    assert resumed.action is Action.RESOLVE and resumed.dedup_key == trigger.dedup_key
    assert resumed.occurred_at > trigger.occurred_at and resumed.event_id != trigger.event_id
    assert silent_alert(SOURCE, "checkout", T0 + timedelta(seconds=1)).event_id != trigger.event_id
    for alert in (trigger, resumed):
        jsonschema.validate(json.loads(alert.model_dump_json()), schema)


def test_a_resolve_arriving_before_its_trigger_leaves_nothing_open() -> None:
    trigger, resumed = (
        silent_alert(SOURCE, "checkout", T0),
        resumed_alert(SOURCE, T0, T0 + timedelta(hours=1)),
    )
    first = decisions.decide(None, [resumed], "resolve", T0 + timedelta(hours=1))
    [(ledger, _)] = first.writes.values()
    second = decisions.decide(ledger, [trigger], "resolve", T0 + timedelta(hours=1))
    assert [a.result for a in second.results] == ["late"]


def test_a_delivery_moves_the_due_entry_only_when_it_is_stale() -> None:
    every = 900
    assert should_move(None, T0, every)  # this instance never moved it
    assert not should_move(T0, T0 + timedelta(seconds=every * MOVE_FRACTION - 1), every)
    assert should_move(T0, T0 + timedelta(seconds=every * MOVE_FRACTION), every)
    assert should_move(T0, T0 - timedelta(seconds=1), every)  # a clock that went back


def test_timeout_resolves_a_quiet_incident_and_refuses_one_that_was_alerted() -> None:
    opened = decisions.decide(None, [make_alert(occurred_at=T0)], "resolve", T0)
    [(incident, _)] = opened.writes.values()
    incident = incident.model_copy(update={"version": 1})
    assert decisions.last_alert_at(incident) == T0
    with pytest.raises(ValueError, match="within the quiet period"):
        decisions.timeout(incident, 3600, T0 + timedelta(minutes=59))
    done = decisions.timeout(incident, 3600, T0 + timedelta(hours=1))
    assert (done.status, done.resolved_by) == (Status.RESOLVED, "timeout")
    assert (done.timeline[-1].message, done.timeline[-1].by) == (
        "resolved after 60 min without alerts",
        "timeout",
    )
    with pytest.raises(ValueError, match="not open"):
        decisions.timeout(done, 3600, T0 + timedelta(hours=2))
    later = decisions.decide(
        incident,
        [make_alert(event_id="1" * 32, occurred_at=T0 + timedelta(minutes=30))],
        "resolve",
        T0 + timedelta(minutes=30),
    )
    [(appended, _)] = later.writes.values()
    assert decisions.last_alert_at(appended) == T0 + timedelta(minutes=30)
