"""Channels of a service, their test notifications and the service's escalation.

The rules are :mod:`alertbridge.channels_ops`; these routes parse the request (body models,
validated by the resolver), pick the stores from ``runtime`` and shape the answer (``views``).
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.router import APIGatewayRouter
from pydantic import Field, field_validator

from alertbridge import channels_ops, runtime
from alertbridge.management.bodies import Body
from alertbridge.management.idempotency import no_key, replay_once
from alertbridge.management.views import channel_view, escalation_view
from alertbridge.models.channel import ChannelKind
from alertbridge.models.parts import Severity

router = APIGatewayRouter()


class NewChannel(Body):
    kind: ChannelKind
    name: str | None = Field(default=None, min_length=1, max_length=128)
    url: str | None = None
    secret: str | None = None
    routing_key: str | None = None
    address: str | None = None
    number: str | None = None
    events: list[str] | None = None  # "opened" or "incident.opened"; default: every event
    min_severity: Severity = Severity.INFO
    test_incidents: bool = False
    rate_per_minute: int = Field(default=20, ge=1, le=1000)

    @field_validator("events")
    @classmethod
    def _events(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else channels_ops.event_types(value)


class StepBody(Body):
    after: str
    channel_ids: list[str] = Field(min_length=1)


class EscalationBody(Body):
    steps: list[StepBody]


@router.post("/api/services/<service_id>/channels", middlewares=[no_key])
def create_channel(service_id: str, request: NewChannel) -> Response[Any]:
    channel, generated = channels_ops.add_channel(
        runtime.channel_store(),
        runtime.source_store(),
        service_id,
        request.kind,
        request.model_dump(exclude={"kind", "events", "name"}, exclude_none=True),
        name=request.name,
        events=request.events,
    )
    made = channel_view(channel.masked_view())
    if generated:
        made["secret"] = generated  # shown once, in the answer that created it
    return Response(201, "application/json", made)


@router.get("/api/services/<service_id>/channels")
def list_channels(service_id: str) -> list[dict[str, Any]]:
    runtime.source_store().get_service(service_id)
    return [channel_view(v) for v in runtime.channel_store().views(service_id)]


@router.get("/api/channels/<channel_id>")
def show_channel(channel_id: str) -> dict[str, Any]:
    return channel_view(runtime.channel_store().view(channel_id))


@router.delete("/api/channels/<channel_id>")
def remove_channel(channel_id: str) -> dict[str, Any]:
    removed = runtime.channel_store().remove(channel_id)
    return {"id": removed.id, "service_id": removed.service_id, "removed": True}


@router.post("/api/channels/<channel_id>/test", middlewares=[replay_once])
def test_channel(channel_id: str) -> dict[str, Any]:
    """A clearly marked test notification through the real send path; its outcome."""
    channel = runtime.channel_store().get(channel_id)
    result: dict[str, Any] = runtime.notifier().send_test(channel)
    return result


@router.put("/api/services/<service_id>/escalation")
def put_escalation(service_id: str, request: EscalationBody) -> dict[str, Any]:
    steps = channels_ops.set_escalation(
        runtime.channel_store(),
        runtime.source_store(),
        service_id,
        [(s.after, s.channel_ids) for s in request.steps],
    )
    return escalation_view(service_id, steps)


@router.get("/api/services/<service_id>/escalation")
def get_escalation(service_id: str) -> dict[str, Any]:
    runtime.source_store().get_service(service_id)
    return escalation_view(service_id, runtime.channel_store().escalation(service_id))
