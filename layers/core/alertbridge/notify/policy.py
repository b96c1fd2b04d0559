"""Who is told what, how often, and when to escalate: pure decisions, no clock of their own.

- ``wants``: a channel's notification rule (event types, lowest severity, test incidents).
- ``RateWindow``: the per-channel rate cap over fixed one-minute windows (``floor(unix / 60)``):
  events within the cap go out now, the rest go into that window's digest, so a storm of 1,000
  incidents is ``cap`` messages and one digest per channel and minute, not 1,000.
- Escalation: a service's ordered steps ("after N minutes still triggered, notify these channels"),
  timed from the moment the incident (last) became triggered: a reopen restarts the clock.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, NamedTuple, Self

from alertbridge.models.channel import Channel
from alertbridge.models.incident_event import IncidentEvent
from alertbridge.timestamps import parse_duration

WINDOW_SECONDS = 60
MAX_AFTER = 24 * 3600  # an escalation step later than a day is not escalation any more


def wants(channel: Channel, event: IncidentEvent) -> bool:
    """Whether ``channel``'s rule asks for ``event``."""
    incident = event.incident
    if incident.test and not channel.test_incidents:
        return False
    if event.type not in channel.events:
        return False
    # A level change is judged by the higher of its two levels: a channel that heard of the incident
    # at its old level also hears that it dropped below the channel's threshold.
    severity = max(
        (s for s in (incident.severity, event.previous_severity) if s is not None), key=lambda s: s.rank
    )
    return severity.rank >= channel.min_severity.rank


class RateWindow(NamedTuple):
    """One channel's current minute window and how many messages it has already sent in it."""

    minute: int  # the window: minutes since the epoch
    sent: int = 0

    @classmethod
    def at(cls, now: float, sent: int = 0) -> RateWindow:
        """The window containing unix time ``now`` (seconds)."""
        return cls(minute=math.floor(now / WINDOW_SECONDS), sent=sent)

    @property
    def start(self) -> datetime:
        return datetime.fromtimestamp(self.minute * WINDOW_SECONDS, tz=UTC)

    @property
    def end(self) -> datetime:
        """When the window's digest is due: the first moment of the next window."""
        return self.start + timedelta(seconds=WINDOW_SECONDS)

    def decide(self, cap: int) -> Literal["send", "digest"]:
        """'send' while fewer than ``cap`` went out in this window, else 'digest'."""
        if cap < 1:
            raise ValueError("a rate cap is at least 1 per minute")
        return "send" if self.sent < cap else "digest"


class _Step(NamedTuple):
    after_seconds: int
    channel_ids: tuple[str, ...]


class EscalationStep(_Step):
    """After ``after_seconds`` still triggered, notify ``channel_ids``; checked when made. (A
    NamedTuple: a frozen dataclass would compile its generated methods at every cold start.)"""

    __slots__ = ()

    def __new__(cls, after_seconds: int, channel_ids: tuple[str, ...]) -> Self:
        if not 0 <= after_seconds <= MAX_AFTER:
            raise ValueError(f"after must be between 0 and {MAX_AFTER} seconds")
        if not channel_ids:
            raise ValueError("an escalation step notifies at least one channel")
        return super().__new__(cls, after_seconds, channel_ids)

    @classmethod
    def _make(cls, iterable: Iterable[Any]) -> Self:  # type: ignore[override]  # _replace checks too
        return cls(*iterable)


def parse_after(text: str) -> int:
    """'0', '30s', '15m' or '1h' -> seconds."""
    if text.strip() == "0":
        return 0
    seconds = parse_duration(text, "after (0 or a duration)")
    if seconds > MAX_AFTER:
        raise ValueError(f"after must be at most 24h (got {text!r})")
    return seconds


def check_steps(steps: Sequence[EscalationStep]) -> None:
    """Steps must come in the order they fire; raises ValueError otherwise."""
    for earlier, later in itertools.pairwise(steps):
        if later.after_seconds < earlier.after_seconds:
            raise ValueError("escalation steps must be in order of their 'after'")


def next_step(
    steps: Sequence[EscalationStep], fired_index: int | None, epoch: datetime
) -> tuple[int, datetime] | None:
    """The step to schedule after ``fired_index`` (None: none fired yet) and when it is due,
    counted from ``epoch``, the moment the incident became triggered; None when all have fired.
    """
    index = 0 if fired_index is None else fired_index + 1
    if index >= len(steps):
        return None
    return index, epoch + timedelta(seconds=steps[index].after_seconds)
