"""What the status page reads: services (Query GSI1 + BatchGetItem), then per service, in parallel,
one Query of the index's projection that yields its open incidents and those opened in the last week
and closed. Kept apart from the handler so the management API can read per service without loading
the HTML."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from alertbridge.models.records import Service
from alertbridge.status.board import Snapshot
from alertbridge.timestamps import iso

if TYPE_CHECKING:
    from alertbridge.store.incidents import IncidentStore
    from alertbridge.store.sources import SourceStore

RECENT = timedelta(hours=24)  # "recently resolved"
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
    sources: SourceStore, incidents: IncidentStore, at: datetime, *, workers: int = WORKERS
) -> list[Snapshot]:
    """Every service with its open and recently resolved incidents: one index Query per service.
    Recently resolved ones are looked for among the incidents opened in the last week."""
    closed_since = iso(at - RESOLVED_LOOKBACK)

    def split(service: Service) -> Snapshot:
        found = incidents.summaries(service.id, closed_since)
        resolved = [
            i for i in found if not i.is_open and i.resolved_at is not None and at - i.resolved_at <= RECENT
        ]
        return Snapshot(service, [i for i in found if i.is_open], resolved)

    return [snap for _, snap in per_service(sources, split, workers=workers)]
