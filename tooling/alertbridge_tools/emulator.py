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
the signed request to moto in this process and returns its answer to botocore, which parses it as
it would parse AWS's (botocore serializes, signs and parses as over HTTP; only the connection is
gone). For the services the functions call (``_DIRECT``) it skips the WSGI layers too: the server
picks the backend from the signature's service, then Flask routes the path to the backend's
handler; ``send`` picks the same backend the same way (moto's own inference, remembered per
service) and calls the same handler with the same request class, as moto's in-memory mode does.
Any other request (S3's path-style routes among them) goes through the server's WSGI application.
The local stack routes its functions' and pollers' calls through it; the server stays for
whatever talks to the emulator's URL from outside, and the tests that drive it.

The cost of each call is the emulator's throughput, so moto runs with the faster, same-answer
replacements of ``moto_speedups`` (see there).
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import re
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from botocore.awsrequest import AWSPreparedRequest, AWSResponse
from botocore.compat import HTTPHeaders
from botocore.exceptions import ClientError
from moto import backends
from moto.core.base_backend import BackendDict
from moto.core.botocore_stubber import MockRawResponse
from moto.dynamodb.models.table import StreamShard
from moto.moto_api import recorder
from moto.moto_server.werkzeug_app import (
    BackendRequest,
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from moto.sqs.models import Queue as SqsQueue
from werkzeug.exceptions import HTTPException
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


# moto backends whose requests ``send`` hands to the backend's handler without the WSGI layers
_DIRECT = frozenset({"dynamodb", "dynamodbstreams", "sqs", "events", "sns", "kms", "scheduler", "sts"})

Handler = Callable[[Any, str, Any], tuple[int | str, dict[str, str], str | bytes]]


def credential_scope(authorization: str | None) -> list[str] | None:
    """A SigV4 ``Authorization`` header's scope: ``[key, date, region, service, "aws4_request"]``."""
    if not authorization or "Credential=" not in authorization:
        return None
    scope = authorization.split("Credential=", 1)[1].split(",", 1)[0].split("/")
    return scope if len(scope) == 5 else None


def signing_name(authorization: str | None) -> str | None:
    """The service of a SigV4 ``Authorization`` header."""
    scope = credential_scope(authorization)
    return scope[3] if scope else None


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
    def of(self, service: str) -> Iterator[None]:
        """The lock of ``service``'s group (what the service's own calls take)."""
        with self._locks[_GROUPS[service]]:
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
        arrivals.apply()
        self._app = DomainDispatcherApplication(create_backend_app)
        self._locks = ServiceLocks()
        self._routes = _Routes(self._app)
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
        authorization = request.headers.get("Authorization")
        if isinstance(authorization, bytes):
            authorization = authorization.decode()
        handler = self._routes.handler(request, authorization)
        if handler is not None:
            return self._direct(request, handler, authorization, body)
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

    def _direct(
        self, request: AWSPreparedRequest, handler: Handler, authorization: str | None, body: bytes | None
    ) -> AWSResponse | None:
        """The handler Flask would route the request to, called as moto's Flask view calls it."""
        incoming = BackendRequest.from_primitives(request.method, request.url, request.headers, body or b"")
        with self._locks.held(authorization):
            if self.closed:
                return None  # botocore sends it over HTTP: answered 503 there
            try:
                recorder._record_request(incoming)
                status, headers, content = handler(incoming, incoming.raw_url, dict(incoming.headers))
            except ClientError as exc:  # what moto's view answers for one
                status, headers, content = 400, {}, exc.response["Error"]["Message"]
            except HTTPException as exc:  # what Flask answers for one of moto's errors
                status, headers, content = exc.code or 500, dict(exc.get_headers()), exc.get_body()
        answer = HTTPHeaders()
        for name, value in headers.items():
            answer[name] = str(value)
        return AWSResponse(request.url, int(status), answer, MockRawResponse(content))

    @contextlib.contextmanager
    def holding(self, service: str) -> Iterator[None]:
        """No call of ``service``'s group runs inside (what the service does of its own accord)."""
        with self._locks.of(service):
            yield

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


class _Routes:
    """The moto handler a request reaches through the server, found without the WSGI layers: the
    backend as the server's dispatcher infers it (remembered per signing service, region and
    API prefix, which are all the inference reads for these services), then the handler of the
    backend's path pattern matching the whole path, as its Flask rules match (where two patterns
    match, both name the same handler in the backends of ``_DIRECT``)."""

    def __init__(self, app: DomainDispatcherApplication) -> None:
        self._app = app
        self._backends: dict[tuple[str, str, str], str | None] = {}
        self._paths: dict[str, list[tuple[re.Pattern[str], Handler]]] = {}
        self._lock = threading.Lock()

    def handler(self, request: AWSPreparedRequest, authorization: str | None) -> Handler | None:
        scope = credential_scope(authorization)
        if scope is None or authorization is None:
            return None
        target = request.headers.get("X-Amz-Target") or ""
        if isinstance(target, bytes):
            target = target.decode()
        key = (scope[3], scope[2], target.split(".", 1)[0])
        with self._lock:
            if key not in self._backends:
                self._backends[key] = self._backend(authorization, target)
            backend = self._backends[key]
            if backend is None:
                return None
            if backend not in self._paths:
                self._paths[backend] = _paths(backend)
        path = request.url.split("://", 1)[1].split("?", 1)[0]
        path = path[path.find("/") :] if "/" in path else "/"
        # a Flask rule matches the whole path, with or without a trailing slash (strict_slashes off)
        bare = path.rstrip("/") or "/"
        routes = self._paths[backend]
        return next(
            (handler for pattern, handler in routes if pattern.fullmatch(path) or pattern.fullmatch(bare)),
            None,
        )

    def _backend(self, authorization: str, target: str) -> str | None:
        environ = {"HTTP_AUTHORIZATION": authorization, "PATH_INFO": "/", "HTTP_HOST": "localhost"}
        if target:
            environ["HTTP_X_AMZ_TARGET"] = target
        host = self._app.infer_service_region_host(environ, "/")
        backend = self._app.get_backend_for_host(host)
        return backend if backend in _DIRECT else None


def _paths(backend: str) -> list[tuple[re.Pattern[str], Handler]]:
    """A backend's path patterns (the ones its Flask app is built from) and their handlers, read
    from its ``urls`` module, as moto's ``BaseBackend.url_paths`` reads them (no backend is made)."""
    found: Any = backends.get_backend(backend)  # type: ignore[call-overload]
    cls = found.backend if isinstance(found, BackendDict) else type(found["global"])
    urls = importlib.import_module(cls.__module__.rsplit(".", 1)[0] + ".urls")
    paths = {path.format(""): handler for path, handler in urls.url_paths.items()}
    return [(re.compile(path), handler) for path, handler in paths.items() if path]


class Arrivals:
    """What wakes an idle poller (Lambda's long poll of a queue, its reads of a stream) without
    holding an emulator lock while it waits: moto's queues and tables count what arrives (a
    message added to a queue: sent, published to it by a rule or a topic, moved to it as a DLQ; a
    record appended to a table's stream), and a poller that found nothing waits for its source's
    count to move, or for its timeout (a message whose visibility timeout or delay runs out
    arrives without a count: the poller finds it at the latest when its wait times out).

    An arrival wakes only the waiters on its own queue or stream: every reader of a stream (each
    reads all of it), and one poller of a queue per message (the pollers of one queue compete for
    its messages, as SQS hands a message to one long poll: waking them all gave empty receives)."""

    def __init__(self) -> None:
        self._counts: dict[tuple[str, str], int] = {}
        self._lock = threading.Lock()
        self._waiting: dict[tuple[str, str], threading.Condition] = {}
        self._applied = False

    def mark(self, kind: str, name: str) -> int:
        return self._counts.get((kind, name), 0)

    def wait(
        self, kind: str, name: str, mark: int, timeout: float, stop: threading.Event | None = None
    ) -> None:
        """Until ``name`` has had an arrival since ``mark``, ``stop`` is set (``wake()`` tells the
        waiters to look), or ``timeout`` seconds."""
        key = (kind, name)
        with self._lock:
            changed = self._waiting.setdefault(key, threading.Condition(self._lock))
            changed.wait_for(
                lambda: self._counts.get(key, 0) != mark or (stop is not None and stop.is_set()),
                timeout,
            )

    def wake(self) -> None:
        """Every waiter checks again (a stop: set its ``stop`` first)."""
        with self._lock:
            for changed in self._waiting.values():
                changed.notify_all()

    def _arrived(self, kind: str, name: str) -> None:
        key = (kind, name)
        with self._lock:
            self._counts[key] = self._counts.get(key, 0) + 1
            changed = self._waiting.get(key)
            if changed is None:
                return
            if kind == "sqs":
                changed.notify()
            else:
                changed.notify_all()

    def apply(self) -> None:
        """Count moto's arrivals (once per process)."""
        if self._applied:
            return
        self._applied = True
        queue: Any = SqsQueue
        shard: Any = StreamShard
        add_message, add_record = queue.add_message, shard.add

        def counted_message(to: Any, message: Any) -> None:
            add_message(to, message)
            self._arrived("sqs", to.name)

        def counted_record(on: Any, old: Any, new: Any) -> None:
            add_record(on, old, new)
            self._arrived("stream", on.table.name)

        queue.add_message = counted_message
        shard.add = counted_record


arrivals = Arrivals()
