"""What the status page reads: its settings (one BatchGetItem), services (Query GSI1 +
BatchGetItem), then per public service, in parallel: one Query of the index's projection that yields
its open incidents and those opened in the last week (or the history window, when longer) and
closed; which of its sources affect its status (Query GSI1 + BatchGetItem of three attributes);
and the public updates of the incidents it shows (BatchGetItem of ``PUB#`` items, when it shows
any). A service that is not public costs nothing past the service list. Kept apart from the handler
so the management API can read per service without loading the HTML."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from alertbridge.models.records import Service, StatusPageSettings
from alertbridge.status.board import Snapshot
from alertbridge.timestamps import iso

if TYPE_CHECKING:
    from alertbridge.store.incidents import IncidentStore
    from alertbridge.store.sources import SourceStore
    from alertbridge.store.status_page import StatusPageStore

RESOLVED_LOOKBACK = timedelta(days=7)  # recently resolved: among the incidents opened in the last week
WORKERS = 16  # services read at a time (below runtime's pool of 20 connections)


def per_service[T](
    sources: SourceStore, read: Callable[[Service], T], *, workers: int = WORKERS
) -> list[tuple[Service, T]]:
    """Every service, in name order, with what ``read`` gives for it (services read in parallel)."""
    services = sources.list_services()
    if workers <= 1 or len(services) <= 1:
        return [(s, read(s)) for s in services]
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="status") as pool:
        return list(zip(services, pool.map(read, services), strict=True))


def collect(
    sources: SourceStore,
    incidents: IncidentStore,
    page: StatusPageStore,
    at: datetime,
    *,
    workers: int = WORKERS,
) -> tuple[StatusPageSettings, list[Snapshot]]:
    """The page's settings, and every public service with its open and recently resolved
    incidents, its sources' say on its status and its incidents' public updates. Recently resolved
    ones are looked for among the incidents opened in the last week (or the history window)."""
    settings = page.settings()
    window = timedelta(hours=settings.history_hours)
    closed_since = iso(at - max(RESOLVED_LOOKBACK, window))

    def read(service: Service) -> Snapshot:
        if not service.public:
            return Snapshot(service, [], [])
        found = incidents.summaries(service.id, closed_since)
        resolved = [
            i for i in found if not i.is_open and i.resolved_at is not None and at - i.resolved_at <= window
        ]
        opened = [i for i in found if i.is_open]
        counted = sources.status_sources(service.id)
        shown = [i.id for i in (*opened, *resolved) if counted.get(i.source_id) and not i.test]
        return Snapshot(service, opened, resolved, counted, page.updates(shown) if shown else {})

    return settings, [snap for _, snap in per_service(sources, read, workers=workers)]
