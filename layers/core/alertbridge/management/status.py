"""/api/status: every service's status, for operators (the public page is ``alertbridge.status.page``)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler.router import APIGatewayRouter

from alertbridge import operations, runtime
from alertbridge.management.views import incident_view

router = APIGatewayRouter()


@router.get("/api/status")
def list_status() -> list[dict[str, Any]]:
    return [
        {
            "service_id": service.id,
            "name": service.name,
            "status": status.value,
            "open_incidents": [incident_view(i) for i in open_],
        }
        for service, status, open_ in operations.service_statuses(
            runtime.source_store(), runtime.incident_store(), runtime.maintenance_store()
        )
    ]
