"""The SAM transform's output against what the local stack runs (``make template``).

template.py reads template.yaml itself to build the local stack (functions, routes, queue and stream
mappings, schedules); AWS deploys what samtranslator makes of the same file. This check transforms
the template offline (samtranslator, no network: a static managed-policy map) and compares:

- every AWS::Serverless::Function became an AWS::Lambda::Function (same handler and environment
  variable names) running as its own AWS::IAM::Role;
- each role holds every statement and managed policy the function's ``Policies`` declare (SAM
  policy templates expanded as SAM expands them), and what the local stack assumes Lambda may do for
  it: write its logs, poll each queue or stream the local stack polls for it, send to its on-failure
  destination;
- every route the local stack serves is a method of the template's one API, with API Gateway's
  permission to invoke the function for it;
- the routes, SQS and DynamoDB stream mappings (batch size, batching window, ReportBatchItemFailures,
  concurrency, retries, filters, destination) and schedules are the same on both sides;
- every resource type of the template is created by the local stack or listed in
  ``template.NOT_EMULATED`` with the reason.

``python -m alertbridge_tools.transform_check [template.yaml]`` prints each mismatch and exits 1.
"""

from __future__ import annotations

import fnmatch
import re
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import boto3
from moto import mock_aws
from samtranslator.policy_template_processor.processor import PolicyTemplatesProcessor

from alertbridge_tools.roles import FunctionRole, create_roles
from alertbridge_tools.sam import MANAGED_POLICIES, transform
from alertbridge_tools.template import NOT_EMULATED, REGION, TEMPLATE, Stack, create_stack, load_template

# What the AWS managed policies above allow, for the checks of what the local stack assumes.
MANAGED_ACTIONS = {
    MANAGED_POLICIES["AWSLambdaBasicExecutionRole"]: [
        "logs:CreateLogGroup",
        "logs:CreateLogStream",
        "logs:PutLogEvents",
    ],
    MANAGED_POLICIES["AWSLambdaSQSQueueExecutionRole"]: [
        "sqs:ReceiveMessage",
        "sqs:DeleteMessage",
        "sqs:GetQueueAttributes",
        "logs:CreateLogGroup",
        "logs:CreateLogStream",
        "logs:PutLogEvents",
    ],
    MANAGED_POLICIES["AWSLambdaDynamoDBExecutionRole"]: [
        "dynamodb:DescribeStream",
        "dynamodb:GetRecords",
        "dynamodb:GetShardIterator",
        "dynamodb:ListStreams",
        "logs:CreateLogGroup",
        "logs:CreateLogStream",
        "logs:PutLogEvents",
    ],
    MANAGED_POLICIES["AWSXrayWriteOnlyAccess"]: ["xray:PutTraceSegments", "xray:PutTelemetryRecords"],
}
_POLICY_TEMPLATES = PolicyTemplatesProcessor(PolicyTemplatesProcessor.get_default_policy_templates_json())
SQS_POLL = ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes")
STREAM_POLL = ("dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator")
LOGS = ("logs:CreateLogStream", "logs:PutLogEvents")


def local_stack(template_path: Path) -> tuple[Stack, dict[str, FunctionRole]]:
    """The local stack's view of the template: what template.py creates, and the functions' roles
    (roles.py), on an in-process moto."""
    with mock_aws():
        stack = create_stack(boto3.Session(region_name=REGION), template_path=template_path)
        return stack, create_roles(stack)


def _actions(statement: dict[str, Any]) -> list[str]:
    action = statement.get("Action", [])
    return [action] if isinstance(action, str) else list(action)


def _resources(statement: dict[str, Any]) -> list[Any]:
    resource = statement.get("Resource", [])
    return resource if isinstance(resource, list) else [resource]


def _names(resource: Any) -> str:
    """A policy resource as ``Logical.Attr`` (GetAtt), ``Logical`` (Ref) or its Sub text."""
    if isinstance(resource, dict):
        if "Fn::GetAtt" in resource:
            return ".".join(resource["Fn::GetAtt"])
        if "Ref" in resource:
            return str(resource["Ref"])
        if "Fn::Sub" in resource and isinstance(resource["Fn::Sub"], str):
            return re.sub(r"^\$\{([^}]+)\}$", r"\1", resource["Fn::Sub"])
        if "Fn::Sub" in resource:  # a SAM policy template's ARN of a named queue or table
            text, names = resource["Fn::Sub"]
            found = _NAMED_ARN.match(text)
            named = names.get(found.group(1)) if found else None
            if isinstance(named, dict) and ("Ref" in named or "Fn::GetAtt" in named):
                return f"{named.get('Ref') or named['Fn::GetAtt'][0]}.Arn"
    return str(resource)


_NAMED_ARN = re.compile(
    r"^arn:\$\{AWS::Partition\}:(?:sqs|dynamodb):\$\{AWS::Region\}:\$\{AWS::AccountId\}:(?:table/)?\$\{(\w+)\}$"
)


class _Role:
    """What a transformed function role allows: its inline statements, its managed policies."""

    def __init__(self, role: dict[str, Any], resources: dict[str, Any]) -> None:
        props = role["Properties"]
        self.statements = [
            st
            for policy in props.get("Policies", [])
            for st in policy["PolicyDocument"].get("Statement", [])
            if st.get("Effect") == "Allow"
        ]
        self.managed: list[Any] = props.get("ManagedPolicyArns", [])
        for arn in self.managed:
            if isinstance(arn, dict) and "Ref" in arn:  # a policy of the template (AWS::IAM::ManagedPolicy)
                document = resources[arn["Ref"]]["Properties"]["PolicyDocument"]
                self.statements += [st for st in document.get("Statement", []) if st.get("Effect") == "Allow"]

    def allows(self, action: str, resource: str) -> bool:
        for arn in self.managed:
            if isinstance(arn, str) and action in MANAGED_ACTIONS.get(arn, []):
                return True
        return any(
            any(fnmatch.fnmatchcase(action, a) for a in _actions(st))
            and any(_names(r) in ("*", resource) for r in _resources(st))
            for st in self.statements
        )


def _check_functions(template: dict[str, Any], out: dict[str, Any], stack: Stack) -> Iterable[str]:
    resources = out["Resources"]
    owners: dict[str, str] = {}  # role -> its function
    for logical, fn in stack.functions.items():
        lam = resources.get(logical)
        if not lam or lam["Type"] != "AWS::Lambda::Function":
            yield f"{logical}: the local stack runs it, the transform makes no AWS::Lambda::Function of it"
            continue
        props = lam["Properties"]
        if props.get("Handler") != fn.handler:
            yield f"{logical}: handler {props.get('Handler')} after the transform, {fn.handler} locally"
        deployed = set(props.get("Environment", {}).get("Variables", {}))
        if deployed != set(fn.environment):
            extra, missing = sorted(deployed - set(fn.environment)), sorted(set(fn.environment) - deployed)
            yield f"{logical}: environment variables differ (only deployed: {extra}, only local: {missing})"
        role_ref = props.get("Role", {}).get("Fn::GetAtt", [None])[0]
        role = resources.get(role_ref) if isinstance(role_ref, str) else None
        if not role or role["Type"] != "AWS::IAM::Role":
            yield f"{logical}: no AWS::IAM::Role of its own after the transform"
            continue
        if role_ref in owners:
            yield f"{logical}: shares its role {role_ref} with {owners[role_ref]} after the transform"
            continue
        owners[role_ref] = logical
        allowed = _Role(role, resources)
        yield from _check_policies(logical, template["Resources"][logical], allowed)
        if not all(allowed.allows(a, "*") for a in LOGS):
            yield f"{logical}: its role cannot write its logs (AWSLambdaBasicExecutionRole missing)"
    for logical in set(_of_type(resources, "AWS::Lambda::Function")) - set(stack.functions):
        yield f"{logical}: the transform deploys this function, the local stack does not run it"


def _check_policies(logical: str, sam_fn: dict[str, Any], role: _Role) -> Iterable[str]:
    policies = sam_fn["Properties"].get("Policies", [])
    for index, entry in enumerate(policies if isinstance(policies, list) else [policies]):
        if isinstance(entry, dict) and "Statement" in entry:
            for st in entry["Statement"]:
                if st not in role.statements:
                    yield (
                        f"{logical}: Policies[{index}] statement {_actions(st)} on "
                        f"{[_names(r) for r in _resources(st)]} is not in its role after the transform"
                    )
        elif (isinstance(entry, dict) and "Ref" in entry) or isinstance(entry, str):
            want = entry if isinstance(entry, dict) else MANAGED_POLICIES.get(entry, entry)
            if want not in role.managed:
                name = _names(entry)
                yield f"{logical}: Policies[{index}] {name} is not attached to its role after the transform"
        elif isinstance(entry, dict) and len(entry) == 1:  # a SAM policy template, e.g. DynamoDBCrudPolicy
            ((name, params),) = entry.items()
            expanded = _POLICY_TEMPLATES.convert(name, params or {})
            if any(st not in role.statements for st in expanded["Statement"]):
                yield f"{logical}: Policies[{index}] {name} is not expanded into its role by the transform"


def _of_type(resources: dict[str, Any], kind: str) -> dict[str, Any]:
    return {k: v for k, v in resources.items() if v["Type"] == kind}


def _getatt(expr: Any) -> tuple[str, str] | None:
    if isinstance(expr, dict) and "Fn::GetAtt" in expr:
        logical, attr = expr["Fn::GetAtt"]
        return str(logical), str(attr)
    return None


def _local_names(stack: Stack) -> dict[str, str]:
    """Physical name, URL or ARN of the emulator -> ``Logical`` or ``Logical.Attr``."""
    names = {str(v): k for k, v in stack.physical.items()}
    names.update({str(v): f"{k}.{a}" for (k, a), v in stack.attributes.items() if a != "QueueUrl"})
    names.update({str(v): k for (k, a), v in stack.attributes.items() if a == "QueueUrl"})
    return names


def _check_routes(template: dict[str, Any], out: dict[str, Any], stack: Stack) -> Iterable[str]:
    """Every route the local stack serves is a method of the template's API after the transform,
    which API Gateway may invoke the function for; and no other."""
    resources = out["Resources"]
    apis = list(_of_type(resources, "AWS::ApiGateway::RestApi"))
    deployed: dict[tuple[str, str, str], str] = {}
    for api in apis:
        for path, methods in resources[api]["Properties"].get("Body", {}).get("paths", {}).items():
            for method, spec in methods.items():
                uri = spec.get("x-amazon-apigateway-integration", {}).get("uri", {}).get("Fn::Sub", "")
                found = re.search(r"\$\{(\w+)\.Arn\}", uri if isinstance(uri, str) else uri[0])
                verb = "ANY" if method == "x-amazon-apigateway-any-method" else method.upper()
                deployed[(verb, path, found.group(1) if found else "?")] = api
    local = {(r.method.upper(), r.path, r.function) for r in stack.routes}
    served = set(_of_type(template["Resources"], "AWS::Serverless::Api"))  # not SAM's implicit one
    for route in sorted(local):
        name = " ".join(route[:2]) + f" -> {route[2]}"
        on = deployed.get(route)
        if on is None:
            yield f"route {name}: served locally, no such method after the transform"
        elif on not in served:
            yield f"route {name}: served locally, deployed on another API ({on})"
    for route in sorted(set(deployed) - local):
        yield f"route {' '.join(route[:2])} -> {route[2]}: deployed, the local stack does not serve it"
    # API Gateway's permission to invoke the function, per route (SAM's SourceArn: stage, method, path).
    permitted = set()
    for permission in _of_type(resources, "AWS::Lambda::Permission").values():
        props = permission["Properties"]
        arn = props.get("SourceArn", {}).get("Fn::Sub", "")
        text, names = (arn, {}) if isinstance(arn, str) else arn
        api = names.get("__ApiId__", {}).get("Ref")
        if props.get("Principal") == "apigateway.amazonaws.com" and api in served:
            permitted.add((props["FunctionName"].get("Ref"), text.rpartition("${__Stage__}")[2]))
    for method, path, fn in sorted(local):
        want = "/" + ("*" if method == "ANY" else method) + re.sub(r"\{[^}]+\}", "*", path)
        if (fn, want) not in permitted:
            yield f"route {method} {path} -> {fn}: no permission for API Gateway to invoke it"


def _deployed_mappings(out: dict[str, Any]) -> tuple[set[tuple[Any, ...]], set[tuple[Any, ...]], list[str]]:
    """The transform's enabled queue and stream mappings, as Lambda runs them (Lambda's defaults
    where the template says nothing), and the mappings of any other kind."""
    resources = out["Resources"]
    queues: set[tuple[Any, ...]] = set()
    streams: set[tuple[Any, ...]] = set()
    others: list[str] = []
    for logical, mapping in _of_type(resources, "AWS::Lambda::EventSourceMapping").items():
        props = mapping["Properties"]
        if props.get("Enabled", True) is False:
            continue  # created, but Lambda does not poll it
        fn = props["FunctionName"].get("Ref")
        source = _getatt(props.get("EventSourceArn"))
        responses = "ReportBatchItemFailures" in props.get("FunctionResponseTypes", [])
        window = float(props.get("MaximumBatchingWindowInSeconds", 0))
        if source and resources.get(source[0], {}).get("Type") == "AWS::SQS::Queue":
            concurrency = int(props.get("ScalingConfig", {}).get("MaximumConcurrency", 1))
            queues.add((fn, source[0], int(props.get("BatchSize", 10)), window, responses, concurrency))
        elif source and source[1] == "StreamArn":
            destination = _getatt(props.get("DestinationConfig", {}).get("OnFailure", {}).get("Destination"))
            streams.add(
                (
                    fn,
                    ".".join(source),
                    props.get("StartingPosition"),
                    int(props.get("BatchSize", 100)),
                    window,
                    responses,
                    bool(props.get("BisectBatchOnFunctionError", False)),
                    int(props.get("MaximumRetryAttempts", -1)),
                    int(props.get("MaximumRecordAgeInSeconds", -1)),
                    tuple(f["Pattern"] for f in props.get("FilterCriteria", {}).get("Filters", [])),
                    destination[0] if destination else None,
                )
            )
        else:
            arn = props.get("EventSourceArn")
            others.append(f"{logical}: a mapping of {arn}, which the local stack cannot run")
    return queues, streams, others


def _check_mappings(out: dict[str, Any], stack: Stack) -> Iterable[str]:
    """The queue and stream mappings are the same on both sides, and each function's role lets
    Lambda poll what the local stack polls for it (and send to its on-failure destination)."""
    resources = out["Resources"]
    names = _local_names(stack)
    roles = {
        fn: _Role(resources[resources[fn]["Properties"]["Role"]["Fn::GetAtt"][0]], resources)
        for fn in _of_type(resources, "AWS::Lambda::Function")
        if fn in stack.functions
    }
    deployed_queues, deployed_streams, others = _deployed_mappings(out)
    yield from others
    local_queues = {
        (
            s.function,
            names[s.queue_url],
            s.batch_size,
            s.batching_window,
            s.report_failures,
            s.max_concurrency,
        )
        for s in stack.event_sources
    }
    local_streams = {
        (
            s.function,
            names[s.stream_arn],
            s.starting_position,
            s.batch_size,
            s.batching_window,
            s.report_failures,
            s.bisect,
            s.max_retries,
            s.max_record_age,
            tuple(s.filters),
            names[s.on_failure_queue_url] if s.on_failure_queue_url else None,
        )
        for s in stack.stream_sources
    }
    yield from _diff(
        "queue mapping (function, queue, batch size, window, ReportBatchItemFailures, max concurrency)",
        local_queues,
        deployed_queues,
    )
    yield from _diff(
        "stream mapping (function, stream, start, batch size, window, ReportBatchItemFailures, bisect, "
        "retries, max age, filters, on failure)",
        local_streams,
        deployed_streams,
    )
    for fn, queue, *_ in sorted(local_queues):
        if fn in roles and not all(roles[fn].allows(a, f"{queue}.Arn") for a in SQS_POLL):
            yield f"{fn}: the local stack polls {queue} for it, its role may not ({', '.join(SQS_POLL)})"
    for fn, stream, *_, destination in sorted(local_streams, key=str):
        if fn in roles and not all(roles[fn].allows(a, stream) for a in STREAM_POLL):
            yield f"{fn}: the local stack reads {stream} for it, its role may not ({', '.join(STREAM_POLL)})"
        if fn in roles and destination and not roles[fn].allows("sqs:SendMessage", f"{destination}.Arn"):
            yield f"{fn}: failed batches go to {destination}, its role may not sqs:SendMessage there"


def _check_schedules(out: dict[str, Any], stack: Stack) -> Iterable[str]:
    """Enabled schedules: EventBridge Scheduler (ScheduleV2) or an EventBridge rule (Schedule)."""
    resources = out["Resources"]
    deployed: set[tuple[Any, ...]] = set()
    for schedule in _of_type(resources, "AWS::Scheduler::Schedule").values():
        props = schedule["Properties"]
        target = _getatt(props["Target"]["Arn"])
        if props.get("State", "ENABLED") == "ENABLED" and target:
            deployed.add((target[0], props["ScheduleExpression"]))
    for rule in _of_type(resources, "AWS::Events::Rule").values():
        props = rule["Properties"]
        if "ScheduleExpression" in props and props.get("State", "ENABLED") == "ENABLED":
            for rule_target in props.get("Targets", []):
                arn = _getatt(rule_target["Arn"])
                if arn:
                    deployed.add((arn[0], props["ScheduleExpression"]))
    local = {(s.function, s.expression) for s in stack.schedules}
    yield from _diff("schedule (function, expression)", local, deployed)


def _diff(what: str, local: set[tuple[Any, ...]], deployed: set[tuple[Any, ...]]) -> Iterable[str]:
    for item in sorted(local - deployed, key=str):
        yield f"{what} {item}: run by the local stack, not deployed so by the transform"
    for item in sorted(deployed - local, key=str):
        yield f"{what} {item}: deployed by the transform, not run so by the local stack"


def _check_coverage(template: dict[str, Any], stack: Stack, roles: dict[str, FunctionRole]) -> Iterable[str]:
    """Every resource of the template is created by the local stack (a name on the emulator, a
    served API, a polled mapping, a managed policy in the roles that attach it) or its type is
    listed in NOT_EMULATED with the reason."""
    polled = {(s.function, s.queue_url) for s in stack.event_sources}
    attached = {name for role in roles.values() for name, _ in role.policies}
    for logical, spec in template["Resources"].items():
        kind = spec["Type"]
        if kind in NOT_EMULATED or logical in stack.physical:
            continue
        props = spec.get("Properties", {})
        if kind == "AWS::Serverless::Api" and stack.routes:
            continue
        if kind == "AWS::IAM::ManagedPolicy" and logical in attached:
            continue
        if kind == "AWS::Lambda::EventSourceMapping":
            queue = (_getatt(props.get("EventSourceArn")) or ("?", ""))[0]
            if (props.get("FunctionName", {}).get("Ref"), stack.physical.get(queue)) in polled:
                continue
        yield f"{logical} ({kind}): not created by the local stack, and not in template.NOT_EMULATED"


def check(template_path: Path = TEMPLATE) -> list[str]:
    """Every mismatch between the transform's output and the local stack (empty: none)."""
    template = load_template(template_path)
    out = transform(template)
    stack, roles = local_stack(template_path)
    return [
        *_check_functions(template, out, stack),
        *_check_routes(template, out, stack),
        *_check_mappings(out, stack),
        *_check_schedules(out, stack),
        *_check_coverage(template, stack, roles),
    ]


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    path = Path(args[0]) if args else TEMPLATE
    problems = check(path)
    for problem in problems:
        print(f"transform check: {problem}", file=sys.stderr)
    if problems:
        return 1
    print(f"transform check: {path.name}: the SAM transform deploys what the local stack runs")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
