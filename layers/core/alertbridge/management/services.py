"""/api/services: create, list, show (with its status and its sources' health), and change what the
public status page shows of one."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.router import APIGatewayRouter
from pydantic import Field

from alertbridge import operations, runtime
from alertbridge.management.bodies import Body
from alertbridge.management.idempotency import replay_once
from alertbridge.management.views import health_view

router = APIGatewayRouter()


class NewService(Body):
    name: str = Field(min_length=1, max_length=100)


class PublicChange(Body):
    """What the public page shows of a service. A field left out stays; an empty public name or
    description goes back to none (the page then shows the service's name, and no description)."""

    public: bool | None = None
    public_name: str | None = Field(default=None, max_length=100)
    public_description: str | None = Field(default=None, max_length=500)
    order: int | None = Field(default=None, ge=-1_000_000, le=1_000_000)
    show_titles: bool | None = None


@router.post("/api/services", middlewares=[replay_once])
def create_service(request: NewService) -> Response[Any]:
    service = operations.create_service(runtime.source_store(), request.name)
    return Response(201, "application/json", {"id": service.id, "name": service.name})


@router.get("/api/services")
def list_services() -> list[dict[str, Any]]:
    return [s.model_dump(mode="json") for s in runtime.source_store().list_services()]


@router.get("/api/services/<service_id>")
def show_service(service_id: str) -> dict[str, Any]:
    overview = operations.show_service(
        runtime.source_store(),
        runtime.delivery_store(),
        runtime.incident_store(),
        runtime.heartbeats(),
        service_id,
    )
    return {
        **overview.service.model_dump(mode="json"),
        "status": overview.status.value,
        "sources": [health_view(h) for h in overview.sources],
    }


@router.patch("/api/services/<service_id>")
def change_service(service_id: str, change: PublicChange) -> dict[str, Any]:
    given = change.model_dump(exclude_unset=True)
    changes = {
        k: (None if v == "" else v) for k, v in given.items() if v is not None or k.startswith("public_")
    }
    service = operations.update_service(runtime.source_store(), service_id, changes)
    return service.model_dump(mode="json")
