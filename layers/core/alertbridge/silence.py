"""Quiet sources, the pure part: the silence incident's canonical alerts, when a delivery moves a
source's due entry, and when an incident was last alerted (no AWS; ``heartbeats`` orchestrates).

A source with ``expect_every`` that receives nothing (no delivery, no heartbeat) for that long
gets ONE incident of source ``alertbridge``, dedup key ``silence:<source id>``, through the real
incident path: a canonical alert on the bus, like a vendor's. Its event ids are deterministic from
the source and the moment it was last seen, so a checker that runs twice, or late, or publishes
again after a failure, gives the same alert; the next delivery or heartbeat publishes the resolve
("deliveries resumed"), whose vendor time is later than the trigger's, so the two can arrive in
either order.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from alertbridge.models.parts import Action
from alertbridge.models.records import Source
from alertbridge.timestamps import format_duration

if TYPE_CHECKING:
    from alertbridge.models.alert import CanonicalAlert

SILENCE_SOURCE = "alertbridge"  # the canonical source of the incidents alertbridge itself opens
# A delivery moves its source's due entry only when the entry this function instance last wrote is
# older than this share of the interval: a busy source costs about 2 / MOVE_FRACTION writes an
# interval per warm instance, not a write per delivery (the checker reads the latest delivery before
# it alarms, so an entry that was not moved never opens anything wrongly).
MOVE_FRACTION = 0.5


def dedup_key(source_id: str) -> str:
    return f"silence:{source_id}"


def _event_id(kind: str, source_id: str, since: datetime) -> str:
    return hashlib.sha256(f"{kind}\x00{source_id}\x00{since.isoformat()}".encode()).hexdigest()[:32]


def _alert(
    source: Source, action: Action, event_id: str, title: str, description: str, at: datetime
) -> CanonicalAlert:
    # The alert's model loads with the first silence alert: the checker, which reads should_move
    # through store.heartbeats, builds it only when a source falls silent.
    from alertbridge.models.alert import CanonicalAlert  # noqa: PLC0415

    every = source.settings.expect_every
    return CanonicalAlert(
        event_id=event_id,
        delivery_id=f"silence.{source.id}",
        service_id=source.service_id,
        source_id=source.id,
        source=SILENCE_SOURCE,
        action=action,
        dedup_key=dedup_key(source.id),
        severity=source.settings.silence_severity,
        title=title,
        description=description,
        occurred_at=at,
        received_at=at,
        tags={"silent_source": source.source, "expect_every": str(every)}
        if every
        else {"silent_source": source.source},
        raw_ref=f"silence/{source.id}",
    )


def silent_alert(source: Source, service_name: str, since: datetime) -> CanonicalAlert:
    """The trigger: nothing arrived from ``source`` since ``since``. Its vendor time is the moment
    the source became silent (``since`` + ``expect_every``): the same however late the checker."""
    every = source.settings.expect_every or 0
    when = since.strftime("%Y-%m-%d %H:%M:%S UTC")
    return _alert(
        source,
        Action.TRIGGER,
        _event_id("silent", source.id, since),
        f"{source.source} for {service_name} has been silent since {when}",
        f"No delivery and no heartbeat from source {source.id} for {format_duration(every)} "
        f"(expect_every); the next one resolves this.",
        since + timedelta(seconds=every),
    )


def resumed_alert(
    source: Source, since: datetime, at: datetime, why: str = "deliveries resumed"
) -> CanonicalAlert:
    """The recovery: ``source`` was heard from again at ``at`` (or is no longer expected to send)."""
    return _alert(
        source, Action.RESOLVE, _event_id("resumed", source.id, since), f"{source.source}: {why}", why, at
    )


def should_move(last_moved: datetime | None, at: datetime, every: int) -> bool:
    """Whether a delivery at ``at`` moves the due entry this instance last moved at ``last_moved``."""
    if last_moved is None or at < last_moved:
        return True
    return (at - last_moved).total_seconds() >= every * MOVE_FRACTION
