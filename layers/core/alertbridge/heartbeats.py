"""Quiet sources: heartbeats, silence incidents (``expect_every``) and resolve-after-quiet.

- :class:`Heartbeats` is what a delivery (ingest) or a heartbeat (``/hooks/heartbeat/{token}``)
  does: tell ``store.heartbeats`` the source was heard from (moving its due entry when it is stale)
  and, if a silence incident is open, publish its resolve ("deliveries resumed").
- :func:`schedule_quiet` is what the incident function does after its writes: index the quiet entry
  of each incident it opened for a source with ``resolve_after_quiet``.
- The scheduled checker's part (a due entry of kind ``src`` or ``quiet``) is in ``checker``.

Adapters come as arguments. Loaded by the ingest functions: nothing here imports the incident
logic.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from alertbridge.http import Answer
from alertbridge.models.records import Source, SourceSettings
from alertbridge.observability import logger
from alertbridge.silence import SILENCE_SOURCE, resumed_alert
from alertbridge.store.bus import Publisher, PublishError
from alertbridge.store.due import DueIndex
from alertbridge.store.heartbeats import HeartbeatStore, Seen
from alertbridge.store.sources import SourceStore
from alertbridge.timestamps import iso, now

if TYPE_CHECKING:
    from alertbridge.decisions import Decision


class Heartbeats:
    def __init__(self, sources: SourceStore, store: HeartbeatStore, publisher: Publisher) -> None:
        self._sources = sources
        self._store = store
        self._publisher = publisher

    def seen(self, source: Source, at: datetime, *, heartbeat: bool = False) -> None:
        """``source`` was heard from at ``at``: a delivery, or a heartbeat when ``heartbeat``."""
        if not heartbeat and source.settings.expect_every is None:
            return  # nothing watches it: no write at all
        before = self._store.touch(source.id, at, source.settings.expect_every, heartbeat=heartbeat)
        if before is not None and before.silent_since is not None:
            try:
                self.end_silence(source, before.silent_since, at)
            except PublishError:  # the vendor's retry must touch again, and publish the resolve again
                self._store.forget(source.id)
                raise

    def end_silence(
        self, source: Source, since: datetime, at: datetime, why: str = "deliveries resumed"
    ) -> None:
        """Publish the silence incident's resolve, then forget the silence (publish first: a failure
        leaves it marked, and the next delivery publishes the same resolve again)."""
        self._publisher.publish([resumed_alert(source, since, at, why)])
        self._store.resumed(source.id, since)
        logger.info("silence ended", extra={"source_id": source.id, "silent_since": iso(since), "why": why})

    def watch(self, source: Source, before: SourceSettings | None, at: datetime) -> None:
        """``source``'s settings were made (``before`` None) or changed from ``before``: a new or
        changed ``expect_every`` starts the watch afresh (due one interval from now); turning it off
        ends an open silence incident ("no longer expected")."""
        every = source.settings.expect_every
        if every is not None and (before is None or before.expect_every != every):
            self._store.watch(source.id, at + timedelta(seconds=every), replacing=None, at=at)
        elif every is None and before is not None and before.expect_every is not None:
            seen = self._store.get(source.id)
            if seen is not None and seen.silent_since is not None:
                self.end_silence(
                    source, seen.silent_since, at, "no longer expected to send (expect_every off)"
                )

    def last_seen(self, source_id: str) -> Seen | None:
        return self._store.get(source_id)

    def beat(self, token: str | None) -> Answer:
        """``GET|POST /hooks/heartbeat/{token}``: any source's token; the body is not read."""
        source = self._sources.authenticate(token) if token else None
        if source is None:
            return Answer.error(404, "unknown webhook token")
        at = now()
        self.seen(source, at, heartbeat=True)
        return Answer(
            200,
            {"source_id": source.id, "heartbeat_at": iso(at), "expect_every": source.settings.expect_every},
        )


def schedule_quiet(
    written: Iterable[Decision],
    settings_of: Callable[[str], SourceSettings | None],
    due: DueIndex,
    at: datetime,
) -> int:
    """The incident function, after its writes: each incident opened or reopened for a source with
    ``resolve_after_quiet`` gets its quiet entry (later alerts do not move it: the checker looks at
    the last alert when it falls due). How many were indexed."""
    count = 0
    for decision in written:
        started = {a.incident_id for a in decision.results if a.result in ("opened", "reopened")}
        for incident, _ in decision.writes.values():
            if incident.id not in started or not incident.is_open or incident.source == SILENCE_SOURCE:
                continue
            settings = settings_of(incident.source_id)
            if settings is None or settings.resolve_after_quiet is None:
                continue
            try:
                due.put("quiet", incident.id, at + timedelta(seconds=settings.resolve_after_quiet))
            except (BotoCoreError, ClientError):
                # The incident is written; failing the batch would not help (its redelivery is a
                # duplicate, which indexes nothing). `sources set --resolve-after-quiet` re-indexes.
                logger.exception("quiet entry not written", extra={"incident_id": incident.id})
                continue
            count += 1
    return count
