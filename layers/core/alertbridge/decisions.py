"""Incident decisions: pure functions, no AWS.

For one (service, dedup_key), given the key's latest stored episode and a group of canonical alerts,
``decide`` returns the episodes to write (each with the version it must still have) and what became
of every alert. The store writes them with conditions, so a concurrent writer makes it re-read and
decide again: at most one open incident per key, whatever the concurrency.

Ordering rule (PRODUCT.md §4): the open/closed state of a key is the one implied by the signal with
the latest vendor time. A trigger is "late" when it is not newer than the recovery already applied;
a recovery is "late" when it is older than the latest trigger of the open incident (on equal times
the recovery wins). Reminders never change the state.

Dedup window (an alert's ``dedup_window_s``, set by a dedup rule): a trigger more than the window
after the open incident's first trigger (vendor times, like the ordering rule) resolves that
incident by rule (``rule:dedup-window``) and opens a new one, a recurrence of it, in the same
write. A trigger older than that only appends, so the key still ends open or closed as its latest
signal implies, and at most one incident is open.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Literal, NamedTuple

from alertbridge.models.incident import Incident, Status, TimelineEntry, incident_id
from alertbridge.models.parts import Action, Severity, explain

if TYPE_CHECKING:  # the alerts come validated: the checker's timeouts never build the alert model
    from alertbridge.models.alert import CanonicalAlert
from alertbridge.models.records import RecoveryPolicy
from alertbridge.timestamps import format_duration, iso

EVENT_ID_WINDOW = 256  # event ids remembered per episode (idempotency for retries and replays)
EVENT_ID_CHARS = 16  # a 64-bit prefix of the event id is enough within one key, and keeps items small
WINDOW_RULE = "rule:dedup-window"  # who resolves an incident whose dedup window passed
TIMELINE_LIMIT = 50  # timeline entries kept per episode: the first one and the latest ones

Result = Literal[
    "opened",
    "appended",
    "reopened",
    "resolved",
    "monitoring",
    "reminder",
    "duplicate",
    "late",
    "recorded",
]


class Applied(NamedTuple):
    event_id: str
    result: Result
    incident_id: str | None


class Decision:
    """Episodes to write, keyed by seq, with the version each must still have (None: must not exist).

    ``basis`` is the (seq, version) of the latest episode the decision was made on: the write must
    fail if that episode changed meanwhile, even when the decision only creates a new episode.
    (A plain class: a dataclass would compile its generated methods at every cold start.)
    """

    __slots__ = ("basis", "results", "writes")

    def __init__(
        self,
        writes: dict[int, tuple[Incident, int | None]] | None = None,
        results: list[Applied] | None = None,
        basis: tuple[int, int] | None = None,
    ) -> None:
        self.writes = {} if writes is None else writes
        self.results = [] if results is None else results
        self.basis = basis

    def tally(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for applied in self.results:
            out[applied.result] = out.get(applied.result, 0) + 1
        return out


def order(alerts: Iterable[CanonicalAlert]) -> list[CanonicalAlert]:
    """Apply in vendor-time order; on equal times, triggers before recoveries (the recovery wins)."""
    rank = {Action.TRIGGER: 0, Action.REMINDER: 1, Action.RESOLVE: 2}
    return sorted(alerts, key=lambda a: (a.occurred_at, rank[a.action], a.event_id))


def decide(
    latest: Incident | None,
    alerts: Sequence[CanonicalAlert],
    policy: RecoveryPolicy,
    now: datetime,
) -> Decision:
    """Apply a group of alerts that share one (service, dedup_key) to the key's latest episode."""
    decision = Decision(basis=(latest.seq, latest.version) if latest is not None else None)
    current = latest
    for alert in order(alerts):
        current, result = _apply(current, alert, policy, now, decision)
        decision.results.append(Applied(alert.event_id, result, None if current.is_ledger else current.id))
    return decision


def _apply(
    current: Incident | None, alert: CanonicalAlert, policy: RecoveryPolicy, now: datetime, decision: Decision
) -> tuple[Incident, Result]:
    if current is not None and _eid(alert) in current.event_ids:
        return current, "duplicate"
    match alert.action:
        case Action.TRIGGER:
            return _trigger(current, alert, now, decision)
        case Action.RESOLVE:
            return _resolve(current, alert, policy, now, decision)
        case Action.REMINDER:
            return _reminder(current, alert, now, decision)


def _trigger(
    current: Incident | None, alert: CanonicalAlert, now: datetime, decision: Decision
) -> tuple[Incident, Result]:
    t = alert.occurred_at
    if current is not None and current.is_open and _window_passed(current, alert):
        current = _close_for_window(current, alert, now, decision)
    if current is not None and current.is_open:
        if current.status is Status.MONITORING:
            if current.last_resolve_at is not None and t <= current.last_resolve_at:
                return _late(current, alert, now, decision, "trigger older than the recovery already applied")
            inc = _count(current, alert, now)
            inc.status = Status.TRIGGERED
            _note(inc, now, "reopened", f"new problem while monitoring: {alert.title}", alert)
            _track_level(inc, alert, now)
            return _stage(decision, current, inc), "reopened"
        if current.last_resolve_at is not None and t <= current.last_resolve_at:
            return _late(current, alert, now, decision, "trigger older than a recovery already applied")
        inc = _count(current, alert, now)
        _note(inc, now, "alert", f"matched key {alert.dedup_key!r}: {alert.title}", alert)
        _track_level(inc, alert, now)
        return _stage(decision, current, inc), "appended"

    if current is not None and current.last_resolve_at is not None and t <= current.last_resolve_at:
        return _late(current, alert, now, decision, "trigger older than the recovery already applied")

    seq = current.seq + 1 if current is not None else 1
    inc = Incident(
        id=incident_id(alert.service_id, alert.dedup_key, seq),
        service_id=alert.service_id,
        dedup_key=alert.dedup_key,
        seq=seq,
        source=alert.source,
        source_id=alert.source_id,
        status=Status.TRIGGERED,
        severity=alert.severity,
        title=alert.title,
        description=alert.description,
        alert_count=1,
        first_seen_at=t,
        last_seen_at=t,
        last_trigger_at=t,
        # The key's ordering memory carries over: triggers older than the last recovery stay late.
        last_resolve_at=current.last_resolve_at if current is not None else None,
        opened_at=now,
        updated_at=now,
        recurrence_of=current.id if current is not None and not current.is_ledger else None,
        recoverable=alert.recoverable,
        test=alert.test,
        links=[link.model_dump() for link in alert.links],
        tags=dict(alert.tags),
        event_ids=[_eid(alert)],
    )
    why = f"opened on key {alert.dedup_key!r} ({alert.severity}): {alert.title}"
    if inc.recurrence_of:
        why += f"; recurrence of {inc.recurrence_of}"
    if not alert.recoverable:
        why += "; the source sends no recovery for it: resolve by hand"
    _note(inc, now, "opened", why, alert)
    decision.writes[seq] = (inc, None)
    return inc, "opened"


def _window_passed(current: Incident, alert: CanonicalAlert) -> bool:
    """The alert's dedup window has passed since the open incident's first trigger (and the
    alert is not late: a trigger older than an applied recovery never starts anything)."""
    if alert.dedup_window_s is None:
        return False
    if current.last_resolve_at is not None and alert.occurred_at <= current.last_resolve_at:
        return False
    first = current.first_seen_at or current.opened_at
    return alert.occurred_at - first > timedelta(seconds=alert.dedup_window_s)


def _close_for_window(
    current: Incident, alert: CanonicalAlert, now: datetime, decision: Decision
) -> Incident:
    """Resolve the open incident by rule: the alert continues in the key's next episode."""
    assert alert.dedup_window_s is not None
    inc = current.model_copy(deep=True)
    inc.updated_at = now
    inc.status = Status.RESOLVED
    inc.resolved_at = now
    inc.resolved_by = WINDOW_RULE
    span = _span(alert.dedup_window_s)
    following = incident_id(current.service_id, current.dedup_key, current.seq + 1)
    why = f"resolved: dedup window of {span} passed; continued in {following}"
    _note(inc, now, "resolved", why, by=WINDOW_RULE)
    return _stage(decision, current, inc)


def _span(seconds: int) -> str:
    """3600 -> '1h', 5400 -> '1h30m', 90 -> '90s'."""
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if secs:
        return f"{seconds}s"
    return (f"{hours}h" if hours else "") + (f"{minutes}m" if minutes else "") or "0s"


def _resolve(
    current: Incident | None, alert: CanonicalAlert, policy: RecoveryPolicy, now: datetime, decision: Decision
) -> tuple[Incident, Result]:
    t = alert.occurred_at
    if current is not None and current.is_open and current.status is not Status.MONITORING:
        if current.last_trigger_at is not None and t < current.last_trigger_at:
            return _late(current, alert, now, decision, "recovery older than the latest trigger")
        inc = _touch(current, alert, now)
        inc.last_resolve_at = t
        if policy == "monitor":
            inc.status = Status.MONITORING
            _note(
                inc, now, "monitoring", "recovered at the source; monitoring until a person confirms", alert
            )
            return _stage(decision, current, inc), "monitoring"
        inc.status = Status.RESOLVED
        inc.resolved_at = now
        inc.resolved_by = "source"
        _note(inc, now, "resolved", f"resolved by source: {alert.title}", alert)
        return _stage(decision, current, inc), "resolved"

    # Nothing open to resolve (or already monitoring): record it, and remember its time so that
    # older triggers arriving later do not reopen anything.
    if current is None:
        current = _ledger(alert, now)
        decision.writes[current.seq] = (current, None)
        inc = current
    else:
        inc = _touch(current, alert, now)
    if inc.last_resolve_at is None or t > inc.last_resolve_at:
        inc.last_resolve_at = t
    what = (
        "recovery while monitoring" if inc.status is Status.MONITORING else "recovery with no open incident"
    )
    _note(inc, now, "recorded", f"{what}: recorded", alert)
    return _stage(decision, current, inc), "recorded"


def _reminder(
    current: Incident | None, alert: CanonicalAlert, now: datetime, decision: Decision
) -> tuple[Incident, Result]:
    if current is not None and current.is_open:
        inc = _count(current, alert, now)
        _note(inc, now, "reminder", f"reminder: still failing: {alert.title}", alert)
        return _stage(decision, current, inc), "reminder"
    if current is None:
        current = _ledger(alert, now)
        decision.writes[current.seq] = (current, None)
    inc = _touch(current, alert, now)
    _note(inc, now, "recorded", "reminder with no open incident: ignored (reminders never open one)", alert)
    return _stage(decision, current, inc), "recorded"


def _late(
    current: Incident, alert: CanonicalAlert, now: datetime, decision: Decision, why: str
) -> tuple[Incident, Result]:
    inc = _touch(current, alert, now)
    _note(inc, now, "late", f"late signal ignored ({alert.action} at {iso(alert.occurred_at)}): {why}", alert)
    return _stage(decision, current, inc), "late"


def _eid(alert: CanonicalAlert) -> str:
    return alert.event_id[:EVENT_ID_CHARS]


def _ledger(alert: CanonicalAlert, now: datetime) -> Incident:
    """The key's first record when its first signal opens nothing (a recovery or a reminder)."""
    return Incident(
        id=incident_id(alert.service_id, alert.dedup_key, 1),
        ledger=True,
        service_id=alert.service_id,
        dedup_key=alert.dedup_key,
        seq=1,
        source=alert.source,
        source_id=alert.source_id,
        status=Status.RESOLVED,
        severity=Severity.INFO,
        title=alert.title,
        opened_at=now,
        updated_at=now,
        test=alert.test,
    )


def _touch(current: Incident, alert: CanonicalAlert, now: datetime) -> Incident:
    """A working copy that remembers the alert's event id (so a retry of it changes nothing)."""
    inc = current.model_copy(deep=True)
    inc.event_ids = [*inc.event_ids, _eid(alert)][-EVENT_ID_WINDOW:]
    inc.updated_at = now
    if inc.last_seen_at is None or alert.occurred_at > inc.last_seen_at:
        inc.last_seen_at = alert.occurred_at
    return inc


def _count(current: Incident, alert: CanonicalAlert, now: datetime) -> Incident:
    inc = _touch(current, alert, now)
    inc.alert_count += 1
    return inc


def _track_level(inc: Incident, alert: CanonicalAlert, now: datetime) -> None:
    """Severity follows the source's current level: the latest trigger by vendor time sets it."""
    if inc.last_trigger_at is not None and alert.occurred_at < inc.last_trigger_at:
        return
    inc.last_trigger_at = alert.occurred_at
    if alert.severity is inc.severity:
        return
    kind = "escalated" if alert.severity.rank > inc.severity.rank else "deescalated"
    _note(inc, now, kind, f"{kind} by level change: {inc.severity} -> {alert.severity}", alert)
    inc.severity = alert.severity


def _note(
    inc: Incident,
    now: datetime,
    kind: str,
    message: str,
    alert: CanonicalAlert | None = None,
    by: str | None = None,
) -> None:
    if alert is not None and alert.rules:  # every rule decision is explained where it lands
        message = f"{message} ({explain(alert.rules)})"
    entry = TimelineEntry(
        at=now,
        kind=kind,
        message=message,
        event_id=alert.event_id if alert else None,
        occurred_at=alert.occurred_at if alert else None,
        by=by or ("source" if alert else None),
    )
    timeline = [*inc.timeline, entry]
    if len(timeline) > TIMELINE_LIMIT:
        # Keep the opening entry and the latest ones; count what was dropped. Every alert is still
        # counted on the incident and kept raw with its delivery.
        dropped = len(timeline) - TIMELINE_LIMIT
        timeline = [timeline[0], *timeline[1 + dropped :]]
        inc.timeline_omitted += dropped
    inc.timeline = timeline


def _stage(decision: Decision, original: Incident, updated: Incident) -> Incident:
    """Record that ``updated`` must be written, expecting the version ``original`` was read at."""
    expected = decision.writes[updated.seq][1] if updated.seq in decision.writes else original.version
    decision.writes[updated.seq] = (updated, expected)
    return updated


def manual(
    current: Incident,
    action: Literal["acknowledge", "resolve"],
    who: str,
    now: datetime,
    note: str | None = None,
) -> Incident:
    """A person acknowledges or resolves an incident; raises ValueError when that is not possible.
    ``who`` is recorded as the actor; ``note`` (what the caller wrote) only in the timeline text."""
    if current.is_ledger:
        raise ValueError("not an incident")
    inc = current.model_copy(deep=True)
    inc.updated_at = now
    noted = f" (note: {note!r})" if note else ""
    if action == "acknowledge":
        if inc.status is not Status.TRIGGERED:
            raise ValueError(f"cannot acknowledge an incident that is {inc.status}")
        inc.status = Status.ACKNOWLEDGED
        inc.acknowledged_at = now
        inc.acknowledged_by = who
        _note(inc, now, "acknowledged", f"acknowledged by {who}{noted}", by=f"person:{who}")
    else:
        if inc.status is Status.RESOLVED:
            raise ValueError("the incident is already resolved")
        inc.status = Status.RESOLVED
        inc.resolved_at = now
        inc.resolved_by = f"person:{who}"
        # A person's resolve counts as a recovery at this moment: older triggers stay closed.
        if inc.last_resolve_at is None or now > inc.last_resolve_at:
            inc.last_resolve_at = now
        _note(inc, now, "resolved", f"resolved by {who}{noted}", by=f"person:{who}")
    return inc


_ALERT_KINDS = ("opened", "alert", "reminder", "reopened")


def last_alert_at(incident: Incident) -> datetime:
    """When alertbridge last applied an alert to the incident (its time, not the vendor's): the
    latest alert entry of the timeline, which always keeps its latest entries."""
    times = [e.at for e in incident.timeline if e.kind in _ALERT_KINDS and e.event_id]
    return max([incident.opened_at, *times])


def timeout(current: Incident, quiet: int, now: datetime) -> Incident:
    """``resolve_after_quiet``: the open incident had no alert for ``quiet`` seconds; resolved by
    timeout. Raises ValueError when it is not open or an alert came within ``quiet``."""
    if not current.is_open:
        raise ValueError("the incident is not open")
    if (now - last_alert_at(current)).total_seconds() < quiet:
        raise ValueError("an alert came within the quiet period")
    inc = current.model_copy(deep=True)
    inc.updated_at = now
    inc.status = Status.RESOLVED
    inc.resolved_at = now
    inc.resolved_by = "timeout"
    if inc.last_resolve_at is None or now > inc.last_resolve_at:  # as a person's resolve
        inc.last_resolve_at = now
    _note(inc, now, "resolved", f"resolved after {format_duration(quiet)} without alerts", by="timeout")
    return inc
