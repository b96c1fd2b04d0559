"""The escalation checker: run every minute by EventBridge Scheduler (every few seconds locally).

The notifier indexes step 0 of a service's escalation when an incident opens or reopens
(``store.notifications``: ``DUE#<shard>`` items sorted by due time); this reads what is due, claims
each item with a lease (a second or late run skips what is claimed and retries what a dead run
left), and, when the incident is still ``triggered`` in the same epoch, enqueues the step's sends
on NotifyQueue and indexes the next step. An acknowledge or resolve ends the chain (the incident
is not triggered); a reopen starts a new chain with a new epoch, and the old one stops because the
incident was (re)opened after its epoch. The sends are ordinary notifier jobs, keyed per
(incident, epoch, step, channel), so a step is never sent twice to a channel.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from alertbridge.models.incident import Incident, Status
from alertbridge.models.incident_event import IncidentEvent, IncidentSnapshot, event_id
from alertbridge.notifier import Job
from alertbridge.notify.policy import next_step
from alertbridge.observability import logger
from alertbridge.store.sources import NotFound

if TYPE_CHECKING:
    from alertbridge.store.channels import ChannelStore
    from alertbridge.store.incidents import IncidentStore
    from alertbridge.store.notifications import NotificationStore
    from alertbridge.store.notify_queue import NotifyQueue

_STARTS = ("opened", "reopened")


def still_triggered(incident: Incident, epoch: datetime) -> bool:
    """Triggered, and not (re)opened since ``epoch``: the chain that started then is still live."""
    if incident.status is not Status.TRIGGERED:
        return False
    starts = [e.at for e in incident.timeline if e.kind in _STARTS]
    return not starts or max(starts) <= epoch


def escalation_event(incident: Incident, at: datetime) -> IncidentEvent:
    """What an escalation step sends: the incident as it is, 'escalated' by the timer."""
    return IncidentEvent(
        id=event_id(incident.id, incident.version, "incident.escalated"),
        type="incident.escalated",
        version=incident.version,
        occurred_at=at,
        by="timeout",
        incident=IncidentSnapshot.of(incident),
    )


def check(
    notes: NotificationStore,
    incidents: IncidentStore,
    channels: ChannelStore,
    queue: NotifyQueue,
    at: datetime,
) -> int:
    """Act on every due escalation step; how many steps fired."""
    fired = 0
    for item in notes.due(at):
        if not notes.claim(item, at):
            continue
        try:
            incident: Incident | None = incidents.get(item.incident_id)
        except NotFound:
            incident = None
        if incident is not None and still_triggered(incident, item.epoch):
            steps = channels.escalation(incident.service_id)
            if item.step < len(steps):
                step = steps[item.step]
                event = escalation_event(incident, at)
                waited = int((at - item.epoch).total_seconds())
                minutes, seconds = divmod(waited, 60)
                note = f"escalation step {item.step + 1}: still triggered after {minutes}m{seconds:02d}s"
                key = f"esc.{incident.id}.{int(item.epoch.timestamp() * 1000)}.{item.step}"
                for channel_id in step.channel_ids:
                    queue.enqueue(Job(key, channel_id, event=event, note=note).message())
                following = next_step(steps, item.step, item.epoch)
                if following is not None:
                    notes.schedule(incident.id, following[0], following[1], item.epoch)
                fired += 1
                logger.info(
                    "escalation step fired",
                    extra={"incident_id": incident.id, "step": item.step, "channels": len(step.channel_ids)},
                )
        notes.done(item)
    return fired
