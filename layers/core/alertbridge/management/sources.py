"""A service's sources: add, list with health, rotate a token, change settings, send a test alert."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.router import APIGatewayRouter
from pydantic import Field, field_validator

from alertbridge import operations, runtime
from alertbridge.management.bodies import Body
from alertbridge.management.views import base_url, health_view, source_view, token_view
from alertbridge.models.records import RecoveryPolicy, SourceSettings

router = APIGatewayRouter()


class _Severities(Body):
    severity_filter: tuple[int, ...] | None = None

    @field_validator("severity_filter")
    @classmethod
    def _severities(cls, value: tuple[int, ...] | None) -> tuple[int, ...] | None:
        if value is not None and any(v not in (1, 2, 3) for v in value):
            raise ValueError("severities are 1, 2 or 3")
        return value


class NewSource(_Severities):
    source: str
    secret: str | None = Field(default=None, min_length=8, max_length=256)
    recovery_policy: RecoveryPolicy = "resolve"


class SettingsChange(_Severities):
    secret: str | None = Field(default=None, min_length=8, max_length=256)
    clear_secret: bool = False
    recovery_policy: RecoveryPolicy | None = None
    clear_severity_filter: bool = False


@router.post("/api/services/<service_id>/sources")
def add_source(service_id: str, request: NewSource) -> Response[Any]:
    settings = SourceSettings(
        recovery_policy=request.recovery_policy,
        severity_filter=request.severity_filter,
        secret=request.secret,
    )
    record, token = operations.add_source(runtime.source_store(), service_id, request.source, settings)
    return Response(201, "application/json", token_view(record, token, base_url(router.current_event)))


@router.get("/api/services/<service_id>/sources")
def list_sources(service_id: str) -> list[dict[str, Any]]:
    found = operations.list_sources(
        runtime.source_store(), runtime.delivery_store(), runtime.incident_store(), service_id
    )
    return [health_view(h) for h in found]


@router.post("/api/sources/<source_id>/rotate")
def rotate_token(source_id: str) -> dict[str, Any]:
    record, token = operations.rotate_token(runtime.source_store(), source_id)
    return token_view(record, token, base_url(router.current_event))


@router.patch("/api/sources/<source_id>")
def change_settings(source_id: str, change: SettingsChange) -> dict[str, Any]:
    record = operations.change_settings(
        runtime.source_store(),
        source_id,
        secret=change.secret,
        clear_secret=change.clear_secret,
        recovery_policy=change.recovery_policy,
        severity_filter=change.severity_filter,
        clear_severity_filter=change.clear_severity_filter,
    )
    return source_view(record)


@router.post("/api/sources/<source_id>/test-alert")
def test_alert(source_id: str) -> Response[Any]:
    answer = operations.send_test_alert(
        runtime.source_store(),
        runtime.delivery_store(),
        runtime.publisher(),
        runtime.maintenance_store(),
        runtime.incident_store(),
        source_id,
    )
    return Response(answer.status, "application/json", answer.body)
