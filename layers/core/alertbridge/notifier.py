"""The notifier: incident events -> the service's channels, each (event, channel) on its own.

Fed by NotifyQueue, which gets the incident events from the bus (rule ``IncidentEventsRule``) and
the notifier's own per-channel messages (retries, delayed sends, digest flushes, escalations).

For each event, the channels whose rule ``wants()`` it are sent to **concurrently** (a thread per
HTTP send, so a receiver that hangs costs its own timeout and nobody else's), and only a failed
(event, channel) is retried, as its own message with ``DelaySeconds = backoff(...)``, until
``notify_max_attempts``, then the DLQ. A success is remembered per (event, channel), so neither a
redelivered event nor a retried sibling sends twice. docs/decisions.md ("Notifications") says why
this shape rather than one message per channel from the start.

Storms: the first ``rate_per_minute`` events of a channel in a minute window are sent, the rest go
into that window's digest, flushed once at the window's end (people's channels), or wait for a
later window (webhook and PagerDuty: machines must see every event, a resolve above all).

Every attempt is recorded on the incident's timeline (``store.notifications``). AWS is reached
only through the adapters given to ``Notifier``; outbound HTTP only through ``notify.http.send``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import TYPE_CHECKING, Any, NamedTuple

from botocore.exceptions import BotoCoreError, ClientError

from alertbridge.models.channel import Channel, ChannelKind
from alertbridge.models.incident import Status
from alertbridge.models.incident_event import DETAIL_TYPE, EVENT_SOURCE, IncidentEvent, IncidentSnapshot
from alertbridge.models.parts import Severity
from alertbridge.notify import http, pagerduty, slack, sns, teams, webhook
from alertbridge.notify.job import Job
from alertbridge.notify.message import Context, Digest, DigestItem, Outbound
from alertbridge.notify.policy import RateWindow, next_step, wants
from alertbridge.observability import logger
from alertbridge.store.notifications import AttemptRecord
from alertbridge.store.sources import NotFound
from alertbridge.timestamps import iso, now

if TYPE_CHECKING:
    from alertbridge.store.channels import ChannelStore
    from alertbridge.store.maintenance import MaintenanceStore
    from alertbridge.store.notifications import NotificationStore
    from alertbridge.store.notify_queue import NotifyQueue
    from alertbridge.store.sources import SourceStore
    from alertbridge.store.topic import Topic

MACHINE_KINDS = frozenset({ChannelKind.WEBHOOK, ChannelKind.PAGERDUTY})  # delayed, never digested
ESCALATING = frozenset({"incident.opened", "incident.reopened"})
SEND_WORKERS = 16


class Publish(NamedTuple):
    """An SNS publish for an email or SMS channel (SNS routes it by the channel_id attribute)."""

    channel_id: str
    message: str
    subject: str | None = None


Prepared = Outbound | Publish


def render(channel: Channel, content: IncidentEvent | Digest, context: Context, unix: int) -> Prepared | None:
    """The request for ``content`` on ``channel``; None when the channel is not told (PagerDuty
    has no monitoring state)."""
    if isinstance(content, Digest):
        match channel.kind:
            case ChannelKind.SLACK:
                return slack.build_digest(content, url=_need(channel.url))
            case ChannelKind.TEAMS:
                return teams.build_digest(content, url=_need(channel.url))
            case ChannelKind.EMAIL:
                return Publish(channel.id, sns.digest_message(content), sns.digest_subject(content))
            case ChannelKind.SMS:
                return Publish(channel.id, sns.digest_sms(content))
        raise ValueError(f"{channel.kind} channels are never digested")
    match channel.kind:
        case ChannelKind.SLACK:
            return slack.build(content, context, url=_need(channel.url))
        case ChannelKind.TEAMS:
            return teams.build(content, context, url=_need(channel.url))
        case ChannelKind.WEBHOOK:
            return webhook.build(content, url=_need(channel.url), secret=_need(channel.secret), now=unix)
        case ChannelKind.PAGERDUTY:
            return pagerduty.build(content, context, routing_key=_need(channel.routing_key))
        case ChannelKind.EMAIL:
            return Publish(
                channel.id, sns.email_message(content, context), sns.email_subject(content, context)
            )
        case ChannelKind.SMS:
            return Publish(channel.id, sns.sms(content, context))


def _need(value: str | None) -> str:
    if value is None:
        raise ValueError("the channel lacks its target")
    return value


def test_event(channel: Channel, at: datetime) -> IncidentEvent:
    """The clearly marked test notification of ``channels test`` (a test incident that does not exist)."""
    incident_id = f"test-{channel.id}"
    snapshot = IncidentSnapshot(
        id=incident_id,
        service_id=channel.service_id,
        status=Status.TRIGGERED,
        severity=Severity.INFO,
        title="alertbridge test notification: this channel works",
        source="alertbridge",
        source_id="test",
        dedup_key="test",
        alert_count=0,
        opened_at=at,
        test=True,
    )
    return IncidentEvent(
        id=f"{incident_id}.v1", type="incident.opened", version=1, occurred_at=at, incident=snapshot
    )


class Notifier:
    def __init__(
        self,
        channels: ChannelStore,
        notes: NotificationStore,
        queue: NotifyQueue,
        services: SourceStore,
        windows: MaintenanceStore,
        topic: Topic | None,
        *,
        timeout: float = 10.0,
        allow_private: bool = False,
        max_attempts: int = 6,
        base_url: str | None = None,
    ) -> None:
        self._channels = channels
        self._notes = notes
        self._queue = queue
        self._services = services
        self._windows = windows
        self._topic = topic
        self._timeout = timeout
        self._allow_private = allow_private
        self._max_attempts = max_attempts
        self._base_url = base_url
        self._names: dict[str, str] = {}

    # --- a batch of queue messages ------------------------------------------------------------
    def handle(self, records: Sequence[tuple[str, str]]) -> list[str]:
        """Process (message id, body) pairs; the ids of the messages to retry (batchItemFailures)."""
        failed: set[str] = set()
        ready: list[tuple[str, Job, Channel, Prepared]] = []
        for message_id, body in records:
            try:
                for job in self._jobs(json.loads(body)):
                    gated = self._gate(job)
                    if gated is not None:
                        ready.append((message_id, job, *gated))
            except Exception:  # the message comes back; after maxReceiveCount it is in the DLQ
                logger.exception("notify message failed", extra={"message_id": message_id})
                failed.add(message_id)
        ready = [r for r in ready if r[0] not in failed]
        for (message_id, job, channel, _), attempt in zip(ready, self._deliver_all(ready), strict=True):
            try:
                self._settle(job, channel, attempt)
            except (BotoCoreError, ClientError):
                logger.exception("recording a notification failed", extra={"message_id": message_id})
                failed.add(message_id)
        return sorted(failed)

    def send_test(self, channel: Channel) -> dict[str, Any]:
        """A test notification on ``channel`` through the real send path, now; its outcome."""
        at = now()
        event = test_event(channel, at)
        prepared = render(channel, event, self._context(event, None), int(at.timestamp()))
        if prepared is None:  # cannot happen for an opened event, whatever the kind
            raise ValueError("nothing to send")
        [attempt] = self._deliver_all([("test", Job(event.id, channel.id), channel, prepared)])
        self._log(Job(event.id, channel.id), channel, attempt)
        return {
            "channel_id": channel.id,
            "kind": channel.kind.value,
            "outcome": attempt.outcome,
            "status_code": attempt.status_code,
            "attempt": 1,
            "error": attempt.error,
        }

    # --- steps --------------------------------------------------------------------------------
    def _jobs(self, body: dict[str, Any]) -> list[Job]:
        if body.get("source") == EVENT_SOURCE and body.get("detail-type") == DETAIL_TYPE:
            event = IncidentEvent.model_validate(body["detail"])
            self._schedule_escalation(event)
            channels = self._channels.for_service(event.incident.service_id, cached=True)
            return [Job(event.id, c.id, event=event) for c in channels if wants(c, event)]
        if body.get("notify") == "send":
            return [Job.of(body)]
        raise ValueError("not an incident event nor a notifier message")

    def _schedule_escalation(self, event: IncidentEvent) -> None:
        """Opened or reopened: index the first escalation step, timed from this moment."""
        if event.type not in ESCALATING or event.incident.test:
            return
        steps = self._channels.escalation(event.incident.service_id, cached=True)
        first = next_step(steps, None, event.occurred_at)
        if first is not None:
            index, due = first
            self._notes.schedule(event.incident.id, index, due, event.occurred_at)

    def _gate(self, job: Job) -> tuple[Channel, Prepared] | None:
        """The channel and request for ``job``, or None when nothing is to be sent now: already
        sent, the channel is gone, or the event is over the channel's rate (digested or delayed)."""
        try:
            channel = self._channels.get(job.channel_id, cached=True)
        except NotFound:
            logger.info("channel removed; dropped", extra={"channel_id": job.channel_id, "key": job.key})
            return None
        if self._notes.was_sent(job.key, channel.id):
            return None
        at = now()
        first = job.attempt == 1 and job.window is None and job.event is not None
        if first and self._over_rate(job, channel, at):
            return None
        content: IncidentEvent | Digest
        if job.window is not None:
            content = self._digest(channel, job.window)
        elif job.event is not None:
            content = job.event
        else:
            raise ValueError("a send job carries an event or a digest window")
        prepared = render(channel, content, self._context(content, job.note), int(at.timestamp()))
        return None if prepared is None else (channel, prepared)

    def _over_rate(self, job: Job, channel: Channel, at: datetime) -> bool:
        """Count the event in the channel's window; True when it is over the cap (then it is in the
        window's digest, or, for a machine channel, re-enqueued for a later window)."""
        assert job.event is not None
        window = RateWindow.at(at.timestamp())
        sent = self._notes.count(channel.id, window.minute, at) - 1
        if RateWindow(window.minute, sent).decide(channel.rate_per_minute) == "send":
            return False
        wait = (window.end - at).total_seconds()
        if channel.kind in MACHINE_KINDS:
            # Spread the excess over the following windows rather than all into the next one.
            later = (sent - channel.rate_per_minute) // channel.rate_per_minute
            self._queue.enqueue(job.message(), delay=wait + 60 * later)
            return True
        incident = job.event.incident
        entry = {
            "incident_id": incident.id,
            "title": incident.title[:200],
            "severity": incident.severity.value,
            "type": job.event.type,
        }
        self._notes.add_to_digest(channel.id, window.minute, job.event.id, entry, at)
        if sent == channel.rate_per_minute:  # the window's first overflow schedules its flush
            flush = Job(f"digest.{channel.id}.{window.minute}", channel.id, window=window.minute)
            self._queue.enqueue(flush.message(), delay=wait + 1)
        self._notes.record(_record(job, channel, http.Attempt("sent"), at, outcome="digested"))
        return True

    def _digest(self, channel: Channel, window: int) -> Digest:
        items = tuple(
            DigestItem(e["incident_id"], e["title"], Severity(e["severity"]), e["type"])  # type: ignore[arg-type]
            for e in self._notes.digest(channel.id, window)
        )
        return Digest(channel.id, self._service_name(channel.service_id), RateWindow(window).start, items)

    def _context(self, content: IncidentEvent | Digest, note: str | None) -> Context:
        if isinstance(content, Digest):
            return Context(service_name=content.service_name)
        incident = content.incident
        lines = [f"opened {iso(incident.opened_at)[:19]}Z", f"{incident.alert_count} alert(s)"]
        if incident.acknowledged_by:
            lines.append(f"acknowledged by {incident.acknowledged_by}")
        if incident.resolved_by:
            lines.append(f"resolved by {incident.resolved_by}")
        if note:
            lines.append(note)
        url = (
            f"{self._base_url}/api/incidents/{incident.id}" if self._base_url and not incident.test else None
        )
        return Context(
            self._service_name(incident.service_id),
            incident_url=url,
            timeline=tuple(lines),
            maintenance=self._maintenance(incident.service_id, content.occurred_at),
        )

    def _maintenance(self, service_id: str, at: datetime) -> str | None:
        """The window the service is in at ``at``, described for the message; None outside one."""
        windows = self._windows.for_service(service_id, cached=True)
        if not windows:
            return None
        from alertbridge import maintenance  # noqa: PLC0415  (loaded by the first service with windows)

        active = maintenance.active_until(windows, at)
        return maintenance.describe(*active) if active else None

    def _service_name(self, service_id: str) -> str:
        if service_id not in self._names:
            try:
                self._names[service_id] = self._services.get_service(service_id).name
            except NotFound:
                return service_id
        return self._names[service_id]

    def _deliver_all(self, ready: Sequence[tuple[str, Job, Channel, Prepared]]) -> list[http.Attempt]:
        """Send every prepared request; HTTP ones concurrently, each within its own timeout."""
        results: list[http.Attempt | None] = [None] * len(ready)
        posts = [(i, p) for i, (_, _, _, p) in enumerate(ready) if isinstance(p, Outbound)]
        if posts:
            with ThreadPoolExecutor(max_workers=min(SEND_WORKERS, len(posts))) as pool:
                sent = pool.map(
                    lambda p: http.send(p, timeout=self._timeout, allow_private=self._allow_private),
                    [p for _, p in posts],
                )
                for (i, _), attempt in zip(posts, sent, strict=True):
                    results[i] = attempt
        for i, (_, _, _, prepared) in enumerate(ready):
            if isinstance(prepared, Publish):
                results[i] = self._publish(prepared)
        return [r if r is not None else http.Attempt("failed", error="not sent") for r in results]

    def _publish(self, prepared: Publish) -> http.Attempt:
        if self._topic is None:
            return http.Attempt("failed", error="no notifications topic on this function")
        try:
            self._topic.publish(prepared.channel_id, prepared.message, prepared.subject)
        except ClientError as exc:
            return http.Attempt("retry", error=f"SNS {exc.response.get('Error', {}).get('Code', 'error')}")
        except BotoCoreError as exc:
            return http.Attempt("retry", error=f"SNS {type(exc).__name__}")
        return http.Attempt("sent")

    def _settle(self, job: Job, channel: Channel, attempt: http.Attempt) -> None:
        at = now()
        outcome, error = attempt.outcome, attempt.error
        if outcome == "sent":
            self._notes.mark_sent(job.key, channel.id, at)
        elif outcome == "retry" and job.attempt < self._max_attempts:
            retry = job._replace(attempt=job.attempt + 1)
            self._queue.enqueue(retry.message(), delay=http.backoff(job.attempt, attempt.retry_after))
        elif outcome == "retry":
            self._queue.dead_letter(job.message())
            outcome, error = "failed", f"{error}; attempts used up, in the DLQ"
        self._log(job, channel, attempt)
        if job.event is not None:
            self._notes.record(_record(job, channel, attempt, at, outcome=outcome, error=error))

    def _log(self, job: Job, channel: Channel, attempt: http.Attempt) -> None:
        # Never the URL, headers or body: a Slack or Teams URL is its own credential.
        logger.info(
            "notification attempt",
            extra={
                "channel_id": channel.id,
                "kind": channel.kind.value,
                "key": job.key,
                "attempt": job.attempt,
                "outcome": attempt.outcome,
                "status_code": attempt.status_code,
                "error": attempt.error,
            },
        )


def _record(
    job: Job, channel: Channel, attempt: http.Attempt, at: datetime, *, outcome: str, error: str | None = None
) -> AttemptRecord:
    assert job.event is not None
    return AttemptRecord(
        incident_id=job.event.incident.id,
        channel_id=channel.id,
        event_id=job.key,
        event_type=job.event.type,
        attempt=job.attempt,
        outcome=outcome,
        status_code=attempt.status_code,
        error=error if error is not None else attempt.error,
        at=at,
    )
