"""What the notifier's own queue carries: one thing to send on one channel (``Job``). Its own
module so that the scheduled checker, which enqueues escalations, loads none of the senders."""

from __future__ import annotations

from typing import Any, NamedTuple

from alertbridge.models.incident_event import IncidentEvent


class Job(NamedTuple):
    """One thing to send on one channel: an event (or an escalation of one), or a window's digest.

    ``key`` names what is sent, for "sent once": the event id, ``esc.<incident>.<epoch>.<step>``
    or ``digest.<channel>.<window>``.
    """

    key: str
    channel_id: str
    attempt: int = 1
    event: IncidentEvent | None = None
    window: int | None = None
    note: str | None = None  # a line the message adds (why an escalation is sent)

    def message(self) -> dict[str, Any]:
        return {
            "notify": "send",
            "key": self.key,
            "channel_id": self.channel_id,
            "attempt": self.attempt,
            "event": self.event.model_dump(mode="json") if self.event else None,
            "window": self.window,
            "note": self.note,
        }

    @classmethod
    def of(cls, body: dict[str, Any]) -> Job:
        event = body.get("event")
        return cls(
            key=str(body["key"]),
            channel_id=str(body["channel_id"]),
            attempt=int(body["attempt"]),
            event=IncidentEvent.model_validate(event) if event else None,
            window=body.get("window"),
            note=body.get("note"),
        )
