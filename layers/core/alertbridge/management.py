"""The management API (IAM-authorized on AWS): services, sources, incidents, deliveries, test alerts.

Routes are served by Powertools' REST resolver; each does a little validation and calls the stores
or the ingest/incident modules. Every error is a JSON ``{"error": ..., "status": ...}``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from datetime import datetime, timedelta
from http import HTTPStatus
from typing import Any, Literal

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler.exceptions import NotFoundError as RouteNotFound
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from alertbridge import channel_routes, decisions, runtime, vendors
from alertbridge.ingest import Ingest
from alertbridge.models.incident import Incident, Status
from alertbridge.models.records import RecoveryPolicy, Source, SourceSettings
from alertbridge.status import service_status
from alertbridge.status_page import per_service
from alertbridge.store.bus import PublishError
from alertbridge.store.incidents import OPEN_STATUSES, Conflict
from alertbridge.store.sources import NotFound
from alertbridge.timestamps import iso, now

app = APIGatewayRestResolver()
app.include_router(channel_routes.router)

STATUS_FILTERS: dict[str, tuple[str, ...] | None] = {
    "open": OPEN_STATUSES,
    "all": None,
    **{s.value: (s.value,) for s in Status},
}
ACTIVE_DAYS = 30


class ApiError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _error(status: int, message: str) -> Response[Any]:
    return Response(
        status_code=status, content_type="application/json", body={"error": message, "status": status}
    )


@app.exception_handler(ApiError)
def _api_error(exc: ApiError) -> Response[Any]:
    return _error(exc.status, exc.message)


@app.exception_handler(NotFound)
def _not_found(exc: NotFound) -> Response[Any]:
    return _error(404, str(exc.args[0]) if exc.args else "not found")


@app.exception_handler(ValidationError)
def _invalid(exc: ValidationError) -> Response[Any]:
    problems = "; ".join(
        f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}"
        for e in exc.errors(include_url=False)[:5]
    )
    return _error(400, f"invalid request: {problems}")


@app.exception_handler(PublishError)
def _bus_down(exc: PublishError) -> Response[Any]:
    return _error(
        503, f"the bus refused the events ({exc}); the delivery is kept unpublished: replay it later"
    )


@app.exception_handler(vendors.UnknownSource)
def _unknown_source(exc: vendors.UnknownSource) -> Response[Any]:
    return _error(400, f"unknown source kind {exc.args[0]!r}; one of {', '.join(vendors.SOURCES)}")


@app.not_found
def _no_route(_exc: RouteNotFound) -> Response[Any]:
    return _error(404, f"no route {app.current_event.http_method} {app.current_event.path}")


# --- request bodies --------------------------------------------------------------------------------
class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class NewService(_Body):
    name: str = Field(min_length=1, max_length=100)


class NewSource(_Body):
    source: str
    secret: str | None = Field(default=None, min_length=8, max_length=256)
    recovery_policy: RecoveryPolicy = "resolve"
    severity_filter: tuple[int, ...] | None = None

    @field_validator("severity_filter")
    @classmethod
    def _severities(cls, value: tuple[int, ...] | None) -> tuple[int, ...] | None:
        if value is not None and any(v not in (1, 2, 3) for v in value):
            raise ValueError("severities are 1, 2 or 3")
        return value


class SettingsChange(_Body):
    secret: str | None = Field(default=None, min_length=8, max_length=256)
    clear_secret: bool = False
    recovery_policy: RecoveryPolicy | None = None
    severity_filter: tuple[int, ...] | None = None
    clear_severity_filter: bool = False


class PersonAction(_Body):
    by: str = Field(default="operator", min_length=1, max_length=100)


def _body(model: type[_Body]) -> Any:
    raw = app.current_event.decoded_body or "{}"
    return model.model_validate_json(raw)


def _query(name: str) -> str | None:
    params = app.current_event.query_string_parameters or {}
    value = params.get(name)
    return value if value else None


def _limit() -> int:
    raw = _query("limit") or "50"
    if not raw.isdigit() or not 1 <= int(raw) <= 500:
        raise ApiError(400, "limit must be a whole number from 1 to 500")
    return int(raw)


def _who() -> str:
    """The caller: the IAM principal on AWS (never a secret), else what the body says."""
    identity = app.current_event.request_context.identity
    return identity.user_arn or identity.caller or "operator"


def _base_url() -> str:
    configured = os.environ.get("PUBLIC_BASE_URL")
    if configured:
        return configured.rstrip("/")
    headers = app.current_event.headers or {}
    host = headers.get("Host") or headers.get("host") or "localhost"
    proto = headers.get("X-Forwarded-Proto") or headers.get("x-forwarded-proto") or "https"
    stage = app.current_event.request_context.stage
    return f"{proto}://{host}/{stage}" if stage and not host.startswith("127.") else f"{proto}://{host}"


# --- views ---------------------------------------------------------------------------------------
def source_view(record: Source, token: str | None = None) -> dict[str, Any]:
    view: dict[str, Any] = {
        "id": record.id,
        "service_id": record.service_id,
        "source": record.source,
        "recovery_policy": record.settings.recovery_policy,
        "severity_filter": list(record.settings.severity_filter) if record.settings.severity_filter else None,
        "has_secret": record.settings.secret is not None,
        "created_at": iso(record.created_at),
        "token_rotated_at": iso(record.token_rotated_at) if record.token_rotated_at else None,
    }
    if token is not None:
        view["token"] = token
        view["webhook_url"] = f"{_base_url()}/hooks/{record.source}/{token}"
    return view


def incident_view(incident: Incident, *, timeline: bool = False) -> dict[str, Any]:
    data = incident.model_dump(mode="json", exclude={"event_ids", "timeline", "ledger", "version"})
    if timeline:
        data["timeline"] = [e.model_dump(mode="json") for e in incident.timeline]
        data["timeline_omitted"] = incident.timeline_omitted
    return data


# --- services ------------------------------------------------------------------------------------
@app.post("/api/services")
def create_service() -> Response[Any]:
    service = runtime.source_store().create_service(_body(NewService).name)
    return Response(201, "application/json", {"id": service.id, "name": service.name})


@app.get("/api/services")
def list_services() -> list[dict[str, Any]]:
    return [s.model_dump(mode="json") for s in runtime.source_store().list_services()]


@app.get("/api/services/<service_id>")
def show_service(service_id: str) -> dict[str, Any]:
    service = runtime.source_store().get_service(service_id)
    return {
        **service.model_dump(mode="json"),
        "status": service_status(runtime.incident_store().list_open(service_id)).value,
        "sources": [_with_health(s) for s in runtime.source_store().list_sources(service_id)],
    }


# --- sources -------------------------------------------------------------------------------------
@app.post("/api/services/<service_id>/sources")
def add_source(service_id: str) -> Response[Any]:
    request = _body(NewSource)
    vendors.module(request.source)  # unknown kind -> 400
    settings = SourceSettings(
        recovery_policy=request.recovery_policy,
        severity_filter=request.severity_filter,
        secret=request.secret,
    )
    record, token = runtime.source_store().add_source(service_id, request.source, settings)
    return Response(201, "application/json", source_view(record, token))


@app.get("/api/services/<service_id>/sources")
def list_sources(service_id: str) -> list[dict[str, Any]]:
    runtime.source_store().get_service(service_id)
    return [_with_health(s) for s in runtime.source_store().list_sources(service_id)]


def _with_health(record: Source) -> dict[str, Any]:
    latest, _ = runtime.delivery_store().list_for_source(record.id, limit=1)
    since = iso(now() - timedelta(days=ACTIVE_DAYS))
    recent, _ = runtime.incident_store().for_service(
        record.service_id, source=record.id, since=since, limit=1
    )
    return {
        **source_view(record),
        "last_delivery_at": iso(latest[0].received_at) if latest else None,
        "active": bool(recent),
    }


@app.post("/api/sources/<source_id>/rotate")
def rotate_token(source_id: str) -> dict[str, Any]:
    record, token = runtime.source_store().rotate_token(source_id)
    return source_view(record, token)


@app.patch("/api/sources/<source_id>")
def change_settings(source_id: str) -> dict[str, Any]:
    change = _body(SettingsChange)
    current = runtime.source_store().get_source(source_id).settings
    secret = None if change.clear_secret else (change.secret or current.secret)
    severity = None if change.clear_severity_filter else (change.severity_filter or current.severity_filter)
    settings = SourceSettings(
        recovery_policy=change.recovery_policy or current.recovery_policy,
        severity_filter=severity,
        secret=secret,
    )
    return source_view(runtime.source_store().update_settings(source_id, settings))


@app.post("/api/sources/<source_id>/test-alert")
def test_alert(source_id: str) -> Response[Any]:
    """The source's sample through the real ingest path (mapping, raw store, bus), marked test."""
    record = runtime.source_store().get_source(source_id)
    body = vendors.sample(record.source)
    headers = {"Content-Type": "application/json", "User-Agent": "alertbridge-test-alert"}
    if record.settings.secret:  # sign it the way the vendor would
        digest = hmac.new(record.settings.secret.encode(), body, hashlib.sha256).digest()
        headers["Heroku-Webhook-Hmac-SHA256"] = base64.b64encode(digest).decode()
    answer = _ingest(record.source).receive(record, body, headers, test=True)
    return Response(answer.status, "application/json", answer.body)


def _ingest(source: str) -> Ingest:
    return Ingest(source, runtime.source_store(), runtime.delivery_store(), runtime.publisher())


# --- incidents -----------------------------------------------------------------------------------
@app.get("/api/incidents")
def list_incidents() -> dict[str, Any]:
    status = _query("status") or "open"
    if status not in STATUS_FILTERS:
        raise ApiError(400, f"status must be one of {', '.join(STATUS_FILTERS)}")
    service_id, limit = _query("service"), _limit()
    if service_id:
        runtime.source_store().get_service(service_id)
        found, cursor = runtime.incident_store().for_service(
            service_id,
            statuses=STATUS_FILTERS[status],
            source=_query("source"),
            limit=limit,
            cursor=_query("cursor"),
        )
    else:
        found, cursor = [], None
        for service in runtime.source_store().list_services():
            page, _ = runtime.incident_store().for_service(
                service.id, statuses=STATUS_FILTERS[status], source=_query("source"), limit=limit
            )
            found += page
        found = sorted(found, key=lambda i: i.opened_at, reverse=True)[:limit]
    return {"incidents": [incident_view(i) for i in found], "cursor": cursor}


@app.get("/api/incidents/<incident_id>")
def show_incident(incident_id: str) -> dict[str, Any]:
    shown = incident_view(runtime.incident_store().get(incident_id), timeline=True)
    # Notification attempts are items of their own (store.notifications): merged in time order.
    attempts = runtime.notification_store().attempts(incident_id)
    shown["timeline"] = sorted([*shown["timeline"], *attempts], key=lambda e: datetime.fromisoformat(e["at"]))
    return shown


@app.post("/api/incidents/<incident_id>/acknowledge")
def acknowledge(incident_id: str) -> dict[str, Any]:
    return _person(incident_id, "acknowledge")


@app.post("/api/incidents/<incident_id>/resolve")
def resolve(incident_id: str) -> dict[str, Any]:
    return _person(incident_id, "resolve")


def _person(incident_id: str, action: Literal["acknowledge", "resolve"]) -> dict[str, Any]:
    who = _body(PersonAction).by if app.current_event.body else _who()
    store = runtime.incident_store()
    for _ in range(5):
        current = store.get(incident_id)
        try:
            updated = decisions.manual(current, action, who, now())
        except ValueError as exc:
            raise ApiError(409, str(exc)) from exc
        try:
            [saved] = store.save(decisions.Decision(writes={updated.seq: (updated, current.version)}))
        except Conflict:
            continue
        return incident_view(saved, timeline=True)
    raise ApiError(409, "the incident kept changing; try again")


# --- deliveries ----------------------------------------------------------------------------------
@app.get("/api/deliveries")
def list_deliveries() -> dict[str, Any]:
    only = _query("only")
    if only not in (None, "rejected", "unpublished"):
        raise ApiError(400, "only must be 'rejected' or 'unpublished'")
    limit = _limit()
    source_id, service_id = _query("source"), _query("service")
    if source_id:
        wanted = [runtime.source_store().get_source(source_id)]
    else:
        services = (
            [runtime.source_store().get_service(service_id)]
            if service_id
            else runtime.source_store().list_services()
        )
        wanted = [src for svc in services for src in runtime.source_store().list_sources(svc.id)]
    found = []
    for record in wanted:
        page, _ = runtime.delivery_store().list_for_source(record.id, limit=limit, only=only)
        found += page
    found = sorted(found, key=lambda d: d.received_at, reverse=True)[:limit]
    return {"deliveries": [d.model_dump(mode="json") for d in found]}


@app.get("/api/deliveries/<delivery_id>")
def show_delivery(delivery_id: str) -> dict[str, Any]:
    record, body = runtime.delivery_store().get(delivery_id)
    try:
        text: str | None = body.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    return {**record.model_dump(mode="json"), "body": text, "body_base64": base64.b64encode(body).decode()}


@app.post("/api/deliveries/<delivery_id>/replay")
def replay(delivery_id: str) -> Response[Any]:
    """Run a kept delivery through today's mapping again. Idempotent: event ids are the same."""
    record, body = runtime.delivery_store().get(delivery_id)
    if record.status_code in (HTTPStatus.UNAUTHORIZED, HTTPStatus.NOT_FOUND):
        raise ApiError(409, "a delivery that failed authentication is never replayed")
    source = runtime.source_store().get_source(record.source_id)
    answer = _ingest(source.source).receive(source, body, record.headers, replay_of=record)
    return Response(answer.status, "application/json", answer.body)


# --- status --------------------------------------------------------------------------------------
@app.get("/api/status")
def list_status() -> list[dict[str, Any]]:
    """Every service's status, derived from its open incidents (test and monitoring ones listed too)."""
    store = runtime.incident_store()
    return [
        {
            "service_id": service.id,
            "name": service.name,
            "status": service_status(open_).value,
            "open_incidents": [incident_view(i) for i in sorted(open_, key=lambda i: i.opened_at)],
        }
        for service, open_ in per_service(runtime.source_store(), lambda s: store.list_open(s.id))
    ]
