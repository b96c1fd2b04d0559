"""A service's sources: add, list with health, rotate a token, change settings, send a test alert."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.router import APIGatewayRouter
from pydantic import Field, field_validator

from alertbridge import operations, runtime
from alertbridge.management.bodies import Body
from alertbridge.management.idempotency import no_key, replay_once
from alertbridge.management.views import base_url, health_view, source_view, token_view
from alertbridge.models.parts import Severity
from alertbridge.models.records import (
    MAX_EXPECT_EVERY,
    MAX_RESOLVE_AFTER_QUIET,
    MIN_EXPECT_EVERY,
    MIN_RESOLVE_AFTER_QUIET,
    RecoveryPolicy,
    SourceSettings,
)
from alertbridge.timestamps import format_duration, parse_duration

router = APIGatewayRouter()


class _Severities(Body):
    severity_filter: tuple[int, ...] | None = None

    @field_validator("severity_filter")
    @classmethod
    def _severities(cls, value: tuple[int, ...] | None) -> tuple[int, ...] | None:
        if value is not None and any(v not in (1, 2, 3) for v in value):
            raise ValueError("severities are 1, 2 or 3")
        return value


class _Quiet(_Severities):
    """Silence and quiet settings: durations like '30s', '15m', '1h'."""

    expect_every: str | None = None
    silence_severity: Severity | None = None
    resolve_after_quiet: str | None = None

    @field_validator("expect_every")
    @classmethod
    def _every(cls, value: str | None) -> str | None:
        return _duration(value, "expect_every", MIN_EXPECT_EVERY, MAX_EXPECT_EVERY)

    @field_validator("resolve_after_quiet")
    @classmethod
    def _quiet(cls, value: str | None) -> str | None:
        return _duration(value, "resolve_after_quiet", MIN_RESOLVE_AFTER_QUIET, MAX_RESOLVE_AFTER_QUIET)

    def seconds(self, name: str) -> int | None:
        value = getattr(self, name)
        return parse_duration(value) if value is not None else None


def _duration(value: str | None, name: str, low: int, high: int) -> str | None:
    if value is None:
        return None
    seconds = parse_duration(value, name)
    if not low <= seconds <= high:
        raise ValueError(f"{name} must be between {format_duration(low)} and {format_duration(high)}")
    return value


class NewSource(_Quiet):
    source: str
    secret: str | None = Field(default=None, min_length=8, max_length=256)
    recovery_policy: RecoveryPolicy = "resolve"


class SettingsChange(_Quiet):
    secret: str | None = Field(default=None, min_length=8, max_length=256)
    clear_secret: bool = False
    recovery_policy: RecoveryPolicy | None = None
    clear_severity_filter: bool = False
    # Whether its incidents affect the public status (kept on the source itself, apart from the
    # settings above: see Source.affects_status).
    affects_status: bool | None = None
    clear_expect_every: bool = False
    clear_resolve_after_quiet: bool = False


@router.post("/api/services/<service_id>/sources", middlewares=[no_key])
def add_source(service_id: str, request: NewSource) -> Response[Any]:
    settings = SourceSettings(
        recovery_policy=request.recovery_policy,
        severity_filter=request.severity_filter,
        secret=request.secret,
        expect_every=request.seconds("expect_every"),
        silence_severity=request.silence_severity or Severity.HIGH,
        resolve_after_quiet=request.seconds("resolve_after_quiet"),
    )
    record, token = operations.add_source(
        runtime.source_store(), runtime.heartbeats(), service_id, request.source, settings
    )
    return Response(201, "application/json", token_view(record, token, base_url(router.current_event)))


@router.get("/api/services/<service_id>/sources")
def list_sources(service_id: str) -> list[dict[str, Any]]:
    found = operations.list_sources(
        runtime.source_store(),
        runtime.delivery_store(),
        runtime.incident_store(),
        runtime.heartbeats(),
        service_id,
    )
    return [health_view(h) for h in found]


@router.post("/api/sources/<source_id>/rotate", middlewares=[no_key])
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
        quiet=operations.QuietChange(
            runtime.heartbeats(),
            runtime.incident_store(),
            runtime.due_index(),
            expect_every=change.seconds("expect_every"),
            clear_expect_every=change.clear_expect_every,
            silence_severity=change.silence_severity,
            resolve_after_quiet=change.seconds("resolve_after_quiet"),
            clear_resolve_after_quiet=change.clear_resolve_after_quiet,
        ),
    )
    if change.affects_status is not None:
        record = operations.set_affects_status(runtime.source_store(), source_id, change.affects_status)
    return source_view(record)


@router.post("/api/sources/<source_id>/test-alert", middlewares=[replay_once])
def test_alert(source_id: str) -> Response[Any]:
    answer = operations.send_test_alert(runtime.source_store(), runtime.ingest, source_id)
    return Response(answer.status, "application/json", answer.body)
