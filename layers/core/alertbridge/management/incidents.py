"""/api/incidents: list, show, a person's acknowledge or resolve, and public updates (what the
public status page says of an incident)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.event_handler.router import APIGatewayRouter
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent
from pydantic import AliasChoices, Field

from alertbridge import operations, runtime
from alertbridge.management.bodies import Body, Limit
from alertbridge.management.idempotency import replay_once
from alertbridge.management.views import incident_view, public_update_entry, public_update_view
from alertbridge.models.records import PublicPhase

router = APIGatewayRouter()


class PersonAction(Body):
    """Who acts is never taken from here (see :func:`principal`): ``note`` (``by`` from older
    clients) is kept as a note on the timeline entry."""

    note: str | None = Field(
        default=None, min_length=1, max_length=100, validation_alias=AliasChoices("note", "by")
    )


def principal(event: APIGatewayProxyEvent) -> str | None:
    """The authenticated caller: the IAM principal API Gateway verified (the management API is
    IAM-authorized on AWS). None on the local stack unless it runs with ``--auth iam``."""
    identity = event.request_context.identity
    return identity.user_arn or identity.caller or None


class PublicUpdateBody(Body):
    """A message for visitors of the status page; ``phase`` moves the incident's public narrative
    on ("resolved" also resolves the incident)."""

    message: str = Field(min_length=1, max_length=2000)
    phase: PublicPhase | None = None


@router.get("/api/incidents")
def list_incidents(
    status: Annotated[operations.StatusFilter, Query()] = "open",
    service: Annotated[str | None, Query()] = None,
    source: Annotated[str | None, Query()] = None,
    limit: Limit = 50,
    cursor: Annotated[str | None, Query()] = None,
) -> dict[str, Any]:
    found, next_cursor = operations.list_incidents(
        runtime.source_store(),
        runtime.incident_store(),
        status=status,
        service_id=service,
        source=source,
        limit=limit,
        cursor=cursor,
    )
    return {"incidents": [incident_view(i) for i in found], "cursor": next_cursor}


@router.get("/api/incidents/<incident_id>")
def show_incident(incident_id: str) -> dict[str, Any]:
    shown = incident_view(operations.show_incident(runtime.incident_store(), incident_id), timeline=True)
    # Notification attempts and public updates are items of their own (store.notifications,
    # store.status_page): merged in time order.
    attempts = runtime.notification_store().attempts(incident_id)
    updates = runtime.status_page_store().updates([incident_id]).get(incident_id, [])
    shown["public_updates"] = [public_update_view(u) for u in updates]
    merged = [*shown["timeline"], *attempts, *(public_update_entry(u) for u in updates)]
    shown["timeline"] = sorted(merged, key=lambda e: datetime.fromisoformat(e["at"]))
    return shown


@router.post("/api/incidents/<incident_id>/updates", middlewares=[replay_once])
def post_update(incident_id: str, request: PublicUpdateBody) -> Response[Any]:
    incident, updates = operations.post_public_update(
        runtime.incident_store(),
        runtime.status_page_store(),
        incident_id,
        request.message,
        request.phase,
        principal=principal(router.current_event),
    )
    body = {**incident_view(incident), "public_updates": [public_update_view(u) for u in updates]}
    return Response(201, "application/json", body)


@router.post("/api/incidents/<incident_id>/acknowledge", middlewares=[replay_once])
def acknowledge(incident_id: str, request: PersonAction | None = None) -> dict[str, Any]:
    return _act(incident_id, "acknowledge", request)


@router.post("/api/incidents/<incident_id>/resolve", middlewares=[replay_once])
def resolve(incident_id: str, request: PersonAction | None = None) -> dict[str, Any]:
    return _act(incident_id, "resolve", request)


def _act(
    incident_id: str, action: Literal["acknowledge", "resolve"], request: PersonAction | None
) -> dict[str, Any]:
    updated = operations.act(
        runtime.incident_store(),
        incident_id,
        action,
        principal=principal(router.current_event),
        note=request.note if request else None,
    )
    return incident_view(updated, timeline=True)
