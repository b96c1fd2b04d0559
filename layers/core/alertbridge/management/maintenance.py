"""Maintenance windows of a service: add, list, remove (``alertbridge maintenance ...``).

While a window is active, ingest holds the service's alerts back as ``suppressed`` (recoveries,
and alerts for an incident opened before it, pass); ``alertbridge.maintenance`` says when one is.
"""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.event_handler.router import APIGatewayRouter

from alertbridge import runtime
from alertbridge.maintenance import Window
from alertbridge.management.bodies import NewWindow
from alertbridge.management.idempotency import replay_once
from alertbridge.management.views import window_view
from alertbridge.store.sources import new_id
from alertbridge.timestamps import now

router = APIGatewayRouter()


@router.post("/api/services/<service_id>/maintenance", middlewares=[replay_once])
def add_window(service_id: str, request: NewWindow) -> Response[Any]:
    runtime.source_store().get_service(service_id)
    window = Window(
        id=new_id("mw"), service_id=service_id, name=request.name, created_at=now(), **request.schedule()
    )
    runtime.maintenance_store().add(window)
    return Response(201, "application/json", window_view(window, now()))


@router.get("/api/maintenance")
def list_windows(service: Annotated[str | None, Query()] = None) -> list[dict[str, Any]]:
    """One service's windows, or every service's."""
    sources, windows, at = runtime.source_store(), runtime.maintenance_store(), now()
    services = [sources.get_service(service)] if service else sources.list_services()
    return [window_view(w, at) for s in services for w in windows.for_service(s.id)]


@router.delete("/api/maintenance/<window_id>")
def remove_window(window_id: str) -> dict[str, Any]:
    removed = runtime.maintenance_store().remove(window_id)
    return {"id": removed.id, "service_id": removed.service_id, "removed": True}
