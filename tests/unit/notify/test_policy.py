"""Notification rules, the per-minute rate window, escalation steps."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from alertbridge.models.incident_event import EventType
from alertbridge.notify.policy import EscalationStep, RateWindow, check_steps, next_step, parse_after, wants

from tests.unit.notify.factories import make_channel, make_event


def test_a_default_channel_wants_every_real_event() -> None:
    channel = make_channel()
    for kind in ("incident.opened", "incident.resolved", "incident.acknowledged"):
        assert wants(channel, make_event(kind, severity="info"))


def test_event_types_filter() -> None:
    events: list[EventType] = ["incident.opened", "incident.resolved"]
    channel = make_channel(events=events)
    assert wants(channel, make_event("incident.opened"))
    assert not wants(channel, make_event("incident.acknowledged"))


def test_min_severity_filter_by_rank() -> None:
    channel = make_channel(min_severity="high")
    assert wants(channel, make_event(severity="critical"))
    assert wants(channel, make_event(severity="high"))
    assert not wants(channel, make_event(severity="medium"))


def test_a_drop_below_the_threshold_is_still_told() -> None:
    channel = make_channel(min_severity="high")
    drop = make_event("incident.deescalated", severity="low", event={"previous_severity": "critical"})
    assert wants(channel, drop)
    rise = make_event("incident.escalated", severity="medium", event={"previous_severity": "low"})
    assert not wants(channel, rise)


def test_test_incidents_only_to_channels_that_ask() -> None:
    event = make_event(test=True)
    assert not wants(make_channel(), event)
    assert wants(make_channel(test_incidents=True), event)


def test_rate_window_sends_up_to_the_cap_then_digests() -> None:
    now = 1_767_268_859.9  # 12:00:59.9
    window = RateWindow.at(now)
    assert window.minute == 1_767_268_800 // 60
    assert window.start == datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    assert window.end == datetime(2026, 1, 1, 12, 1, tzinfo=UTC)
    assert RateWindow.at(now, sent=19).decide(20) == "send"
    assert RateWindow.at(now, sent=20).decide(20) == "digest"
    assert RateWindow.at(now + 0.1, sent=0).minute == window.minute + 1  # a new minute: a new count
    with pytest.raises(ValueError, match="at least 1"):
        window.decide(0)


@pytest.mark.parametrize(
    ("text", "seconds"), [("0", 0), ("30s", 30), ("15m", 900), ("1h", 3600), (" 2m ", 120), ("24h", 86400)]
)
def test_parse_after(text: str, seconds: int) -> None:
    assert parse_after(text) == seconds


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("15", "with a unit"),
        ("1d", "with a unit"),
        ("-5m", "with a unit"),
        ("", "with a unit"),
        ("25h", "24h"),
    ],
)
def test_parse_after_errors_say_what_is_expected(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_after(text)


def test_escalation_steps_validate() -> None:
    with pytest.raises(ValueError, match="at least one channel"):
        EscalationStep(60, ())
    with pytest.raises(ValueError, match="between 0"):
        EscalationStep(-1, ("ch_1",))
    with pytest.raises(ValueError, match="in order"):
        check_steps([EscalationStep(900, ("ch_1",)), EscalationStep(60, ("ch_2",))])
    check_steps([EscalationStep(0, ("ch_1",)), EscalationStep(900, ("ch_2",))])


def test_next_step_walks_the_steps_from_the_epoch() -> None:
    epoch = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    steps = [EscalationStep(0, ("ch_1",)), EscalationStep(900, ("ch_2",)), EscalationStep(3600, ("ch_3",))]
    assert next_step(steps, None, epoch) == (0, epoch)
    assert next_step(steps, 0, epoch) == (1, epoch + timedelta(minutes=15))
    assert next_step(steps, 1, epoch) == (2, epoch + timedelta(hours=1))
    assert next_step(steps, 2, epoch) is None
    assert next_step([], None, epoch) is None
    reopened = epoch + timedelta(hours=3)  # a reopen starts again from the new epoch
    assert next_step(steps, None, reopened) == (0, reopened)
