"""Pure pieces of the notifier and the escalation checker."""

from __future__ import annotations

from datetime import timedelta

from alertbridge.escalation import escalation_event, still_triggered
from alertbridge.models.incident import Incident, Status, TimelineEntry
from alertbridge.notifier import render
from alertbridge.notifier import test_event as marked_test_event
from alertbridge.notify.job import Job
from alertbridge.notify.message import Context, Outbound

from tests.unit.notify.factories import NOW, make_channel, make_event


def incident(status: Status = Status.TRIGGERED, *entries: tuple[str, int]) -> Incident:
    return Incident(
        id="inc_0123456789abcdef0123-1",
        service_id="svc_1",
        dedup_key="k",
        seq=1,
        source="kapacitor",
        source_id="src_1",
        status=status,
        severity="critical",  # type: ignore[arg-type]
        title="t",
        opened_at=NOW,
        updated_at=NOW,
        version=3,
        timeline=[TimelineEntry(at=NOW + timedelta(seconds=s), kind=k, message=k) for k, s in entries],
    )


def test_a_chain_lives_while_triggered_and_not_reopened_since_its_epoch() -> None:
    assert still_triggered(incident(Status.TRIGGERED, ("opened", 0)), NOW)
    assert not still_triggered(incident(Status.ACKNOWLEDGED, ("opened", 0)), NOW)
    assert not still_triggered(incident(Status.RESOLVED, ("opened", 0)), NOW)
    reopened = incident(Status.TRIGGERED, ("opened", 0), ("acknowledged", 10), ("reopened", 20))
    assert not still_triggered(reopened, NOW)  # the old chain stops ...
    assert still_triggered(reopened, NOW + timedelta(seconds=20))  # ... the new one runs


def test_an_escalation_is_an_escalated_event_by_the_timer() -> None:
    event = escalation_event(incident(Status.TRIGGERED, ("opened", 0)), NOW)
    assert (event.type, event.by, event.version) == ("incident.escalated", "timeout", 3)
    assert event.id == "inc_0123456789abcdef0123-1.v3.escalated"


def test_jobs_survive_the_queue() -> None:
    job = Job("k", "ch_1", attempt=3, event=make_event(), note="why")
    assert Job.of(job.message()) == job
    digest = Job("digest.ch_1.5", "ch_1", window=5)
    assert Job.of(digest.message()) == digest


def test_the_test_notification_is_marked_and_pagerduty_monitoring_sends_nothing() -> None:
    channel = make_channel("slack")
    event = marked_test_event(channel, NOW)
    assert event.incident.test and event.incident.service_id == channel.service_id
    out = render(channel, event, Context("checkout"), 0)
    assert isinstance(out, Outbound) and b"[TEST]" in out.body
    assert render(make_channel("pagerduty"), make_event("incident.monitoring"), Context("c"), 0) is None
