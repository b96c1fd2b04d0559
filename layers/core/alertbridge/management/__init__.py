"""The management API (IAM-authorized on AWS): services, sources, rules, incidents, deliveries, status.

One Powertools router per resource (``services``, ``sources``, ``rules``, ``channels``,
``maintenance``, ``incidents``, ``deliveries``, ``status``); each route parses its request (path,
query and body models, validated by the resolver), calls one function of
:mod:`alertbridge.operations` (channels: :mod:`alertbridge.channels_ops`) with the stores from
``runtime``, and shapes the answer (``views``). What goes wrong is answered here, in one shape:
``{"error": ..., "status": ...}``.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler.exceptions import NotFoundError as RouteNotFound
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from pydantic import ValidationError

from alertbridge import vendors
from alertbridge.channels_ops import ChannelRejected
from alertbridge.management import (
    channels,
    deliveries,
    incidents,
    maintenance,
    rules,
    services,
    sources,
    status,
)
from alertbridge.management.views import error
from alertbridge.operations import Refused
from alertbridge.rules import RuleInvalid
from alertbridge.store.bus import PublishError
from alertbridge.store.maintenance import TooMany
from alertbridge.store.sources import NotFound
from alertbridge.text import validation_message

app = APIGatewayRestResolver(enable_validation=True)
for module in (services, sources, rules, channels, maintenance, incidents, deliveries, status):
    app.include_router(module.router)


@app.exception_handler(RequestValidationError)
def _invalid_request(exc: RequestValidationError) -> Response[Any]:
    # A body that is not JSON is reported at ("body", <character>): the position says nothing here.
    errors = [{**e, "loc": ("body",)} if e["type"] == "json_invalid" else e for e in exc.errors()]
    return error(400, f"invalid request: {validation_message(errors)}")


@app.exception_handler(ValidationError)
def _invalid(exc: ValidationError) -> Response[Any]:
    return error(400, f"invalid request: {validation_message(exc)}")


@app.exception_handler(ChannelRejected)
def _channel_rejected(exc: ChannelRejected) -> Response[Any]:
    return error(400, str(exc))


@app.exception_handler(RuleInvalid)
def _rule_invalid(exc: RuleInvalid) -> Response[Any]:
    return error(400, f"invalid rule: {exc}")


@app.exception_handler([Refused, TooMany])
def _refused(exc: Exception) -> Response[Any]:
    return error(409, str(exc))


@app.exception_handler(NotFound)
def _not_found(exc: NotFound) -> Response[Any]:
    return error(404, str(exc.args[0]) if exc.args else "not found")


@app.exception_handler(PublishError)
def _bus_down(exc: PublishError) -> Response[Any]:
    return error(
        503, f"the bus refused the events ({exc}); the delivery is kept unpublished: replay it later"
    )


@app.exception_handler(vendors.UnknownSource)
def _unknown_source(exc: vendors.UnknownSource) -> Response[Any]:
    return error(400, f"unknown source kind {exc.args[0]!r}; one of {', '.join(vendors.KINDS)}")


@app.not_found
def _no_route(_exc: RouteNotFound) -> Response[Any]:
    return error(404, f"no route {app.current_event.http_method} {app.current_event.path}")
