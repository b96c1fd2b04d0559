"""HTTP client for the management API: SigV4-signed on AWS, and on the local stack when asked (its
``--auth iam`` requires it); plain otherwise."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode


class ApiError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"{status}: {message}")
        self.status = status
        self.message = message


class Client:
    def __init__(self, base_url: str, *, sign_region: str | None = None, timeout: float = 30) -> None:
        self.base_url = base_url.rstrip("/")
        self._region = sign_region
        self._timeout = timeout

    @classmethod
    def for_stack(cls, stack_name: str, region: str | None = None) -> Client:
        """The deployed stack's API (from its outputs), with requests signed by your AWS credentials."""
        import boto3  # noqa: PLC0415

        cfn = boto3.client("cloudformation", region_name=region)
        stack = cfn.describe_stacks(StackName=stack_name)["Stacks"][0]
        outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
        return cls(outputs["ApiBaseUrl"], sign_region=cfn.meta.region_name)

    def request(
        self, method: str, path: str, body: Any = None, query: Mapping[str, str | None] | None = None
    ) -> Any:
        params = {k: v for k, v in (query or {}).items() if v is not None}
        url = f"{self.base_url}{path}" + (f"?{urlencode(params)}" if params else "")
        data = None if body is None else json.dumps(body).encode()
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self._region:
            headers = self._sign(method, url, data, headers)
        req = urllib.request.Request(url, data=data, method=method, headers=headers)  # noqa: S310
        try:
            with urllib.request.urlopen(req, timeout=self._timeout) as resp:  # noqa: S310  (http(s) only)
                raw = resp.read()
        except urllib.error.HTTPError as exc:
            raw = exc.read()
            try:
                message = json.loads(raw).get("error") or json.loads(raw).get("message") or raw.decode()
            except (ValueError, AttributeError):
                message = raw.decode(errors="replace")
            raise ApiError(exc.code, str(message)) from None
        except urllib.error.URLError as exc:
            raise ApiError(0, f"cannot reach {self.base_url}: {exc.reason}") from None
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
