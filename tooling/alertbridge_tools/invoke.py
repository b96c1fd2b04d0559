"""``alertbridge invoke FUNCTION -e EVENT_FILE``: one function's real handler on one event, with the
template's resources on an ephemeral in-process emulator (moto): the Docker-free ``sam local invoke``.

The emulator is always a fresh one (a running ``alertbridge local`` is not reused). A webhook event
(``events/<source>/*.json``) names the token ``EXAMPLE_TOKEN``: the emulated stack gets a service with
a source of that kind whose token is that value (and, for Heroku, the test secret the events are
signed with), so the event authenticates as a vendor's would.
"""

from __future__ import annotations

import io
import json
import os
import sys
from pathlib import Path
from typing import Any
from unittest import mock

from alertbridge_tools.apigw import EXAMPLE_TOKEN

HEROKU_SECRET = "test-webhook-secret"  # noqa: S105  (make_events.py signs the Heroku events with it)


class InvokeError(Exception):
    """Said in one line."""


def run(function: str, event_file: str, *, as_json: bool) -> int:
    try:
        event = json.loads(Path(event_file).read_text())
    except OSError as exc:
        raise InvokeError(f"cannot read {event_file}: {exc.strerror}") from None
    except ValueError as exc:
        raise InvokeError(f"{event_file} is not JSON: {exc}") from None
    if not isinstance(event, dict):
        raise InvokeError(f"{event_file} holds no event object")
    response, logs = invoke(function, event)
    if as_json:
        print(json.dumps({"response": response, "logs": logs}, indent=2, default=str))
    else:
        for line in logs:
            print(json.dumps(line, default=str) if not isinstance(line, str) else line, file=sys.stderr)
        print(json.dumps(response, indent=2, default=str))
    return 0


def invoke(function: str, event: dict[str, Any]) -> tuple[Any, list[Any]]:
    from moto import mock_aws  # noqa: PLC0415

    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        "POWERTOOLS_METRICS_DISABLED": "true",
    }.items():
        os.environ[name] = value
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
        os.environ.pop(name, None)
    with mock_aws():
        from alertbridge_tools.harness import Harness, LambdaContext  # noqa: PLC0415
        from alertbridge_tools.local import LOCAL_PARAMETERS  # noqa: PLC0415

        harness = Harness.create(parameters=LOCAL_PARAMETERS)
        if function not in harness.stack.functions:
            names = ", ".join(sorted(harness.stack.functions))
            raise InvokeError(f"no function {function} in template.yaml (one of {names})")
        _example_source(harness, function)
        from alertbridge.observability import logger  # noqa: PLC0415

        captured = io.StringIO()
        previous = logger.registered_handler.setStream(captured)  # type: ignore[attr-defined]
        try:
            response = harness._invoker(function)(event, LambdaContext.for_function(function))
        finally:
            logger.registered_handler.setStream(previous)  # type: ignore[attr-defined]
    logs: list[Any] = []
    for line in captured.getvalue().splitlines():
        if line.strip():
            try:
                logs.append(json.loads(line))
            except ValueError:
                logs.append(line)
    return response, logs


def _example_source(harness: Any, function: str) -> None:
    """For a webhook function: a service with its source, whose token is EXAMPLE_TOKEN."""
    from alertbridge import runtime  # noqa: PLC0415
    from alertbridge.models.records import SourceSettings  # noqa: PLC0415

    hooks = [r.path for r in harness.stack.routes if r.function == function and r.path.startswith("/hooks/")]
    if not hooks:
        return
    source = hooks[0].split("/")[2]
    service = runtime.source_store().create_service("invoke")
    settings = SourceSettings(secret=HEROKU_SECRET) if source == "heroku" else SourceSettings()
    with mock.patch("alertbridge.store.sources.new_token", return_value=EXAMPLE_TOKEN):
        runtime.source_store().add_source(service.id, source, settings)
