"""notify.http against real loopback receivers (allow_private=True), and its refusals."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import urllib3.util.connection
from alertbridge.notify import http
from alertbridge.notify.http import BACKOFF_CAP, backoff, parse_retry_after, send
from alertbridge.notify.message import Outbound

from tests.flow.receivers import Respond, answer


class Receiver:
    """A loopback HTTP server that records what it received and answers with ``respond``."""

    def __init__(self, respond: Respond, host: str = "127.0.0.1") -> None:
        self.requests: list[dict[str, Any]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                receiver.requests.append(
                    {"path": self.path, "headers": dict(self.headers), "body": self.rfile.read(length)}
                )
                respond(self)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer((host, 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}/hook?x=1"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Callable[..., Receiver]]:
    started: list[Receiver] = []

    def start(respond: Respond, host: str = "127.0.0.1") -> Receiver:
        started.append(Receiver(respond, host))
        return started[-1]

    yield start
    for r in started:
        r.close()


def post(url: str) -> Outbound:
    return Outbound(url=url, headers={"Content-Type": "application/json"}, body=b'{"hello":"world"}')


def test_2xx_is_sent_and_the_request_arrives_whole(receiver: Callable[..., Receiver]) -> None:
    r = receiver(answer(200, b"fine"))
    attempt = send(post(r.url), allow_private=True)
    assert (attempt.outcome, attempt.status_code, attempt.body, attempt.error) == ("sent", 200, b"fine", None)
    [request] = r.requests
    assert request["path"] == "/hook?x=1"
    assert request["body"] == b'{"hello":"world"}'
    assert request["headers"]["Content-Type"] == "application/json"


def test_5xx_is_retry(receiver: Callable[..., Receiver]) -> None:
    attempt = send(post(receiver(answer(500)).url), allow_private=True)
    assert (attempt.outcome, attempt.status_code, attempt.retry_after) == ("retry", 500, None)


def test_429_is_retry_with_its_retry_after(receiver: Callable[..., Receiver]) -> None:
    r = receiver(answer(429, headers={"Retry-After": "7"}))
    attempt = send(post(r.url), allow_private=True)
    assert (attempt.outcome, attempt.status_code, attempt.retry_after) == ("retry", 429, 7)


def test_4xx_is_failed(receiver: Callable[..., Receiver]) -> None:
    attempt = send(post(receiver(answer(404)).url), allow_private=True)
    assert (attempt.outcome, attempt.status_code) == ("failed", 404)


def test_a_redirect_is_failed_and_never_followed(receiver: Callable[..., Receiver]) -> None:
    elsewhere = receiver(answer(200), host="127.0.0.2")
    r = receiver(answer(302, headers={"Location": elsewhere.url}))
    attempt = send(post(r.url), allow_private=True)
    assert (attempt.outcome, attempt.status_code) == ("failed", 302)
    assert len(r.requests) == 1
    assert elsewhere.requests == []


def test_a_receiver_that_hangs_is_retry_within_the_timeout(receiver: Callable[..., Receiver]) -> None:
    release = threading.Event()

    def hang(handler: BaseHTTPRequestHandler) -> None:
        release.wait(5)  # then closes without answering

    r = receiver(hang)
    started = time.monotonic()
    try:
        attempt = send(post(r.url), timeout=0.5, allow_private=True)
    finally:
        release.set()
    assert time.monotonic() - started < 2
    assert attempt.outcome == "retry"
    assert attempt.status_code is None
    assert attempt.error is not None
    assert "timed out" in attempt.error


def test_only_1kb_of_the_response_body_is_kept(receiver: Callable[..., Receiver]) -> None:
    attempt = send(post(receiver(answer(200, b"x" * 5000)).url), allow_private=True)
    assert attempt.body == b"x" * 1024


def test_a_refused_connection_is_retry_and_its_error_names_no_url() -> None:
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    attempt = send(post(f"http://127.0.0.1:{port}/secret-path-token"), allow_private=True)
    assert attempt.outcome == "retry"
    assert attempt.error is not None
    assert "secret-path-token" not in attempt.error
    assert "127.0.0.1" not in attempt.error


@pytest.fixture
def no_connections(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Fails the test if anything opens a connection through urllib3."""
    tried: list[object] = []

    def refuse(address: object, *args: object, **kwargs: object) -> socket.socket:
        tried.append(address)
        raise AssertionError("a refused destination was connected to")

    monkeypatch.setattr(urllib3.util.connection, "create_connection", refuse)
    return tried


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/hook",
        "http://10.0.0.1/hook",
        "https://192.168.1.1/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "http://0.0.0.0/hook",
        "http://224.0.0.1/hook",
        "http://localhost/hook",
    ],
)
def test_private_destinations_are_refused_before_connecting(url: str, no_connections: list[object]) -> None:
    attempt = send(post(url))
    assert attempt.outcome == "failed"
    assert attempt.status_code is None
    assert attempt.error is not None
    assert "private" in attempt.error
    assert no_connections == []


def test_a_loopback_receiver_gets_nothing_without_allow_private(receiver: Callable[..., Receiver]) -> None:
    r = receiver(answer(200))
    assert send(post(r.url)).outcome == "failed"
    assert r.requests == []


@pytest.mark.parametrize(
    "url", ["ftp://example.com/x", "file:///etc/passwd", "http:///nohost", "http://user:pw@example.com/"]
)
def test_other_urls_are_refused(url: str, no_connections: list[object]) -> None:
    attempt = send(post(url))
    assert attempt.outcome == "failed"
    assert no_connections == []


def test_every_resolved_address_is_checked(
    monkeypatch: pytest.MonkeyPatch, no_connections: list[object]
) -> None:
    """A name with one public and one private address is refused (no lucky pick of the public one)."""

    def resolve(host: str, port: int, *args: Any, **kwargs: Any) -> list[Any]:
        assert host == "rebind.example"
        return [
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", port)),
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.1.2.3", port)),
        ]

    monkeypatch.setattr(http.socket, "getaddrinfo", resolve)
    assert send(post("http://rebind.example/hook")).outcome == "failed"
    assert no_connections == []


def test_the_checked_address_is_connected_with_the_original_host_header(
    receiver: Callable[..., Receiver], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Resolved once, by the sender: the name is never looked up again by the HTTP client."""
    r = receiver(answer(200))
    port = r.server.server_address[1]
    real = socket.getaddrinfo
    lookups: list[str] = []

    def resolve(host: str, *args: Any, **kwargs: Any) -> Any:
        lookups.append(host)
        if host == "receiver.example":
            return real("127.0.0.1", *args, **kwargs)
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    attempt = send(post(f"http://receiver.example:{port}/hook"), allow_private=True)
    assert attempt.outcome == "sent"
    assert r.requests[0]["headers"]["Host"] == f"receiver.example:{port}"
    assert lookups.count("receiver.example") == 1


def test_retry_after_as_an_http_date() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    later = format_datetime(now + timedelta(seconds=120), usegmt=True)
    assert parse_retry_after(later, now.timestamp()) == 120
    assert parse_retry_after(format_datetime(now - timedelta(seconds=5), usegmt=True), now.timestamp()) == 0
    assert parse_retry_after("soon", now.timestamp()) is None
    assert parse_retry_after(None, now.timestamp()) is None


def test_backoff_grows_with_jitter_is_capped_and_honours_retry_after() -> None:
    first = [backoff(1) for _ in range(50)]
    assert all(5 <= d <= 10 for d in first)
    assert len(set(first)) > 1  # jitter
    assert all(20 <= backoff(3) <= 40 for _ in range(20))
    assert all(backoff(30) <= BACKOFF_CAP for _ in range(20))
    assert backoff(1, retry_after=120) == 120
    assert backoff(1, retry_after=5000) == BACKOFF_CAP
