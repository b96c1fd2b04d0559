"""HTTP client for the management API: SigV4-signed on AWS, and on the local stack when asked (its
``--auth iam`` requires it); plain otherwise.

What fails on the way (no connection, a timeout, 429, 502-504, or an answer with Retry-After) is
tried again, ``ATTEMPTS`` times in all with backoff, when trying again cannot act twice: a GET,
PUT or PATCH, or a POST sent ``once`` (with an ``Idempotency-Key``, the same on every
attempt: the API answers a repeat with the first answer). A POST whose answer holds a secret (a new
source or channel) is sent once and never retried.
"""

from __future__ import annotations

import http.client
import json
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

ATTEMPTS = 4
BACKOFF = 0.5  # seconds before the second attempt; doubled for each next one
RETRY_AFTER_MAX = 10.0  # seconds: the longest Retry-After waited for (a longer one: this long)
TRANSIENT = frozenset({429, 502, 503, 504})
REPEATABLE = frozenset({"GET", "PUT", "PATCH"})  # a DELETE tried again would answer 404


class ApiError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"{status}: {message}")
        self.status = status
        self.message = message

    @classmethod
    def of(cls, status: int, answered: Any) -> ApiError:
        """From an error answer's body: the API's ``error``, API Gateway's ``message``, or the text."""
        if isinstance(answered, dict):
            return cls(status, str(answered.get("error") or answered.get("message") or answered))
        return cls(status, str(answered))


class Client:
    def __init__(
        self,
        base_url: str,
        *,
        sign_region: str | None = None,
        timeout: float = 30,
        idempotency_key: str | None = None,
    ) -> None:
        """``idempotency_key``: the key of every POST sent ``once`` (a script that runs again sends
        the same, and acts once); by default a new one per request."""
        self.base_url = base_url.rstrip("/")
        self._region = sign_region
        self._timeout = timeout
        self._key = idempotency_key

    @classmethod
    def for_stack(cls, stack_name: str, region: str | None = None, **options: Any) -> Client:
        """The deployed stack's API (from its outputs), with requests signed by your AWS credentials."""
        import boto3  # noqa: PLC0415

        cfn = boto3.client("cloudformation", region_name=region)
        stack = cfn.describe_stacks(StackName=stack_name)["Stacks"][0]
        outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
        return cls(outputs["ApiBaseUrl"], sign_region=cfn.meta.region_name, **options)

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        query: Mapping[str, str | None] | None = None,
        *,
        once: bool = False,
    ) -> Any:
        """``once``: a POST the API takes an ``Idempotency-Key`` on, so that it may be retried."""
        params = {k: v for k, v in (query or {}).items() if v is not None}
        url = f"{self.base_url}{path}" + (f"?{urlencode(params)}" if params else "")
        data = None if body is None else json.dumps(body).encode()
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if once:
            headers["Idempotency-Key"] = self._key or str(uuid.uuid4())
        attempts, attempt = (ATTEMPTS if once or method in REPEATABLE else 1), 1
        while True:
            try:
                return self._send(method, url, data, headers)
            except _Transient as exc:
                if attempt == attempts:
                    raise exc.error from None
                time.sleep(exc.wait if exc.wait is not None else BACKOFF * 2 ** (attempt - 1))
                attempt += 1

    def _send(self, method: str, url: str, data: bytes | None, headers: dict[str, str]) -> Any:
        signed = self._sign(method, url, data, headers) if self._region else headers
        req = urllib.request.Request(url, data=data, method=method, headers=signed)  # noqa: S310
        try:
            with urllib.request.urlopen(req, timeout=self._timeout) as resp:  # noqa: S310  (http(s) only)
                raw = resp.read()
        except urllib.error.HTTPError as exc:
            raw = exc.read()
            try:
                answered: Any = json.loads(raw)
            except ValueError:
                answered = raw.decode(errors="replace")
            error = ApiError.of(exc.code, answered)
            wait = _retry_after(exc.headers.get("Retry-After"))
            if exc.code in TRANSIENT or wait is not None:
                raise _Transient(error, wait) from None
            raise error from None
        except urllib.error.URLError as exc:
            raise _Transient(ApiError(0, f"cannot reach {self.base_url}: {exc.reason}"), None) from None
        except (ConnectionError, http.client.HTTPException) as exc:  # e.g. closed without an answer
            raise _Transient(
                ApiError(0, f"the connection to {self.base_url} broke: {exc or type(exc).__name__}"), None
            ) from None
        except TimeoutError:
            raise _Transient(
                ApiError(0, f"no answer from {self.base_url} in {self._timeout:g} s"), None
            ) from None
        return json.loads(raw) if raw else None

    def _sign(self, method: str, url: str, data: bytes | None, headers: dict[str, str]) -> dict[str, str]:
        import boto3  # noqa: PLC0415
        from botocore.auth import SigV4Auth  # noqa: PLC0415
        from botocore.awsrequest import AWSRequest  # noqa: PLC0415

        credentials = boto3.Session().get_credentials()
        if credentials is None:
            raise ApiError(0, "no AWS credentials to sign the request with")
        request = AWSRequest(method=method, url=url, data=data, headers=headers)
        SigV4Auth(credentials.get_frozen_credentials(), "execute-api", self._region or "us-east-1").add_auth(
            request
        )
        return dict(request.headers.items())


class _Transient(Exception):
    """A failure worth another attempt: the error to raise if none is left, and how long the
    server asked to wait (Retry-After), if it did."""

    def __init__(self, error: ApiError, wait: float | None) -> None:
        super().__init__(error.message)
        self.error = error
        self.wait = wait


def _retry_after(value: str | None) -> float | None:
    """Retry-After in seconds (delta-seconds only; the API sends no dates), at most RETRY_AFTER_MAX."""
    if value is None or not value.strip().isdigit():
        return None
    return min(float(value.strip()), RETRY_AFTER_MAX)
