"""The outbound HTTP sender of the webhook-style channels (Slack, Teams, webhook, PagerDuty).

Channel URLs are typed in by users, so a send must not become a way into the network it runs in
(SSRF): only http(s), no redirects followed, and the host is resolved here and every address
checked before anything is connected; the connection then goes to the checked address, with the
original name in the Host header and as the TLS server name (certificates are still verified for
it), so a DNS answer that changes between check and connect (rebinding) cannot bypass the check.

``send`` never raises for network trouble: it returns an ``Attempt`` saying whether to retry, and
its error text never holds the URL (a Slack or Teams URL is its own credential) or a header.
"""

from __future__ import annotations

import email.utils
import ipaddress
import math
import random
import socket
import time
from typing import Literal, NamedTuple
from urllib.parse import urlsplit

import urllib3
from urllib3.exceptions import HTTPError, NameResolutionError, SSLError
from urllib3.exceptions import TimeoutError as Urllib3Timeout

from alertbridge.notify.message import Outbound

BODY_LIMIT = 1024  # bytes of a response body kept (for the timeline and debugging)
BACKOFF_BASE = 10.0  # seconds before the first retry
BACKOFF_CAP = 900.0  # SQS's largest delay: a retry is a delayed message
USER_AGENT = "alertbridge-notify/1"

Outcome = Literal["sent", "retry", "failed"]

_rng = random.SystemRandom()


class Attempt(NamedTuple):
    outcome: Outcome
    status_code: int | None = None
    retry_after: int | None = None  # seconds, from the receiver's Retry-After
    error: str | None = None
    body: bytes = b""


class Refused(ValueError):
    """The URL or its addresses are not allowed as a destination."""


def send(outbound: Outbound, *, timeout: float = 10.0, allow_private: bool = False) -> Attempt:
    """POST ``outbound`` once, within ``timeout`` seconds for connect and response together.

    2xx is sent; 429, 5xx, timeouts and connection errors are retry; 3xx (never followed) and
    other 4xx are failed, as is a URL or address refused. ``allow_private`` lets loopback and
    private addresses through (the local stack and tests only).
    """
    try:
        scheme, host, port, target = _parse(outbound.url)
        address = _resolve(host, port, allow_private)
    except Refused as refused:
        return Attempt("failed", error=str(refused))
    except OSError:
        return Attempt("retry", error="name resolution failed")

    name = f"[{host}]" if ":" in host else host  # an IPv6 literal keeps its brackets
    host_header = name if port == (443 if scheme == "https" else 80) else f"{name}:{port}"
    headers = {"User-Agent": USER_AGENT, **outbound.headers, "Host": host_header}
    pool: urllib3.HTTPConnectionPool
    if scheme == "https":
        pool = urllib3.HTTPSConnectionPool(address, port, server_hostname=host, retries=False)
    else:
        pool = urllib3.HTTPConnectionPool(address, port, retries=False)
    try:
        response = pool.urlopen(
            "POST",
            target,
            body=outbound.body,
            headers=headers,
            redirect=False,
            retries=False,
            assert_same_host=False,
            timeout=urllib3.Timeout(total=timeout),
            preload_content=False,
        )
        try:
            body = response.read(BODY_LIMIT)
        finally:
            response.release_conn()
    except SSLError:
        return Attempt("failed", error="TLS handshake or certificate verification failed")
    except Urllib3Timeout:
        return Attempt("retry", error=f"timed out after {timeout:g}s")
    except NameResolutionError:
        return Attempt("retry", error="name resolution failed")
    except HTTPError as error:
        return Attempt("retry", error=f"connection failed ({_reason(error)})")
    finally:
        pool.close()
    return _judge(response.status, response.headers.get("Retry-After"), body)


def backoff(attempt: int, retry_after: int | None = None) -> float:
    """Seconds to wait before retry number ``attempt`` (from 1): exponential with jitter, never
    sooner than the receiver's Retry-After, at most ``BACKOFF_CAP``."""
    ceiling = min(BACKOFF_CAP, BACKOFF_BASE * 2 ** (max(attempt, 1) - 1))
    delay = _rng.uniform(ceiling / 2, ceiling)
    if retry_after is not None:
        delay = max(delay, float(retry_after))
    return min(delay, BACKOFF_CAP)


def parse_retry_after(value: str | None, now: float) -> int | None:
    """Retry-After as seconds from ``now``: delta-seconds or an HTTP-date; None when unreadable."""
    if value is None:
        return None
    text = value.strip()
    if text.isdigit():
        return int(text)
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max(0, math.ceil(when.timestamp() - now))


def _judge(status: int, retry_after: str | None, body: bytes) -> Attempt:
    if 200 <= status < 300:
        return Attempt("sent", status_code=status, body=body)
    if status == 429 or status >= 500:
        wait = parse_retry_after(retry_after, time.time())
        return Attempt("retry", status_code=status, retry_after=wait, error=f"HTTP {status}", body=body)
    if 300 <= status < 400:
        return Attempt(
            "failed", status_code=status, error=f"HTTP {status}: redirects are not followed", body=body
        )
    return Attempt("failed", status_code=status, error=f"HTTP {status}", body=body)


def _parse(url: str) -> tuple[str, str, int, str]:
    """(scheme, host, port, request target) of an http(s) URL."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:
        raise Refused("the URL is not valid") from error
    if parts.scheme not in {"http", "https"}:
        raise Refused("only http and https URLs are allowed")
    if not parts.hostname:
        raise Refused("the URL has no host")
    if parts.username is not None or parts.password is not None:
        raise Refused("credentials in the URL are not allowed")
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return parts.scheme, parts.hostname, port or (443 if parts.scheme == "https" else 80), target


def _resolve(host: str, port: int, allow_private: bool) -> str:
    """The address to connect to, after checking every address the name resolves to."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    addresses = [str(info[4][0]) for info in infos]
    if not addresses:
        raise OSError("no address")
    if not allow_private:
        for text in addresses:
            address = ipaddress.ip_address(text.split("%", 1)[0])
            if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
                address = address.ipv4_mapped
            if not address.is_global or address.is_multicast:
                raise Refused(
                    "the host resolves to a private, loopback, link-local, multicast or reserved address"
                )
    return addresses[0]


def _reason(error: BaseException) -> str:
    """A short cause without the URL or host: the class name and the OS error text, if any."""
    cause: BaseException | None = error
    while cause is not None:
        if isinstance(cause, OSError) and cause.strerror:
            return f"{type(error).__name__}: {cause.strerror}"
        cause = cause.__cause__ or cause.__context__ or getattr(cause, "reason", None)
    return type(error).__name__
