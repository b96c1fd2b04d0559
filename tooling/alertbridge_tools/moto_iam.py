"""The functions' roles enforced by the emulator, as IAM enforces them on AWS.

moto authenticates a call (the SigV4 signature, an STS session's keys) and then evaluates the
caller's policies, but against the resource ``*`` for every service but S3, with conditions
treated as an explicit deny: a least-privilege statement (a table's ARN, ``dynamodb:LeadingKeys``)
never allows anything there. So for a call signed with a function's role keys (``enforce``), moto
still checks the signature, and ``iam_policy`` decides: the call's checks as AWS performs them
(action, resource ARN, condition keys; a TransactWriteItems item by item) against the role's
statements. A refused call gets the service's own AccessDenied answer and is logged (like a
CloudTrail record); when recording (the test suite), it is kept in ``RECORD`` with every other call
a function made: the suite fails a test during which a function was refused unless the test expects
it (``tests/conftest.py``).

Calls signed with any other keys (the tests, the operator's CLI, the local stack's setup) are
the account owner's: not checked, as moto does without enforcement.
"""

from __future__ import annotations

import base64
import functools
import json
import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

from moto.core.authorization import ActionAuthenticatorMixin
from moto.core.exceptions import JsonRESTError, _RESTError
from moto.s3.exceptions import S3AccessDeniedError

from alertbridge_tools import iam_policy
from alertbridge_tools.template import ACCOUNT, REGION

log = logging.getLogger("alertbridge.local.iam")


@dataclass(frozen=True)
class Principal:
    function: str
    arn: str  # the role session's ARN, as AWS names the caller in its refusals
    policies: tuple[tuple[str, dict[str, Any]], ...]

    @functools.cached_property
    def statements(self) -> iam_policy.Statements:
        """Its policies' statements, checked once (an unsupported policy raises at every call)."""
        return iam_policy.statements(self.policies)


@dataclass(frozen=True)
class Call:
    """One AWS call a function made under its role, and what IAM made of it."""

    function: str
    service: str
    operation: str
    checks: tuple[iam_policy.Check, ...]
    allowed: bool
    reason: str = ""  # why it was refused
    used: tuple[tuple[str, int], ...] = ()  # the statements that allowed it


@dataclass
class Record:
    """Every call of every function since recording began (a test reads from its mark). Off
    unless turned on (the test suite does): a long-running local stack would keep them all."""

    recording: bool = False
    calls: list[Call] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, call: Call) -> None:
        if not self.recording:
            return
        with self._lock:
            self.calls.append(call)

    def mark(self) -> int:
        return len(self.calls)

    def since(self, mark: int) -> list[Call]:
        with self._lock:
            return self.calls[mark:]


RECORD = Record()
_PRINCIPALS: dict[str, Principal] = {}  # a role session's access key id -> the function it is
_original = ActionAuthenticatorMixin._authenticate_and_authorize_action


def enforce(access_key: str, principal: Principal) -> None:
    """Calls signed with ``access_key`` are ``principal``'s, checked against its policies."""
    _PRINCIPALS[access_key] = principal
    apply()


def apply() -> None:
    ActionAuthenticatorMixin._authenticate_and_authorize_action = _authorize  # type: ignore[method-assign]


def _access_key(authorization: str | None) -> str:
    if not authorization or "Credential=" not in authorization:
        return ""
    return authorization.split("Credential=", 1)[1].split("/", 1)[0]


class _Resolver:
    """What only the emulator knows about a call's resources."""

    def __init__(self, account: str, region: str) -> None:
        self._account = account
        self._region = region

    def partition_key(self, table: str, index: str | None) -> str:
        from moto.dynamodb.models import dynamodb_backends  # noqa: PLC0415

        found = dynamodb_backends[self._account][self._region].get_table(table.rsplit("/", 1)[-1])
        if index is None:
            return found.hash_key_attr
        for candidate in [*found.global_indexes, *found.indexes]:
            if candidate.name == index:
                return str(next(k["AttributeName"] for k in candidate.schema if k["KeyType"] == "HASH"))
        raise KeyError(f"no index {index} on {table}")

    def stream_arn(self, shard_iterator: str) -> str:
        return shard_iterator.split("|", 1)[0]  # moto's iterators start with their stream's ARN

    def kms_key_arn(self, key_id: str | None, ciphertext: bytes | None) -> str:
        from moto.kms.models import kms_backends  # noqa: PLC0415
        from moto.kms.utils import _deserialize_ciphertext_blob  # noqa: PLC0415

        backend = kms_backends[self._account][self._region]
        if key_id is None:
            if ciphertext is None:
                raise KeyError("no key named")
            key_id = _deserialize_ciphertext_blob(ciphertext).key_id
        return str(backend.keys[backend.any_id_to_key_id(key_id)].arn)


def _params(response: Any, service: str, resource: str) -> tuple[str, dict[str, Any]]:
    """The call's operation and its input, with the API's member names."""
    if service == "s3":
        bucket, _, key = resource.removeprefix("arn:aws:s3:::").partition("/")
        return str(response.data["Action"]), {"Bucket": bucket, **({"Key": key} if key else {})}
    operation = str(response._get_action())
    if service == "sns":  # the query protocol: form fields
        return operation, {k: v[0] if isinstance(v, list) else v for k, v in response.querystring.items()}
    body = response.raw_body  # the JSON protocols' input as sent (moto may have parsed .body)
    params: dict[str, Any] = json.loads(body) if body else {}
    if operation == "Decrypt" and "CiphertextBlob" in params:
        params["CiphertextBlob"] = base64.b64decode(params["CiphertextBlob"])
    return operation, params


def _message(principal: Principal, check: iam_policy.Check | None, explicit: bool) -> str:
    """A refusal worded as AWS words it."""
    if check is None:
        message = f"User: {principal.arn} is not authorized to perform this call"
    elif explicit:
        message = (
            f"User: {principal.arn} is not authorized to perform: {check.action} on resource: "
            f"{check.resource} with an explicit deny in an identity-based policy"
        )
    else:
        message = (
            f"User: {principal.arn} is not authorized to perform: {check.action} on resource: "
            f"{check.resource} because no identity-based policy allows the {check.action} action"
        )
    return message


def _refusal(service: str, message: str) -> Exception:
    """The service's own AccessDenied answer."""
    if service == "s3":
        return S3AccessDeniedError()
    if service == "sns":
        error = _RESTError("AuthorizationError", message)
        error.code = 403
        return error
    refusal = JsonRESTError("AccessDeniedException", message)
    refusal.code = 403 if service == "sqs" else 400
    return refusal


def _authorize(self: Any, iam_request_cls: type, resource: str = "*") -> None:
    principal = _PRINCIPALS.get(_access_key(self.headers.get("Authorization")))
    if principal is None:
        _original(self, iam_request_cls, resource)
        return
    request = iam_request_cls(
        account_id=self.current_account,
        method=self.method,
        path=self.raw_path + (f"?{query}" if (query := urlparse(self.uri).query) else ""),
        data=self.data,
        body=self.raw_body,
        headers=self.headers,
        action=self._get_action(),
    )
    request.check_signature()
    service = request._service
    operation, params = _params(self, service, resource)
    checks: Sequence[iam_policy.Check] = ()
    try:
        checks = iam_policy.checks(
            service, operation, params, region=REGION, account=ACCOUNT, resolver=_Resolver(ACCOUNT, REGION)
        )
        decision = iam_policy.evaluate(principal.statements, checks)
    except (iam_policy.UnknownOperation, iam_policy.UnsupportedPolicy) as exc:
        message = f"{_message(principal, None, explicit=False)}: {exc}"
        _refuse(principal, service, operation, tuple(checks), message)
        raise _refusal(service, message) from exc
    if decision.allowed:
        RECORD.add(Call(principal.function, service, operation, tuple(checks), True, used=decision.used))
        return
    message = _message(principal, decision.denied, decision.explicit)
    _refuse(principal, service, operation, tuple(checks), message)
    raise _refusal(service, message)


def _refuse(principal: Principal, service: str, operation: str, checks: tuple[Any, ...], reason: str) -> None:
    RECORD.add(Call(principal.function, service, operation, checks, False, reason))
    log.warning("AccessDenied: %s %s:%s refused: %s", principal.function, service, operation, reason)


def _statements(document: dict[str, Any]) -> list[dict[str, Any]]:
    found = document.get("Statement", [])
    return [found] if isinstance(found, dict) else list(found)


def _touched(check: iam_policy.Check) -> str:
    """An action and the key prefixes it touched: ``dynamodb:PutItem [inc_, DUE#]``."""
    keys = sorted(
        {
            key[: min((key.find(c) for c in "#_" if c in key), default=len(key)) + 1]
            for key in check.context.get("dynamodb:LeadingKeys", ())
        }
    )
    return f"{check.action} [{', '.join(keys)}]" if keys else check.action


def summary(calls: Sequence[Call]) -> dict[str, Any]:
    """Per function: its calls, refusals, what they touched, and its statements used and held."""
    out: dict[str, Any] = {}
    for call in calls:
        entry = out.setdefault(call.function, {"calls": 0, "refused": 0, "touched": {}, "used": set()})
        entry["calls"] += 1
        entry["refused"] += not call.allowed
        for check in call.checks:
            touched = _touched(check)
            entry["touched"][touched] = entry["touched"].get(touched, 0) + 1
        entry["used"] |= set(call.used)
    held = {p.function: p.policies for p in _PRINCIPALS.values()}
    for function, entry in out.items():
        entry["used"] = sorted(entry["used"])
        entry["statements"] = [
            [name, index, statement.get("Action")]
            for name, document in held.get(function, ())
            for index, statement in enumerate(_statements(document))
            if statement.get("Effect") == "Allow"
        ]
    return out


def report(parts: Sequence[dict[str, Any]]) -> list[str]:
    """The suite's summary lines from the per-test ``summary`` parts."""
    total: dict[str, dict[str, Any]] = {}
    for part in parts:
        for function, entry in part.items():
            into = total.setdefault(
                function, {"calls": 0, "refused": 0, "touched": {}, "used": set(), "held": {}}
            )
            into["calls"] += entry["calls"]
            into["refused"] += entry["refused"]
            for touched, count in entry["touched"].items():
                into["touched"][touched] = into["touched"].get(touched, 0) + count
            into["used"] |= {(name, index) for name, index in entry["used"]}
            into["held"].update({(name, index): action for name, index, action in entry["statements"]})
    lines = []
    for function in sorted(total):
        entry = total[function]
        touched = ", ".join(f"{name} x{count}" for name, count in sorted(entry["touched"].items()))
        lines.append(f"{function}: {entry['calls']} calls, {entry['refused']} refused: {touched}")
        unused = [
            f"{name}[{index}] {action}"
            for (name, index), action in sorted(entry["held"].items())
            if (name, index) not in entry["used"]
        ]
        if unused:
            lines.append(f"  statements no call used: {'; '.join(unused)}")
    return lines
