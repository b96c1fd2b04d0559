"""The AWS emulator: a moto server on loopback, and the same emulator called in process.

moto's backends do not lock: two concurrent requests can both pass a DynamoDB condition and both
write. Real DynamoDB applies each request to an item atomically, so every request here runs under
a lock: clients stay concurrent (many connections, interleaved calls) and each call is atomic,
which is the semantics conditional writes rely on. The lock is one per group of services whose
moto backends share state (``_GROUPS``), not one for everything: DynamoDB and its stream are one
group; SQS, EventBridge and SNS another, since a PutEvents or a Publish appends to the target
queues inside the call; S3 and KMS one each. A request of any other service takes every lock.
A call of one group never touches another group's backend, so no call can see another half done.

``send`` is the same emulator without the socket: a botocore ``before-send`` handler that hands
the signed request to moto's WSGI application in this process and returns its answer to botocore,
which parses it as it would parse AWS's (botocore serializes, signs and parses as over HTTP; only
the connection is gone). The local stack routes its functions' and pollers' calls through it; the
server stays for whatever talks to the emulator's URL from outside, and the tests that drive it.

The cost of each call is the emulator's throughput, so moto runs with the faster, same-answer
replacements of ``moto_speedups`` (see there).
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from botocore.awsrequest import AWSPreparedRequest, AWSResponse
from botocore.compat import HTTPHeaders
from moto.core.botocore_stubber import MockRawResponse
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import BaseWSGIServer, make_server
from werkzeug.test import EnvironBuilder, run_wsgi_app

from alertbridge_tools import moto_speedups

# Signing name (the credential scope's service) -> the group whose lock its calls hold.
_GROUPS = {
    "dynamodb": "dynamodb",  # DynamoDB Streams signs as dynamodb too: one group with its table
    "sqs": "messaging",
    "events": "messaging",
    "sns": "messaging",
    "s3": "s3",
    "kms": "kms",
}


def signing_name(authorization: str | None) -> str | None:
    """The service of a SigV4 ``Authorization`` header (``Credential=key/date/region/SERVICE/...``)."""
    if not authorization or "Credential=" not in authorization:
        return None
    scope = authorization.split("Credential=", 1)[1].split(",", 1)[0].split("/")
    return scope[3] if len(scope) == 5 else None


class ServiceLocks:
    """One lock per group of services; a request of a service outside the groups takes them all
    (in one fixed order, so two such requests never deadlock)."""

    def __init__(self) -> None:
        self._locks = {group: threading.Lock() for group in sorted(set(_GROUPS.values()))}

    @contextlib.contextmanager
    def held(self, authorization: str | None) -> Iterator[None]:
        group = _GROUPS.get(signing_name(authorization) or "")
        if group is not None:
            with self._locks[group]:
                yield
            return
        with self.every():
            yield

    @contextlib.contextmanager
    def every(self) -> Iterator[None]:
        """Every group's lock, in one fixed order: no emulated call runs inside."""
        with contextlib.ExitStack() as stack:
            for lock in self._locks.values():
                stack.enter_context(lock)
            yield


class MotoServer:
    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no access log per emulated AWS call
        moto_speedups.apply()
        self._app = DomainDispatcherApplication(create_backend_app)
        self._locks = ServiceLocks()
        self.closed = False  # after the local stack's last snapshot: no call may change the state
        # Raises OSError (address in use) here, before any thread starts.
        self._server: BaseWSGIServer = make_server(
            host, port, self._locked, threaded=True, request_handler=MotoRequestHandler
        )
        self._thread = threading.Thread(target=self._server.serve_forever, name="moto-server", daemon=True)
        self._serving = False

    @property
    def url(self) -> str:
        return f"http://{self._server.host}:{self._server.port}"

    def _locked(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        with self._locks.held(environ.get("HTTP_AUTHORIZATION")):
            if self.closed:
                start_response("503 Service Unavailable", [("Content-Type", "text/plain")])
                return [b"the emulator is stopping"]
            return list(self._app(environ, start_response))

    def send(self, request: AWSPreparedRequest, **_: Any) -> AWSResponse | None:
        """botocore's ``before-send``: a request to this emulator, answered in process (None:
        not ours, or the emulator stopped; botocore then sends it over HTTP as usual)."""
        if not self._serving or not request.url.startswith(self.url + "/"):
            return None
        body: Any = request.body
        if hasattr(body, "read"):
            body = body.read()
        if isinstance(body, bytearray):
            body = bytes(body)
        environ = EnvironBuilder(
            path=request.url[len(self.url) :].split("?", 1)[0],
            base_url=self.url,
            query_string=request.url.split("?", 1)[1] if "?" in request.url else None,
            method=request.method,
            headers=[
                (name, value.decode() if isinstance(value, bytes) else value)
                for name, value in request.headers.items()
            ],
            data=body or b"",
        ).get_environ()
        with self._locks.held(environ.get("HTTP_AUTHORIZATION")):
            if self.closed:
                return None  # botocore sends it over HTTP: answered 503 there
            chunks, status, headers = run_wsgi_app(self._app, environ, buffered=True)
            data = b"".join(chunks)
        answer = HTTPHeaders()
        for name, value in headers.items():
            answer[name] = value
        return AWSResponse(request.url, int(status.split(" ", 1)[0]), answer, MockRawResponse(data))

    @contextlib.contextmanager
    def exclusive(self) -> Iterator[None]:
        """No emulated call runs inside (the local stack's snapshots: a consistent cut)."""
        with self._locks.every():
            yield

    @contextlib.contextmanager
    def closing(self) -> Iterator[None]:
        """As ``exclusive``; every call after it is refused (503): the last snapshot stays the last."""
        with self._locks.every():
            yield
            self.closed = True

    def start(self) -> MotoServer:
        self._thread.start()
        self._serving = True
        return self

    def stop(self) -> None:
        self._serving = False
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
