"""/api/deliveries: the raw webhook deliveries kept, shown with their bodies, and replayed."""

from __future__ import annotations

import base64
from typing import Annotated, Any, Literal

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.event_handler.router import APIGatewayRouter

from alertbridge import operations, runtime
from alertbridge.management.bodies import Limit
from alertbridge.management.idempotency import replay_once

router = APIGatewayRouter()


@router.get("/api/deliveries")
def list_deliveries(
    only: Annotated[Literal["rejected", "suppressed", "unpublished"] | None, Query()] = None,
    source: Annotated[str | None, Query()] = None,
    service: Annotated[str | None, Query()] = None,
    limit: Limit = 50,
    cursor: Annotated[str | None, Query()] = None,
) -> dict[str, Any]:
    found, next_cursor = operations.list_deliveries(
        runtime.source_store(),
        runtime.delivery_store(),
        only=only,
        source_id=source,
        service_id=service,
        limit=limit,
        cursor=cursor,
    )
    return {"deliveries": [d.model_dump(mode="json") for d in found], "cursor": next_cursor}


@router.get("/api/deliveries/<delivery_id>")
def show_delivery(delivery_id: str) -> dict[str, Any]:
    record, body = operations.show_delivery(runtime.delivery_store(), delivery_id)
    try:
        text: str | None = body.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    return {**record.model_dump(mode="json"), "body": text, "body_base64": base64.b64encode(body).decode()}


@router.post("/api/deliveries/<delivery_id>/replay", middlewares=[replay_once])
def replay(delivery_id: str) -> Response[Any]:
    answer = operations.replay(runtime.source_store(), runtime.delivery_store(), runtime.ingest, delivery_id)
    return Response(answer.status, "application/json", answer.body)
