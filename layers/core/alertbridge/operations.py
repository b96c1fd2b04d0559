"""What the management API does, without HTTP: the business rules over the stores it is given.

Like :class:`alertbridge.ingest.Ingest`, every operation takes its adapters as arguments and
never builds them (``management`` passes the ones from ``runtime``; a test may pass its own), so
the rules read and test apart from routing and request parsing. Errors are the stores' own
(``NotFound``), ``vendors.UnknownSource``, ``PublishError``, or :class:`Refused` when the
request is understood but the state forbids it; ``management`` turns each into its HTTP answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from http import HTTPStatus
from typing import Literal

from alertbridge import decisions, maintenance, vendors
from alertbridge.http import Answer
from alertbridge.ingest import Ingest
from alertbridge.models.incident import Incident
from alertbridge.models.records import DeliveryRecord, RecoveryPolicy, Service, Source, SourceSettings
from alertbridge.retry import until_written
from alertbridge.status.board import ServiceStatus, in_maintenance, service_status
from alertbridge.status.reads import per_service
from alertbridge.store.bus import Publisher
from alertbridge.store.deliveries import DeliveryStore
from alertbridge.store.incidents import OPEN_STATUSES, Conflict, IncidentStore
from alertbridge.store.maintenance import MaintenanceStore
from alertbridge.store.sources import SourceStore
from alertbridge.timestamps import iso, now
from alertbridge.vendors import heroku

# Which incidents a listing asks for: a status, or "open" (any but resolved), or "all".
# tests/flow/test_management.py checks that it names every Status.
StatusFilter = Literal["open", "all", "triggered", "acknowledged", "monitoring", "resolved"]
ACTIVE_DAYS = 30  # a source is "active" when it opened an incident in this many days
MANUAL_TRIES = 5  # a person's acknowledge/resolve against concurrent incident writes
UNAUTHENTICATED = "operator"  # who acts when the request carries no IAM principal (the local stack)


class Refused(Exception):
    """The request is understood, but the state of things forbids it (HTTP 409)."""


# --- services and sources --------------------------------------------------------------------------
@dataclass(frozen=True)
class SourceHealth:
    source: Source
    last_delivery_at: datetime | None
    active: bool  # opened an incident in the last ACTIVE_DAYS days


@dataclass(frozen=True)
class ServiceOverview:
    service: Service
    status: ServiceStatus
    sources: list[SourceHealth]


def create_service(sources: SourceStore, name: str) -> Service:
    return sources.create_service(name)


def show_service(
    sources: SourceStore, deliveries: DeliveryStore, incidents: IncidentStore, service_id: str
) -> ServiceOverview:
    service = sources.get_service(service_id)
    return ServiceOverview(
        service,
        service_status(incidents.list_open(service_id)),
        [source_health(deliveries, incidents, s) for s in sources.list_sources(service_id)],
    )


def add_source(
    sources: SourceStore, service_id: str, kind: str, settings: SourceSettings
) -> tuple[Source, str]:
    """A new source and its token (shown once). An unknown kind raises ``vendors.UnknownSource``."""
    vendors.module(kind)
    return sources.add_source(service_id, kind, settings)


def list_sources(
    sources: SourceStore, deliveries: DeliveryStore, incidents: IncidentStore, service_id: str
) -> list[SourceHealth]:
    sources.get_service(service_id)  # an unknown service is a 404, not an empty list
    return [source_health(deliveries, incidents, s) for s in sources.list_sources(service_id)]


def source_health(deliveries: DeliveryStore, incidents: IncidentStore, record: Source) -> SourceHealth:
    """When it last sent anything, and whether it opened an incident lately (two one-item reads)."""
    latest, _ = deliveries.list_for_source(record.id, limit=1)
    since = iso(now() - timedelta(days=ACTIVE_DAYS))
    recent, _ = incidents.for_service(record.service_id, source=record.id, since=since, limit=1)
    return SourceHealth(record, latest[0].received_at if latest else None, bool(recent))


def rotate_token(sources: SourceStore, source_id: str) -> tuple[Source, str]:
    return sources.rotate_token(source_id)


def change_settings(
    sources: SourceStore,
    source_id: str,
    *,
    secret: str | None = None,
    clear_secret: bool = False,
    recovery_policy: RecoveryPolicy | None = None,
    severity_filter: tuple[int, ...] | None = None,
    clear_severity_filter: bool = False,
) -> Source:
    """What is given replaces what was set; what is not given stays; ``clear_*`` removes it."""
    current = sources.get_source(source_id).settings
    merged = SourceSettings(
        recovery_policy=recovery_policy or current.recovery_policy,
        severity_filter=None if clear_severity_filter else (severity_filter or current.severity_filter),
        secret=None if clear_secret else (secret or current.secret),
    )
    return sources.update_settings(source_id, merged)


def send_test_alert(
    sources: SourceStore,
    deliveries: DeliveryStore,
    publisher: Publisher,
    windows: MaintenanceStore,
    incidents: IncidentStore,
    source_id: str,
) -> Answer:
    """The source's sample through the real ingest path (mapping, raw store, bus), marked test."""
    record = sources.get_source(source_id)
    body = vendors.sample(record.source)
    headers = {"Content-Type": "application/json", "User-Agent": "alertbridge-test-alert"}
    if record.settings.secret:  # sign it the way the vendor would
        headers["Heroku-Webhook-Hmac-SHA256"] = heroku.sign(record.settings.secret, body)
    ingest = Ingest(
        vendors.module(record.source), sources, deliveries, publisher, windows, incidents.has_open
    )
    return ingest.receive(record, body, headers, test=True)


# --- incidents -------------------------------------------------------------------------------------
def list_incidents(
    sources: SourceStore,
    incidents: IncidentStore,
    *,
    status: StatusFilter,
    service_id: str | None,
    source: str | None,
    limit: int,
    cursor: str | None,
) -> tuple[list[Incident], str | None]:
    """Newest first. One service pages with a cursor; across services, the newest ``limit``."""
    statuses = {"open": OPEN_STATUSES, "all": None}.get(status, (status,))
    if service_id:
        sources.get_service(service_id)
        return incidents.for_service(service_id, statuses=statuses, source=source, limit=limit, cursor=cursor)
    found: list[Incident] = []
    for service in sources.list_services():
        page, _ = incidents.for_service(service.id, statuses=statuses, source=source, limit=limit)
        found += page
    return sorted(found, key=lambda i: i.opened_at, reverse=True)[:limit], None


def show_incident(incidents: IncidentStore, incident_id: str) -> Incident:
    return incidents.get(incident_id)


def act(
    incidents: IncidentStore,
    incident_id: str,
    action: Literal["acknowledge", "resolve"],
    *,
    principal: str | None,
    note: str | None = None,
) -> Incident:
    """A person acknowledges or resolves. ``principal`` is the authenticated caller (the IAM
    principal on AWS) and is what is recorded; without one, :data:`UNAUTHENTICATED`. ``note`` is
    what the caller wrote about it: kept in the timeline text, never taken for who acted."""
    who = principal or UNAUTHENTICATED

    def attempt() -> Incident:
        current = incidents.get(incident_id)
        try:
            updated = decisions.manual(current, action, who, now(), note)
        except ValueError as exc:
            raise Refused(str(exc)) from exc
        [saved] = incidents.save(decisions.Decision(writes={updated.seq: (updated, current.version)}))
        return saved

    try:
        return until_written(attempt, tries=MANUAL_TRIES)
    except Conflict as exc:
        raise Refused("the incident kept changing; try again") from exc


def service_statuses(
    sources: SourceStore, incidents: IncidentStore, windows: MaintenanceStore
) -> list[tuple[Service, ServiceStatus, list[Incident]]]:
    """Every service with its status and its open incidents, oldest first (test and monitoring
    ones listed too: operators see everything the status page leaves out); ``maintenance`` while
    one of its windows is active."""
    at = now()

    def read(service: Service) -> tuple[list[Incident], bool]:
        active = maintenance.active_window(windows.for_service(service.id), at) is not None
        return incidents.list_open(service.id), active

    return [
        (service, in_maintenance(service_status(open_), active), sorted(open_, key=lambda i: i.opened_at))
        for service, (open_, active) in per_service(sources, read)
    ]


# --- deliveries ------------------------------------------------------------------------------------
def list_deliveries(
    sources: SourceStore,
    deliveries: DeliveryStore,
    *,
    only: Literal["rejected", "suppressed", "unpublished"] | None,
    source_id: str | None,
    service_id: str | None,
    limit: int,
    cursor: str | None = None,
) -> tuple[list[DeliveryRecord], str | None]:
    """Newest first, of one source, of one service's sources, or of every source; the filter
    (``only``) applies before the limit. The cursor for the next page, None after the last."""
    if source_id:
        wanted = [sources.get_source(source_id)]
    else:
        services = [sources.get_service(service_id)] if service_id else sources.list_services()
        wanted = [src for svc in services for src in sources.list_sources(svc.id)]
    return deliveries.list_for_sources([s.id for s in wanted], limit=limit, cursor=cursor, only=only)


def show_delivery(deliveries: DeliveryStore, delivery_id: str) -> tuple[DeliveryRecord, bytes]:
    return deliveries.get(delivery_id)


def replay(
    sources: SourceStore,
    deliveries: DeliveryStore,
    publisher: Publisher,
    windows: MaintenanceStore,
    incidents: IncidentStore,
    delivery_id: str,
) -> Answer:
    """Run a kept delivery through today's mapping again. Idempotent: event ids are the same."""
    record, body = deliveries.get(delivery_id)
    if record.status_code in (HTTPStatus.UNAUTHORIZED, HTTPStatus.NOT_FOUND):
        raise Refused("a delivery that failed authentication is never replayed")
    source = sources.get_source(record.source_id)
    ingest = Ingest(
        vendors.module(source.source), sources, deliveries, publisher, windows, incidents.has_open
    )
    return ingest.receive(source, body, record.headers, replay_of=record)
