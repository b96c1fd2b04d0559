"""``Idempotency-Key`` on the management API's POSTs: a request sent again with the same key gets the
first one's answer instead of acting twice (a second public update, a second test alert), so a
client may retry what timed out. Built on Powertools' idempotency utility, with its records in the
table (``IDEM#management``, kept ``KEEP_SECONDS`` by Time to Live).

A key is scoped to its method and path; reused there with another body it is refused (422). While
the first request still runs, another with its key is answered 409 with Retry-After. A request
that ends in an error keeps no record, so its retry runs again: whether the route raised (a 404 or
409 refusal, a crash) or answered 5xx itself (a test alert whose ingest answered 503).

Routes whose answer holds a secret (a new source's token, a webhook channel's signing secret) take
no key (``no_key``): a replayed answer would have to be stored, and secrets are stored only
encrypted, and never shown twice. Their clients list what exists before trying again.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.shared.json_encoder import Encoder
from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig, idempotent_function
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyValidationError,
)
from aws_lambda_powertools.utilities.idempotency.serialization.custom_dict import CustomDictSerializer

from alertbridge import runtime
from alertbridge.management.views import error

if TYPE_CHECKING:
    from collections.abc import Callable

    from aws_lambda_powertools.event_handler import APIGatewayRestResolver
    from aws_lambda_powertools.event_handler.middlewares import NextMiddleware
    from aws_lambda_powertools.utilities.idempotency import BasePersistenceLayer

    RouteCall = Callable[[], Response[Any]]

HEADER = "Idempotency-Key"
KEY_MAX = 255
KEEP_SECONDS = 24 * 3600  # how long a key is remembered


def replay_once(app: APIGatewayRestResolver, next_middleware: NextMiddleware) -> Response[Any]:
    """Route middleware: with an ``Idempotency-Key``, run the route once per key and answer its
    retries with the saved answer; without one, run it as it is."""
    key = _key(app)
    if key is None:
        return next_middleware(app)
    if not 0 < len(key) <= KEY_MAX or not key.isascii() or not key.isprintable():
        return error(400, f"{HEADER} must be 1 to {KEY_MAX} printable ASCII characters")
    event = app.current_event
    request = {
        "scope": [key, event.http_method, event.path],
        "body": event.decoded_body or "",  # as sent, base64 or not
    }
    try:
        return once(
            runtime.idempotency_store(configure),
            request,
            app.lambda_context,
            lambda: next_middleware(app),
        )
    except IdempotencyValidationError:
        return error(422, f"this {HEADER} was used for another request on {event.path}: use a new key")
    except IdempotencyAlreadyInProgressError:
        busy = f"a request with this {HEADER} is still in progress: retry in a few seconds"
        return error(409, busy, {"Retry-After": "2"})


def no_key(app: APIGatewayRestResolver, next_middleware: NextMiddleware) -> Response[Any]:
    """Route middleware of the routes whose answer holds a secret: a key is refused, not ignored
    (a client that counted on it would retry into a second source or channel)."""
    if _key(app) is not None:
        return error(
            400,
            f"{HEADER} is not taken here: the answer holds a secret, which is shown once and never"
            " stored to be replayed; list what exists before you try again",
        )
    return next_middleware(app)


def once(
    store: BasePersistenceLayer,
    request: dict[str, Any],
    context: Any,
    route: RouteCall,
) -> Response[Any]:
    """``route()``'s answer, or the saved answer of the request with ``request``'s key. ``context``:
    the Lambda's, whose time left bounds how long the record says in progress."""
    run = idempotent_function(
        _run,
        data_keyword_argument="request",
        persistence_store=store,
        config=config(context),
        output_serializer=_SERIALIZER,
    )
    try:
        response: Response[Any] = run(request=request, route=route)
    except _NotKept as failed:
        return failed.response
    return response


def configure(store: BasePersistenceLayer) -> None:
    """Once, before the store is shared: Powertools would configure it on its first use, and two
    requests at once could each see it half configured."""
    store.configure(config(None), FUNCTION)


def config(context: Any) -> IdempotencyConfig:
    """One request's: its record is in progress until its Lambda's timeout (the context's time
    left), then free for a retry, rather than for the key's whole day."""
    made = IdempotencyConfig(
        event_key_jmespath="scope", payload_validation_jmespath="body", expires_after_seconds=KEEP_SECONDS
    )
    made.register_lambda_context(context)
    return made


class _NotKept(Exception):
    """A 5xx the route answered: raised so that Powertools deletes the record (the retry acts)."""

    def __init__(self, response: Response[Any]) -> None:
        super().__init__(response.status_code)
        self.response = response


def _run(*, request: dict[str, Any], route: RouteCall) -> Response[Any]:
    """The route itself (``request`` is what Powertools keys and checks the record by)."""
    response = route()
    if response.status_code >= 500:
        raise _NotKept(response)
    return response


FUNCTION = f"{_run.__module__}.{_run.__qualname__}"  # the records' name (in their sort key)


def _key(app: APIGatewayRestResolver) -> str | None:
    return app.current_event.headers.get(HEADER)  # case-insensitive


def _to_dict(response: Response[Any]) -> dict[str, Any]:
    """The answer as it went out: a body the resolver would serialize is serialized as it does
    (compact JSON, keys in their order), so that a replay is the same bytes."""
    body = response.body  # the API answers JSON: a dict or list, or text already serialized
    if not isinstance(body, str) and body is not None:
        body = json.dumps(body, separators=(",", ":"), cls=Encoder)
    return {"status_code": response.status_code, "headers": dict(response.headers), "body": body}


def _from_dict(saved: dict[str, Any]) -> Response[Any]:
    return Response(status_code=saved["status_code"], headers=saved["headers"], body=saved["body"])


_SERIALIZER = CustomDictSerializer(to_dict=_to_dict, from_dict=_from_dict)
