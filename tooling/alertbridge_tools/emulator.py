"""The AWS emulator: a moto server on loopback.

moto's backends do not lock: two concurrent requests can both pass a DynamoDB condition and both
write. Real DynamoDB applies each request to an item atomically, so the server here runs every
request under one lock: clients stay concurrent (many connections, interleaved calls) and each
call is atomic, which is the semantics conditional writes rely on.

Since every call waits for the one before it, the cost of each call is the emulator's throughput:
moto's SQS walks a deep queue several times per call, so the server runs with the faster, same-answer
replacements of ``moto_speedups`` (see there).
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import BaseWSGIServer, make_server

from alertbridge_tools import moto_speedups


class _Serialized:
    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self._app = app
        self._lock = threading.Lock()
        self.closed = False  # after the local stack's last snapshot: no call may change the state

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        with self._lock:
            if self.closed:
                start_response("503 Service Unavailable", [("Content-Type", "text/plain")])
                return [b"the emulator is stopping"]
            return list(self._app(environ, start_response))


class MotoServer:
    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no access log per emulated AWS call
        moto_speedups.apply()
        self._app = _Serialized(DomainDispatcherApplication(create_backend_app))
        # Raises OSError (address in use) here, before any thread starts.
        self._server: BaseWSGIServer = make_server(
            host, port, self._app, threaded=True, request_handler=MotoRequestHandler
        )
        self._thread = threading.Thread(target=self._server.serve_forever, name="moto-server", daemon=True)

    @property
    def url(self) -> str:
        return f"http://{self._server.host}:{self._server.port}"

    @contextlib.contextmanager
    def exclusive(self) -> Iterator[None]:
        """No emulated call runs inside (the local stack's snapshots: a consistent cut)."""
        with self._app._lock:
            yield

    @contextlib.contextmanager
    def closing(self) -> Iterator[None]:
        """As ``exclusive``; every call after it is refused (503): the last snapshot stays the last."""
        with self._app._lock:
            yield
            self._app.closed = True

    def start(self) -> MotoServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
