"""Escalation steps, the scheduled checker's part (``checker`` reads the due index and claims).

The notifier indexes step 0 of a service's escalation when an incident opens or reopens
(``store.due``: ``DUE#<shard>`` items sorted by due time); the checker claims each due item with
a lease (a second or late run skips what is claimed and retries what a dead run left), and, when
the incident is still ``triggered`` in the same epoch, this enqueues the step's sends on
NotifyQueue and indexes the next step. An acknowledge or resolve ends the chain (the incident
is not triggered); a reopen starts a new chain with a new epoch, and the old one stops because the
incident was (re)opened after its epoch. The sends are ordinary notifier jobs, keyed per
(incident, epoch, step, channel), so a step is never sent twice to a channel.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from alertbridge.models.incident import Incident, Status
from alertbridge.models.incident_event import IncidentEvent, IncidentSnapshot, event_id
from alertbridge.notify.job import Job
from alertbridge.notify.policy import next_step
from alertbridge.observability import logger
from alertbridge.store.sources import NotFound

if TYPE_CHECKING:
    from alertbridge.store.channels import ChannelStore
    from alertbridge.store.due import DueIndex, DueItem
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


def fire(
    item: DueItem,
    at: datetime,
    *,
    due: DueIndex,
    notes: NotificationStore,
    incidents: IncidentStore,
    channels: ChannelStore,
    queue: NotifyQueue,
) -> str:
    """A due escalation step (claimed by the caller): when the incident is still triggered in the
    same epoch, enqueue the step's sends and index the next step. What it found, for the log."""
    step_no, epoch = int(item.attrs["step"]), datetime.fromisoformat(item.attrs["epoch"])
    try:
        incident: Incident | None = incidents.get(item.subject)
    except NotFound:
        incident = None
    outcome = "moot"
    if incident is not None and still_triggered(incident, epoch):
        steps = channels.escalation(incident.service_id)
        if step_no < len(steps):
            step = steps[step_no]
            event = escalation_event(incident, at)
            waited = int((at - epoch).total_seconds())
            minutes, seconds = divmod(waited, 60)
            note = f"escalation step {step_no + 1}: still triggered after {minutes}m{seconds:02d}s"
            key = f"esc.{incident.id}.{int(epoch.timestamp() * 1000)}.{step_no}"
            for channel_id in step.channel_ids:
                queue.enqueue(Job(key, channel_id, event=event, note=note).message())
            following = next_step(steps, step_no, epoch)
            if following is not None:
                notes.schedule(incident.id, following[0], following[1], epoch)
            outcome = "fired"
            logger.info(
                "escalation step fired",
                extra={"incident_id": incident.id, "step": step_no, "channels": len(step.channel_ids)},
            )
    due.done(item)
    return outcome
