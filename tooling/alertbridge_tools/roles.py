"""Each function runs as its own IAM role, as on Lambda: the roles ``sam deploy`` would create.

The roles come from samtranslator's transform of template.yaml (``sam.transform``: the
function's ``Policies`` with SAM policy templates expanded as SAM expands them, its managed policies,
the statements of the template's ``AWS::IAM::ManagedPolicy`` resources it attaches), with the local
stack's resource names put in. Each is created in the emulator's IAM (``iam get-role-policy``
against the emulator shows it) and assumed through STS, so every call of the function is signed
with that role's session keys; ``moto_iam`` authorizes those calls against the role's statements.
AWS managed policies (AWSLambdaBasicExecutionRole, ...) cannot be created through IAM's API: their
documents are moto's bundled copies of AWS's.

The functions of the local stack share one process, and the package builds one client per service
for all of them (``alertbridge.runtime``), as each execution environment does on Lambda. So the keys
a call is signed with are a context variable's (``acting_as``): each invocation runs in its own
context (the harness), the worker pools a function starts inherit it (``logs.per_invocation``), and
outside any function (the tests, the operator's calls) the process's own credentials sign.
"""

from __future__ import annotations

import contextvars
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, TypeVar

import boto3
import botocore.session
from botocore.credentials import Credentials, ReadOnlyCredentials
from moto.iam.exceptions import NotFoundException

from alertbridge_tools import moto_iam
from alertbridge_tools.template import ACCOUNT, REGION, Resolver, Stack, load_template

T = TypeVar("T")

_ACTING: contextvars.ContextVar[ReadOnlyCredentials | None] = contextvars.ContextVar(
    "alertbridge_acting_as", default=None
)


@dataclass(frozen=True)
class FunctionRole:
    function: str  # the template's logical id
    arn: str
    policies: tuple[tuple[str, dict[str, Any]], ...]  # (policy name, document), names resolved
    credentials: ReadOnlyCredentials  # the role's STS session keys


@cache
def _transformed(path: Path, modified: float) -> dict[str, Any]:
    from alertbridge_tools.sam import transform  # noqa: PLC0415  (samtranslator: a slow import)

    del modified  # part of the cache key: a changed template is transformed again
    return transform(load_template(path))


@cache
def _aws_managed() -> dict[str, Any]:
    from moto.iam.aws_managed_policies import aws_managed_policies_data  # noqa: PLC0415

    documents: dict[str, Any] = json.loads(aws_managed_policies_data)
    return documents


def _managed_document(arn: str) -> dict[str, Any]:
    name = arn.rsplit("/", 1)[-1]
    if not arn.startswith("arn:aws:iam::aws:policy/") or name not in _aws_managed():
        raise KeyError(f"unknown AWS managed policy {arn}")
    document: dict[str, Any] = _aws_managed()[name]["Document"]
    return document


def _role_specs(stack: Stack) -> Iterator[tuple[str, dict[str, Any], list[tuple[str, dict[str, Any]]]]]:
    """(function, trust policy, policies) of every function, from the transformed template."""
    out = _transformed(stack.template_path, stack.template_path.stat().st_mtime)
    resources: dict[str, Any] = out["Resources"]
    resolver = Resolver(out, stack)
    for logical, spec in resources.items():
        if spec["Type"] != "AWS::Lambda::Function" or logical not in stack.functions:
            continue
        role_id = spec["Properties"]["Role"]["Fn::GetAtt"][0]
        props = resources[role_id]["Properties"]
        policies = [
            (policy["PolicyName"], resolver.value(policy["PolicyDocument"]))
            for policy in props.get("Policies", [])
        ]
        for arn in props.get("ManagedPolicyArns", []):
            if isinstance(arn, dict) and "Ref" in arn:  # the template's own AWS::IAM::ManagedPolicy
                policies.append(
                    (arn["Ref"], resolver.value(resources[arn["Ref"]]["Properties"]["PolicyDocument"]))
                )
            else:
                resolved = str(resolver.value(arn))
                policies.append((resolved.rsplit("/", 1)[-1], _managed_document(resolved)))
        yield logical, resolver.value(props["AssumeRolePolicyDocument"]), policies


def create_roles(stack: Stack) -> dict[str, FunctionRole]:
    """Create (or, on a restored emulator, update) each function's role and assume it.

    Through moto's IAM and STS backends, with their own validation, not their APIs: the emulator
    runs in this process (the tests, the local stack), and IAM's query protocol costs ~4 ms a
    call, ~60 calls for every stack a test creates."""
    from moto.iam.models import iam_backends  # noqa: PLC0415
    from moto.sts.models import sts_backends  # noqa: PLC0415

    iam = iam_backends[ACCOUNT]["aws"]
    sts = sts_backends[ACCOUNT]["aws"]
    roles: dict[str, FunctionRole] = {}
    for function, trust, policies in _role_specs(stack):
        name = f"alertbridge-{function}"[:64]
        try:
            role = iam.get_role(name)  # the data directory's emulator has it: the template may have changed
            iam.update_assume_role_policy(name, json.dumps(trust))
            for old in list(role.policies):
                iam.delete_role_policy(name, old)
        except NotFoundException:
            role = iam.create_role(name, json.dumps(trust), "/", None, f"{function}'s role", [], None)
        for policy, document in policies:
            # IAM reads a document without a Version as 2008-10-17, which moto refuses; without
            # policy variables (iam_policy refuses them) the two versions mean the same.
            iam.put_role_policy(name, policy, json.dumps({"Version": "2012-10-17", **document}))
        session = sts.assume_role(REGION, function[:64], role.arn, "", 3600, "")
        credentials = ReadOnlyCredentials(
            session.access_key_id, session.secret_access_key, session.session_token
        )
        moto_iam.enforce(
            session.access_key_id,
            moto_iam.Principal(function, session.arn, tuple(policies)),
        )
        roles[function] = FunctionRole(function, role.arn, tuple(policies), credentials)
    return roles


class _ActingCredentials(Credentials):
    """The keys of the function whose invocation runs in this context; else the process's own."""

    def __init__(self, fallback: Credentials | None) -> None:
        super().__init__("", "")
        self._fallback = fallback

    def get_frozen_credentials(self) -> ReadOnlyCredentials:
        acting = _ACTING.get()
        if acting is not None:
            return acting
        if self._fallback is None:
            raise RuntimeError("no AWS credentials outside a function (set AWS_ACCESS_KEY_ID)")
        frozen: ReadOnlyCredentials = self._fallback.get_frozen_credentials()
        return frozen


def install() -> None:
    """Every boto3 client built after this signs with ``acting_as``'s keys (the default session;
    once per process: a session loads each service's model once)."""
    current = boto3.DEFAULT_SESSION
    if current is not None and isinstance(current._session.get_credentials(), _ActingCredentials):
        return
    core = botocore.session.Session()
    acting = _ActingCredentials(core.get_credentials())
    core._credentials = acting  # type: ignore[attr-defined]  # what get_credentials() returns from then on
    boto3.DEFAULT_SESSION = boto3.Session(botocore_session=core, region_name=REGION)


def acting_as[T](role: FunctionRole, call: Callable[..., T], *args: Any) -> T:
    """``call(*args)`` signing its AWS calls as ``role`` (run it in a context of its own)."""
    _ACTING.set(role.credentials)
    return call(*args)


def client(role: FunctionRole, service: str, endpoint_url: str | None, **kwargs: Any) -> Any:
    """A client that always signs as ``role`` (what Lambda's pollers of the function's queue or
    stream use: the function's execution role)."""
    return boto3.client(  # type: ignore[call-overload]
        service,
        region_name=REGION,
        endpoint_url=endpoint_url,
        aws_access_key_id=role.credentials.access_key,
        aws_secret_access_key=role.credentials.secret_key,
        aws_session_token=role.credentials.token,
        **kwargs,
    )
