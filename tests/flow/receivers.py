"""Real loopback HTTP receivers acting as Slack, Teams, a generic webhook or PagerDuty, and the
helpers that put incident events on the bus the way the events publisher does."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import boto3
from alertbridge import timestamps
from alertbridge.models.incident_event import DETAIL_TYPE, EVENT_SOURCE, IncidentEvent

Respond = Callable[[BaseHTTPRequestHandler], None]


def answer(status: int, body: bytes = b"ok", headers: dict[str, str] | None = None) -> Respond:
    def respond(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(status)
        for name, value in (headers or {}).items():
            handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    return respond


def sequence(*responders: Respond) -> Respond:
    """Each request gets the next responder; the last one answers the rest."""
    calls = iter(range(10**9))

    def respond(handler: BaseHTTPRequestHandler) -> None:
        responders[min(next(calls), len(responders) - 1)](handler)

    return respond


def hang(seconds: float) -> Respond:
    def respond(handler: BaseHTTPRequestHandler) -> None:
        time.sleep(seconds)
        answer(200)(handler)

    return respond


class Receiver:
    """Records every POST (path, headers, body, monotonic time) and answers with ``respond``."""

    def __init__(self, respond: Respond | None = None) -> None:
        self.requests: list[dict[str, Any]] = []
        self.respond = respond or answer(200)
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                receiver.requests.append(
                    {
                        "path": self.path,
                        "headers": dict(self.headers),
                        "body": self.rfile.read(length),
                        "at": time.monotonic(),
                        "window": int(timestamps.now().timestamp() // 60),  # the notifier's clock
                    }
                )
                receiver.respond(self)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}/services/T000/B000/s3cr3tpathXYZ"

    def bodies(self) -> list[Any]:
        return [json.loads(r["body"]) for r in self.requests]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def receivers() -> Iterator[Callable[..., Receiver]]:
    started: list[Receiver] = []

    def start(respond: Respond | None = None) -> Receiver:
        started.append(Receiver(respond))
        return started[-1]

    yield start
    for r in started:
        r.close()


def publish(bus: str, events: list[IncidentEvent], endpoint_url: str | None = None) -> None:
    """Put incident events on the bus as the events publisher does (the contract of issue 13)."""
    client = boto3.client("events", region_name="us-east-1", endpoint_url=endpoint_url)
    for start in range(0, len(events), 10):
        resp = client.put_events(
            Entries=[
                {
                    "Source": EVENT_SOURCE,
                    "DetailType": DETAIL_TYPE,
                    "Detail": e.model_dump_json(),
                    "EventBusName": bus,
                }
                for e in events[start : start + 10]
            ]
        )
        assert not resp.get("FailedEntryCount"), resp
