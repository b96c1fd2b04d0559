"""/api/status: every service's status, for operators (the public page is ``alertbridge.status.page``);
/api/status-page: the public page's own settings."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler.router import APIGatewayRouter
from pydantic import Field

from alertbridge import operations, runtime
from alertbridge.management.bodies import Body
from alertbridge.management.views import incident_view
from alertbridge.models.records import HISTORY_HOURS_MAX

router = APIGatewayRouter()


class PageChange(Body):
    """A field left out stays; an empty logo text goes back to none."""

    title: str | None = Field(default=None, min_length=1, max_length=100)
    logo_text: str | None = Field(default=None, max_length=60)
    history_hours: int | None = Field(default=None, ge=0, le=HISTORY_HOURS_MAX)


@router.get("/api/status")
def list_status() -> list[dict[str, Any]]:
    return [
        {
            "service_id": state.service.id,
            "name": state.service.name,
            "status": state.status.value,
            "public": state.service.public,
            "public_name": state.service.shown_name,
            "public_description": state.service.public_description,
            "order": state.service.order,
            "show_titles": state.service.show_titles,
            "public_status": state.public_status.value,
            "sources_affecting_status": state.counted_sources,
            "open_incidents": [
                {**incident_view(i), "affects_status": state.counted_sources.get(i.source_id, False)}
                for i in state.open
            ],
        }
        for state in operations.service_statuses(
            runtime.source_store(), runtime.incident_store(), runtime.maintenance_store()
        )
    ]


@router.get("/api/status-page")
def show_status_page() -> dict[str, Any]:
    return operations.status_page_settings(runtime.status_page_store()).model_dump(mode="json")


@router.patch("/api/status-page")
def change_status_page(change: PageChange) -> dict[str, Any]:
    given = change.model_dump(exclude_unset=True)
    changes = {k: (None if v == "" else v) for k, v in given.items() if v is not None or k == "logo_text"}
    return operations.change_status_page(runtime.status_page_store(), changes).model_dump(mode="json")
