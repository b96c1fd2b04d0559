"""Management API routes of channels, their test notifications and services' escalation.

A Powertools ``Router`` the management app includes; the rules are the plain functions below,
which take the stores as arguments (the routes only read the request and pick the stores). Channel
targets are write-only: an answer shows them masked, except a webhook secret that alertbridge
generated, shown once, in the answer that created it.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from pydantic import BaseModel, ConfigDict, Field, field_validator

from alertbridge import runtime
from alertbridge.models.alert import Severity
from alertbridge.models.channel import Channel, ChannelKind, ChannelView, new_webhook_secret
from alertbridge.models.incident_event import EVENT_TYPES
from alertbridge.notify.policy import EscalationStep, check_steps, parse_after
from alertbridge.store.channels import ChannelStore
from alertbridge.store.sources import SourceStore, new_id
from alertbridge.timestamps import now

router = Router()


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class NewChannel(_Body):
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
        if value is None:
            return None
        full = [v if v.startswith("incident.") else f"incident.{v}" for v in value]
        unknown = [v for v in full if v not in EVENT_TYPES]
        if unknown:
            raise ValueError(f"unknown event types {unknown}; one of {', '.join(EVENT_TYPES)}")
        return full


class StepBody(_Body):
    after: str
    channel_ids: list[str] = Field(min_length=1)


class EscalationBody(_Body):
    steps: list[StepBody]


class ChannelRejected(ValueError):
    """A request the channel rules refuse (a 400)."""


# --- the rules -------------------------------------------------------------------------------------
def add_channel(
    channels: ChannelStore, services: SourceStore, service_id: str, request: NewChannel
) -> dict[str, Any]:
    """Create a channel; its masked view, plus the webhook secret when alertbridge made it."""
    services.get_service(service_id)
    generated = new_webhook_secret() if request.kind is ChannelKind.WEBHOOK and not request.secret else None
    fields = request.model_dump(exclude={"events", "name"}, exclude_none=True)
    if generated:
        fields["secret"] = generated
    if request.events is not None:
        fields["events"] = frozenset(request.events)
    try:
        channel = Channel.model_validate(
            {
                **fields,
                "id": new_id("ch"),
                "service_id": service_id,
                "name": request.name or f"{request.kind.value} channel",
                "created_at": now(),
            }
        )
    except ValueError as exc:  # pydantic's ValidationError is one
        raise ChannelRejected(_first_error(exc)) from exc
    channels.add(channel)
    out = view(channel.masked_view())
    if generated:
        out["secret"] = generated
    return out


def set_escalation(
    channels: ChannelStore, services: SourceStore, service_id: str, request: EscalationBody
) -> dict[str, Any]:
    services.get_service(service_id)
    own = {v.id for v in channels.views(service_id)}
    try:
        steps = [EscalationStep(parse_after(s.after), tuple(s.channel_ids)) for s in request.steps]
        check_steps(steps)
    except ValueError as exc:
        raise ChannelRejected(str(exc)) from exc
    foreign = sorted({c for s in steps for c in s.channel_ids} - own)
    if foreign:
        raise ChannelRejected(f"not channels of service {service_id}: {', '.join(foreign)}")
    channels.set_escalation(service_id, steps)
    return escalation_view(service_id, steps)


def view(channel: ChannelView) -> dict[str, Any]:
    data = channel.model_dump(mode="json")
    data["events"] = sorted(data["events"], key=EVENT_TYPES.index)
    return data


def escalation_view(service_id: str, steps: list[EscalationStep]) -> dict[str, Any]:
    return {
        "service_id": service_id,
        "steps": [{"after_seconds": s.after_seconds, "channel_ids": list(s.channel_ids)} for s in steps],
    }


def _first_error(exc: ValueError) -> str:
    errors = getattr(exc, "errors", None)
    if callable(errors):
        first = errors(include_url=False)[0]
        return str(first["msg"]).removeprefix("Value error, ")
    return str(exc)


# --- routes ----------------------------------------------------------------------------------------
@router.exception_handler(ChannelRejected)
def _rejected(exc: ChannelRejected) -> Response[Any]:
    return Response(400, "application/json", {"error": str(exc), "status": 400})


def _body(model: type[_Body]) -> Any:
    return model.model_validate_json(router.current_event.decoded_body or "{}")


@router.post("/api/services/<service_id>/channels")
def create_channel(service_id: str) -> Response[Any]:
    made = add_channel(runtime.channel_store(), runtime.source_store(), service_id, _body(NewChannel))
    return Response(201, "application/json", made)


@router.get("/api/services/<service_id>/channels")
def list_channels(service_id: str) -> list[dict[str, Any]]:
    runtime.source_store().get_service(service_id)
    return [view(v) for v in runtime.channel_store().views(service_id)]


@router.get("/api/channels/<channel_id>")
def show_channel(channel_id: str) -> dict[str, Any]:
    return view(runtime.channel_store().view(channel_id))


@router.delete("/api/channels/<channel_id>")
def remove_channel(channel_id: str) -> dict[str, Any]:
    removed = runtime.channel_store().remove(channel_id)
    return {"id": removed.id, "service_id": removed.service_id, "removed": True}


@router.post("/api/channels/<channel_id>/test")
def test_channel(channel_id: str) -> dict[str, Any]:
    """A clearly marked test notification through the real send path; its outcome."""
    channel = runtime.channel_store().get(channel_id)
    result: dict[str, Any] = runtime.notifier().send_test(channel)
    return result


@router.put("/api/services/<service_id>/escalation")
def put_escalation(service_id: str) -> dict[str, Any]:
    return set_escalation(runtime.channel_store(), runtime.source_store(), service_id, _body(EscalationBody))


@router.get("/api/services/<service_id>/escalation")
def get_escalation(service_id: str) -> dict[str, Any]:
    runtime.source_store().get_service(service_id)
    return escalation_view(service_id, runtime.channel_store().escalation(service_id))
