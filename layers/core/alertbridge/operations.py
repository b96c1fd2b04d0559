"""What the management API does, without HTTP: the business rules over the stores it is given.

Like :class:`alertbridge.ingest.Ingest`, every operation takes its adapters as arguments and
never builds them (``management`` passes the ones from ``runtime``; a test may pass its own), so
the rules read and test apart from routing and request parsing. Errors are the stores' own
(``NotFound``), ``vendors.UnknownSource``, ``PublishError``, or :class:`Refused` when the
request is understood but the state forbids it; ``management`` turns each into its HTTP answer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from http import HTTPStatus
from typing import Any, Literal

from pydantic import ValidationError

from alertbridge import decisions, maintenance, rules, vendors
from alertbridge.heartbeats import Heartbeats
from alertbridge.http import Answer
from alertbridge.ingest import Ingest
from alertbridge.models.alert import CanonicalAlert
from alertbridge.models.delivery import DeliveryRecord
from alertbridge.models.incident import Incident
from alertbridge.models.parts import Severity
from alertbridge.models.records import (
    PublicPhase,
    PublicUpdate,
    RecoveryPolicy,
    Service,
    Source,
    SourceSettings,
    StatusPageSettings,
)
from alertbridge.models.rule import MAX_RULES, Rule, RuleSet
from alertbridge.normalize import normalize
from alertbridge.retry import until_written
from alertbridge.silence import SILENCE_SOURCE
from alertbridge.status.board import ServiceStatus, in_maintenance, service_status
from alertbridge.status.reads import per_service
from alertbridge.store.deliveries import DeliveryStore
from alertbridge.store.due import DueIndex
from alertbridge.store.heartbeats import Seen
from alertbridge.store.incidents import OPEN_STATUSES, Conflict, IncidentStore
from alertbridge.store.maintenance import MaintenanceStore
from alertbridge.store.rules import RuleStore
from alertbridge.store.sources import NotFound, SourceStore
from alertbridge.store.status_page import StatusPageStore, TooManyUpdates
from alertbridge.text import validation_message
from alertbridge.timestamps import iso, now
from alertbridge.vendors import heroku
from alertbridge.vendors.base import Delivery, PayloadError, VendorMapping

# Which incidents a listing asks for: a status, or "open" (any but resolved), or "all".
# tests/flow/test_management.py checks that it names every Status.
StatusFilter = Literal["open", "all", "triggered", "acknowledged", "monitoring", "resolved"]
ACTIVE_DAYS = 30  # a source is "active" when it opened an incident in this many days
MANUAL_TRIES = 5  # a person's acknowledge/resolve against concurrent incident writes
UNAUTHENTICATED = "operator"  # who acts when the request carries no IAM principal (the local stack)

# The webhook path for a source's mapping (``runtime.ingest``): replays and test alerts run it.
IngestFor = Callable[[VendorMapping], Ingest]


class Refused(Exception):
    """The request is understood, but the state of things forbids it (HTTP 409)."""


# --- services and sources --------------------------------------------------------------------------
@dataclass(frozen=True)
class SourceHealth:
    source: Source
    last_delivery_at: datetime | None
    active: bool  # opened an incident in the last ACTIVE_DAYS days
    seen: Seen | None = None  # heartbeats and silence (sources with expect_every, or heartbeats)


@dataclass(frozen=True)
class ServiceOverview:
    service: Service
    status: ServiceStatus
    sources: list[SourceHealth]


def create_service(sources: SourceStore, name: str) -> Service:
    return sources.create_service(name)


def update_service(sources: SourceStore, service_id: str, changes: dict[str, object]) -> Service:
    """Change what the public page shows of a service; what is not given stays (None: default)."""
    return sources.update_service(service_id, changes)


def show_service(
    sources: SourceStore,
    deliveries: DeliveryStore,
    incidents: IncidentStore,
    heartbeats: Heartbeats,
    service_id: str,
) -> ServiceOverview:
    service = sources.get_service(service_id)
    return ServiceOverview(
        service,
        service_status(incidents.list_open(service_id)),
        [source_health(deliveries, incidents, heartbeats, s) for s in sources.list_sources(service_id)],
    )


def add_source(
    sources: SourceStore, heartbeats: Heartbeats, service_id: str, kind: str, settings: SourceSettings
) -> tuple[Source, str]:
    """A new source and its token (shown once). An unknown kind raises ``vendors.UnknownSource``;
    ``heartbeat`` is a source that only sends heartbeats (no vendor mapping)."""
    if kind != vendors.HEARTBEAT:
        vendors.module(kind)
    record, token = sources.add_source(service_id, kind, settings)
    heartbeats.watch(record, None, now())
    return record, token


def list_sources(
    sources: SourceStore,
    deliveries: DeliveryStore,
    incidents: IncidentStore,
    heartbeats: Heartbeats,
    service_id: str,
) -> list[SourceHealth]:
    sources.get_service(service_id)  # an unknown service is a 404, not an empty list
    return [source_health(deliveries, incidents, heartbeats, s) for s in sources.list_sources(service_id)]


def source_health(
    deliveries: DeliveryStore, incidents: IncidentStore, heartbeats: Heartbeats, record: Source
) -> SourceHealth:
    """When it last sent anything, whether it opened an incident lately, its last heartbeat and
    whether it is silent (three one-item reads)."""
    latest = deliveries.latest_at(record.id)
    since = iso(now() - timedelta(days=ACTIVE_DAYS))
    recent, _ = incidents.for_service(record.service_id, source=record.id, since=since, limit=1)
    return SourceHealth(record, latest, bool(recent), heartbeats.last_seen(record.id))


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
    quiet: QuietChange | None = None,
) -> Source:
    """What is given replaces what was set; what is not given stays; ``clear_*`` removes it."""
    current = sources.get_source(source_id).settings
    merged = SourceSettings(
        recovery_policy=recovery_policy or current.recovery_policy,
        severity_filter=None if clear_severity_filter else (severity_filter or current.severity_filter),
        secret=None if clear_secret else (secret or current.secret),
        **(quiet.merged(current) if quiet else _quiet_fields(current)),
    )
    record = sources.update_settings(source_id, merged)
    if quiet is not None:
        quiet.apply(record, current)
    return record


def _quiet_fields(settings: SourceSettings) -> dict[str, Any]:
    return {k: getattr(settings, k) for k in ("expect_every", "silence_severity", "resolve_after_quiet")}


@dataclass(frozen=True)
class QuietChange:
    """A change of a source's silence and quiet settings (``sources set --expect-every ...``), with
    the adapters that act on it: a new ``expect_every`` starts the watch, turning it off ends an
    open silence incident, a given ``resolve_after_quiet`` indexes the source's open incidents
    (again: setting it anew repairs an entry the incident function failed to write)."""

    heartbeats: Heartbeats
    incidents: IncidentStore
    due: DueIndex
    expect_every: int | None = None
    clear_expect_every: bool = False
    silence_severity: Severity | None = None
    resolve_after_quiet: int | None = None
    clear_resolve_after_quiet: bool = False

    def merged(self, current: SourceSettings) -> dict[str, Any]:
        return {
            "expect_every": None if self.clear_expect_every else (self.expect_every or current.expect_every),
            "silence_severity": self.silence_severity or current.silence_severity,
            "resolve_after_quiet": None
            if self.clear_resolve_after_quiet
            else (self.resolve_after_quiet or current.resolve_after_quiet),
        }

    def apply(self, record: Source, before: SourceSettings) -> None:
        at = now()
        self.heartbeats.watch(record, before, at)
        quiet = record.settings.resolve_after_quiet
        if quiet is not None and self.resolve_after_quiet is not None:  # given: (re)index, idempotent
            for incident in self.incidents.list_open(record.service_id):
                if incident.source_id == record.id and incident.source != SILENCE_SOURCE:
                    due = decisions.last_alert_at(incident) + timedelta(seconds=quiet)
                    self.due.put("quiet", incident.id, max(due, at))


def set_affects_status(sources: SourceStore, source_id: str, affects: bool) -> Source:
    return sources.set_affects_status(source_id, affects)


def send_test_alert(sources: SourceStore, ingest_for: IngestFor, source_id: str) -> Answer:
    """The source's sample through the real ingest path (mapping, raw store, bus), marked test."""
    record = sources.get_source(source_id)
    if record.source == vendors.HEARTBEAT:
        raise Refused("a heartbeat source has no test alert: call its heartbeat URL (GET or POST)")
    body = vendors.sample(record.source)
    headers = {"Content-Type": "application/json", "User-Agent": "alertbridge-test-alert"}
    if record.settings.secret:  # sign it the way the vendor would
        headers["Heroku-Webhook-Hmac-SHA256"] = heroku.sign(record.settings.secret, body)
    return ingest_for(vendors.module(record.source)).receive(record, body, headers, test=True)


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


def post_public_update(
    incidents: IncidentStore,
    page: StatusPageStore,
    incident_id: str,
    message: str,
    phase: PublicPhase | None,
    *,
    principal: str | None,
) -> tuple[Incident, list[PublicUpdate]]:
    """An operator tells visitors about an incident; ``phase`` moves its public narrative on.
    "resolved" also resolves the incident (as ``act`` does) when it is still open: the public
    page then says Resolved because the incident is, not because of the text alone."""
    who = principal or UNAUTHENTICATED
    incident = incidents.get(incident_id)
    if phase == "resolved" and incident.is_open:
        try:
            incident = act(incidents, incident_id, "resolve", principal=principal, note=message)
        except Refused:  # resolved meanwhile (by its source, or another person): post it all the same
            incident = incidents.get(incident_id)
            if incident.is_open:
                raise
    try:
        updates = page.add_update(incident_id, PublicUpdate(message=message, at=now(), phase=phase, by=who))
    except TooManyUpdates as exc:
        raise Refused(str(exc)) from exc
    return incident, updates


def status_page_settings(page: StatusPageStore) -> StatusPageSettings:
    return page.settings()


def change_status_page(page: StatusPageStore, changes: dict[str, object]) -> StatusPageSettings:
    return page.change_settings(changes)


@dataclass(frozen=True)
class ServiceState:
    """A service as operators see it: its status from every open incident, what visitors see
    (only the sources that affect it count), its sources' say, and its open incidents."""

    service: Service
    status: ServiceStatus
    public_status: ServiceStatus
    counted_sources: dict[str, bool]
    open: list[Incident]


def service_statuses(
    sources: SourceStore, incidents: IncidentStore, windows: MaintenanceStore
) -> list[ServiceState]:
    """Every service with its status and its open incidents, oldest first (test and monitoring
    ones listed too: operators see everything the status page leaves out); ``maintenance`` while
    one of its windows is active."""
    at = now()

    def read(service: Service) -> tuple[list[Incident], dict[str, bool], bool]:
        active = maintenance.active_window(windows.for_service(service.id), at) is not None
        return incidents.list_open(service.id), sources.status_sources(service.id), active

    out = []
    for service, (open_, counted, active) in per_service(sources, read):
        public = [i for i in open_ if counted.get(i.source_id, False)]
        out.append(
            ServiceState(
                service,
                in_maintenance(service_status(open_), active),
                service_status(public),
                counted,
                sorted(open_, key=lambda i: i.opened_at),
            )
        )
    return out


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
    sources: SourceStore, deliveries: DeliveryStore, ingest_for: IngestFor, delivery_id: str
) -> Answer:
    """Run a kept delivery through today's mapping, rules and windows again. Idempotent: event ids
    are the same."""
    record, body = deliveries.get(delivery_id)
    if record.status_code in (HTTPStatus.UNAUTHORIZED, HTTPStatus.NOT_FOUND):
        raise Refused("a delivery that failed authentication is never replayed")
    source = sources.get_source(record.source_id)
    return ingest_for(vendors.module(source.source)).receive(source, body, record.headers, replay_of=record)


# --- alert rules -----------------------------------------------------------------------------------
RULE_TRIES = 10  # a rule change against concurrent changes of the same service's rules


def list_rules(sources: SourceStore, rule_store: RuleStore, service_id: str) -> RuleSet:
    sources.get_service(service_id)  # an unknown service is a 404, not an empty set
    return rule_store.get(service_id)


def show_rule(sources: SourceStore, rule_store: RuleStore, service_id: str, rule_id: str) -> Rule:
    return _find(list_rules(sources, rule_store, service_id), rule_id)


def new_rule(sources: SourceStore, service_id: str, rule_id: str, fields: dict[str, Any]) -> Rule:
    """A rule from its fields, checked (``rules.RuleInvalid`` names what is wrong): its expressions
    compile, a route goes to another existing service, a narrowing source is one of the service's."""
    try:
        rule = Rule(id=rule_id, created_at=now(), **fields)
    except ValidationError as exc:
        raise rules.RuleInvalid(validation_message(exc)) from exc
    rules.check(rule)
    if rule.route_to is not None:
        if rule.route_to == service_id:
            raise rules.RuleInvalid("route_to: the rule's own service; route to another one")
        try:
            sources.get_service(rule.route_to)
        except NotFound as exc:
            raise rules.RuleInvalid(f"route_to: no service {rule.route_to} in this deployment") from exc
    if rule.source_id is not None and rule.source_id not in {s.id for s in sources.list_sources(service_id)}:
        raise rules.RuleInvalid(f"source_id: {rule.source_id} is not a source of service {service_id}")
    return rule


def add_rule(
    sources: SourceStore,
    rule_store: RuleStore,
    service_id: str,
    fields: dict[str, Any],
    *,
    position: int | None = None,
    expected_version: int | None = None,
) -> tuple[RuleSet, Rule]:
    """A new rule at ``position`` (1 is evaluated first; default: last)."""
    sources.get_service(service_id)
    made: list[Rule] = []

    def change(current: RuleSet) -> RuleSet:
        if len(current.rules) >= MAX_RULES:
            raise Refused(f"service {service_id} has {MAX_RULES} rules, the most it may have")
        rule = new_rule(sources, service_id, f"r_{current.next_id}", fields)
        made[:] = [rule]
        ordered = list(current.rules)
        ordered.insert(_index(position, len(ordered) + 1), rule)
        return current.model_copy(update={"rules": tuple(ordered), "next_id": current.next_id + 1})

    saved = _change_rules(rule_store, service_id, change, expected_version)
    return saved, made[0]


def move_rule(
    sources: SourceStore,
    rule_store: RuleStore,
    service_id: str,
    rule_id: str,
    position: int,
    *,
    expected_version: int | None = None,
) -> RuleSet:
    sources.get_service(service_id)

    def change(current: RuleSet) -> RuleSet:
        rule = _find(current, rule_id)
        ordered = [r for r in current.rules if r.id != rule_id]
        ordered.insert(_index(position, len(current.rules)), rule)
        return current.model_copy(update={"rules": tuple(ordered)})

    return _change_rules(rule_store, service_id, change, expected_version)


def remove_rule(
    sources: SourceStore,
    rule_store: RuleStore,
    service_id: str,
    rule_id: str,
    *,
    expected_version: int | None = None,
) -> RuleSet:
    sources.get_service(service_id)

    def change(current: RuleSet) -> RuleSet:
        _find(current, rule_id)
        return current.model_copy(update={"rules": tuple(r for r in current.rules if r.id != rule_id)})

    return _change_rules(rule_store, service_id, change, expected_version)


def _find(rule_set: RuleSet, rule_id: str) -> Rule:
    for rule in rule_set.rules:
        if rule.id == rule_id:
            return rule
    raise NotFound(f"rule {rule_id} not found in service {rule_set.service_id}")


def _index(position: int | None, slots: int) -> int:
    if position is None:
        return slots - 1
    if not 1 <= position <= slots:
        raise rules.RuleInvalid(f"position: {position} is not between 1 and {slots}")
    return position - 1


def _change_rules(
    rule_store: RuleStore, service_id: str, change: Callable[[RuleSet], RuleSet], expected_version: int | None
) -> RuleSet:
    """Read, change, write on condition of the version read; a caller that names the version it
    saw (``expected_version``) is refused when the rules are no longer at it (409)."""

    def attempt() -> RuleSet:
        current = rule_store.get(service_id)
        if expected_version is not None and current.version != expected_version:
            raise Refused(
                f"the rules of {service_id} are at version {current.version}, not {expected_version}: "
                "list them again and retry"
            )
        return rule_store.save(change(current), current.version)

    try:
        return until_written(attempt, tries=RULE_TRIES)
    except Conflict as exc:
        raise Refused(f"the rules of {service_id} kept changing; try again") from exc


@dataclass(frozen=True)
class DryRun:
    """What a rule would have done to a service's recent deliveries."""

    rule: Rule
    deliveries: int  # kept deliveries read
    alerts: int  # alerts they hold today (through today's mapping and the service's rules)
    matches: list[dict[str, Any]]


def dry_run(
    sources: SourceStore,
    deliveries: DeliveryStore,
    rule_store: RuleStore,
    service_id: str,
    fields: dict[str, Any],
    *,
    last: int,
) -> DryRun:
    """Evaluate a rule, as if added last, over the service's ``last`` deliveries (newest first),
    each mapped again through today's mapping and today's rules, as a replay would. Changes nothing."""
    rule = new_rule(sources, service_id, "r_test", fields)
    current = rule_store.get(service_id)
    by_id = {s.id: s for s in sources.list_sources(service_id)}
    listed, _ = deliveries.list_for_sources(list(by_id), limit=last)
    alerts, matches = 0, []
    for listed_record in listed:
        if listed_record.status_code in (HTTPStatus.UNAUTHORIZED, HTTPStatus.NOT_FOUND):
            continue
        record, body = deliveries.get(listed_record.id)
        source = by_id[record.source_id]
        delivery = Delivery(
            body=body,
            headers={k.lower(): v for k, v in record.headers.items()},
            received_at=record.received_at,
            settings=source.settings,
        )
        mapping = vendors.module(source.source)
        try:
            result = normalize(mapping, source, delivery, record.id, test=record.test, verify=False)
        except (PayloadError, ValidationError):
            continue
        objects = rules.vendor_objects_of(mapping, delivery)
        accepted = [o["index"] for o in result.outcomes if o["outcome"] == "accepted"]
        for index, alert in zip(accepted, result.alerts, strict=True):
            vendor = objects[index] if index < len(objects) else None
            today = rules.evaluate(current.rules, alert, vendor)
            if today.suppressed_by is not None:
                continue  # suppressed today: the new rule would not see it
            alerts += 1
            verdict = rules.evaluate([*current.rules, rule], alert, vendor)
            if rule.applied in verdict.applied:  # e.g. not a route when an earlier one routed it
                matches.append(_would(record.id, index, today.alert, verdict))
    return DryRun(rule, len(listed), alerts, matches)


def _would(delivery_id: str, index: int, before: CanonicalAlert, verdict: rules.Verdict) -> dict[str, Any]:
    after = verdict.alert
    if verdict.suppressed_by is not None:
        done = "suppress"
    elif after.service_id != before.service_id:
        done = f"route to {after.service_id}"
    elif after.dedup_key != before.dedup_key:
        done = f"dedup key {before.dedup_key!r} -> {after.dedup_key!r}"
    elif after.severity != before.severity:
        done = f"severity {before.severity} -> {after.severity}"
    else:
        added = {k: v for k, v in after.tags.items() if before.tags.get(k) != v}
        done = "tags " + ", ".join(f"{k}={v}" for k, v in added.items()) if added else "tags unchanged"
    return {
        "delivery_id": delivery_id,
        "index": index,
        "action": before.action.value,
        "title": before.title,
        "dedup_key": before.dedup_key,
        "would": done,
    }
