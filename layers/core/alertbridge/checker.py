"""The scheduled checker: run every minute by EventBridge Scheduler (every 5 s on the local stack).

It reads what is due in the due index (``store.due``: one Query per shard of ``SK <= now``, so its
cost follows the work that is due, not the number of sources or incidents) and acts on each item
by kind: ``esc`` an escalation step (``escalation``), ``src`` a source that may have turned silent,
``quiet`` an incident that may be resolved by timeout. An escalation step or a quiet incident is
claimed with a lease before it is acted on, so two runs at once, or a run after a dead one, never
act twice (a run that fails on an item leaves it for the next run once its lease is over); a
source's check needs no lease (see ``check_source``).

``quiet_now(service_id, at)`` says whether the service is in a maintenance window: a source of a
service in a window does not alarm (its check is put off by one interval). The function wires
``MaintenanceStore.in_window``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta

from alertbridge import decisions, escalation
from alertbridge.models.records import Source
from alertbridge.observability import logger
from alertbridge.retry import until_written
from alertbridge.silence import silent_alert
from alertbridge.store.bus import Publisher
from alertbridge.store.channels import ChannelStore
from alertbridge.store.deliveries import DeliveryStore
from alertbridge.store.due import DueIndex, DueItem
from alertbridge.store.heartbeats import HeartbeatStore
from alertbridge.store.incidents import Conflict, IncidentStore
from alertbridge.store.notifications import NotificationStore
from alertbridge.store.notify_queue import NotifyQueue
from alertbridge.store.sources import NotFound, SourceStore
from alertbridge.timestamps import iso

QuietNow = Callable[[str, datetime], bool]
TIMEOUT_TRIES = 5


class Checker:
    """The due items' orchestrator, on the adapters it is given. (A plain class, as the notifier:
    a dataclass would compile its generated methods at every cold start.)"""

    def __init__(
        self,
        *,
        due: DueIndex,
        notes: NotificationStore,
        incidents: IncidentStore,
        channels: ChannelStore,
        queue: NotifyQueue,
        sources: SourceStore,
        seen: HeartbeatStore,
        deliveries: DeliveryStore,
        publisher: Publisher,
        quiet_now: QuietNow,
    ) -> None:
        self.due = due
        self.notes = notes
        self.incidents = incidents
        self.channels = channels
        self.queue = queue
        self.sources = sources
        self.seen = seen
        self.deliveries = deliveries
        self.publisher = publisher
        self.quiet_now = quiet_now
        self.names: dict[str, str] = {}  # service id -> name

    def run(self, at: datetime) -> dict[str, int]:
        """Act on every due item; what was found, counted by kind and outcome ("src.silent": 1)."""
        counts: Counter[str] = Counter()
        for item in self.due.due(at):
            try:
                counts[f"{item.kind}.{self.act(item, at)}"] += 1
            except Exception:  # one item's failure never holds up the others; its lease runs out
                logger.exception("due item failed; retried after its lease", extra={"sk": item.sk})
                counts[f"{item.kind}.failed"] += 1
        return dict(counts)

    def act(self, item: DueItem, at: datetime) -> str:
        if item.kind == "src":
            return self.check_source(item, at)
        if not self.due.claim(item, at):
            return "claimed"
        if item.kind == "esc":
            return escalation.fire(
                item,
                at,
                due=self.due,
                notes=self.notes,
                incidents=self.incidents,
                channels=self.channels,
                queue=self.queue,
            )
        if item.kind == "quiet":
            return self.check_quiet(item, at)
        logger.warning("unknown due item dropped", extra={"sk": item.sk})
        self.due.done(item)
        return "unknown"

    def check_source(self, item: DueItem, at: datetime) -> str:
        """A source's due entry: silent (one incident opens), heard from (the entry moves to the
        last time heard + ``expect_every``), or moot."""
        # No lease here: every write below is conditional or idempotent (a second checker at once
        # publishes the same alert, whose event id the incident function drops), and an item whose
        # publish failed is simply still due at the next run.
        seen = self.seen.get(item.subject)
        if seen is None or seen.due_at != item.due:  # a delivery moved the entry since: an orphan
            self.due.done(item)
            return "moved"
        try:
            source: Source | None = self.sources.get_source(item.subject)
        except NotFound:
            source = None
        every = source.settings.expect_every if source is not None else None
        if source is None or every is None:  # removed, or no longer watched
            self.due.done(item)
            return "unwatched"
        if seen.silent_since is not None:  # marked by a run that failed to publish (or another run
            # at this moment): publish again, the same alert, which the incident function drops if it has it
            self.publisher.publish([silent_alert(source, self._service_name(source), seen.silent_since)])
            self.due.done(item)
            return "republished"
        heard = [t for t in (seen.seen_at, self.deliveries.latest_at(source.id)) if t is not None]
        last = max(heard) if heard else source.created_at
        deadline = last + timedelta(seconds=every)
        if deadline > at or self.quiet_now(source.service_id, at):
            later = deadline if deadline > at else at + timedelta(seconds=every)
            self.seen.watch(source.id, later, replacing=item.due, at=at)
            self.due.done(item)
            return "heard" if deadline > at else "maintenance"
        if self.seen.mark_silent(source.id, last, due=item.due):
            self.publisher.publish([silent_alert(source, self._service_name(source), last)])
            logger.info("source silent", extra={"source_id": source.id, "silent_since": iso(last)})
            self.due.done(item)
            return "silent"
        self.due.done(item)  # heard from meanwhile: that delivery or heartbeat moved the entry
        return "moved"

    def _service_name(self, source: Source) -> str:
        """For the silence incident's title; kept for the instance's life (services keep their name)."""
        if source.service_id not in self.names:
            try:
                self.names[source.service_id] = self.sources.get_service(source.service_id).name
            except NotFound:
                return source.service_id
        return self.names[source.service_id]

    def check_quiet(self, item: DueItem, at: datetime) -> str:
        """An incident's quiet entry (claimed): resolved by timeout when no alert came for the
        source's ``resolve_after_quiet``, else the entry moves to the last alert + that period."""

        def attempt() -> str:
            try:
                incident = self.incidents.get(item.subject)
                quiet = self.sources.get_source(incident.source_id).settings.resolve_after_quiet
            except NotFound:
                return "gone"
            if not incident.is_open or quiet is None:
                return "moot"
            deadline = decisions.last_alert_at(incident) + timedelta(seconds=quiet)
            if deadline > at:
                self.due.put("quiet", incident.id, deadline)
                return "alerted"
            updated = decisions.timeout(incident, quiet, at)
            self.incidents.save(decisions.Decision(writes={updated.seq: (updated, incident.version)}))
            logger.info("resolved by timeout", extra={"incident_id": incident.id, "quiet": quiet})
            return "resolved"

        try:
            outcome = until_written(attempt, tries=TIMEOUT_TRIES)
        except Conflict:  # the incident kept changing (alerts arriving): not quiet; look again later
            outcome = "busy"
            self.due.put("quiet", item.subject, at + timedelta(minutes=1))
        self.due.done(item)
        return outcome
