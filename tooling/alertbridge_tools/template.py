"""Read template.yaml and create what it declares on an AWS emulator (moto, in-process or server).

There is no second copy of the infrastructure: tables, buckets, the bus, the rule with its real
event pattern, the queues with their redrive policies, the functions' environment and routes, and
the SQS event source mappings, the table's stream and its DynamoDB event sources all come from the
template.
"""

from __future__ import annotations

import importlib.util
import json
import re
import sys
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import yaml

ROOT = Path(__file__).resolve().parents[2]
if not (ROOT / "template.yaml").is_file():  # installed from a wheel: the copies shipped in the package
    ROOT = Path(__file__).resolve().parent / "_stack"
TEMPLATE = ROOT / "template.yaml"
REGION = "us-east-1"
ACCOUNT = "123456789012"


class _CfnLoader(yaml.SafeLoader):  # type: ignore[misc]
    """YAML with CloudFormation's short-form tags (!Ref, !Sub, !GetAtt, ...)."""


def _tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = "Ref" if suffix == "Ref" else f"Fn::{suffix}"
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
        if suffix == "GetAtt":
            value = str(value).split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    return {name: value}


_CfnLoader.add_multi_constructor("!", _tag)


def load_template(path: Path = TEMPLATE) -> dict[str, Any]:
    with path.open() as fh:
        data: dict[str, Any] = yaml.load(fh, Loader=_CfnLoader)  # noqa: S506  (SafeLoader subclass)
    return data


@dataclass
class Route:
    method: str
    path: str  # API Gateway resource path, e.g. /hooks/kapacitor/{token}
    function: str  # logical id
    iam: bool = False  # Auth.Authorizer AWS_IAM: callers sign their requests (SigV4)

    def match(self, method: str, path: str) -> dict[str, str] | None:
        if self.method.upper() not in ("ANY", method.upper()):
            return None
        want = self.path.strip("/").split("/")
        got = path.strip("/").split("/")
        params: dict[str, str] = {}
        if want[-1].endswith("+}"):  # greedy {proxy+}: the rest of the path
            if len(got) < len(want):
                return None
            params[want[-1][1:-2]] = "/".join(got[len(want) - 1 :])
            want, got = want[:-1], got[: len(want) - 1]
        if len(want) != len(got):
            return None
        for pattern, value in zip(want, got, strict=True):
            if pattern.startswith("{") and pattern.endswith("}"):
                if not value:
                    return None
                params[pattern[1:-1]] = value
            elif pattern != value:
                return None
        return params


@dataclass
class Function:
    logical_id: str
    code_dir: Path
    handler: str  # module.attribute
    environment: dict[str, str]
    timeout: int = 3  # seconds (Lambda's default when the template sets none)

    def load(self) -> Callable[[dict[str, Any], Any], dict[str, Any]]:
        """Import the function's handler module by path, afresh: its init runs again, as in a new
        execution environment (clients and adapters built from the current environment)."""
        module_name, _, attr = self.handler.rpartition(".")
        unique = f"_fn_{self.logical_id}_{module_name}"
        spec = importlib.util.spec_from_file_location(unique, self.code_dir / f"{module_name}.py")
        if spec is None or spec.loader is None:
            raise ImportError(f"cannot load {self.code_dir}/{module_name}.py")
        module: ModuleType = importlib.util.module_from_spec(spec)
        sys.modules[unique] = module
        spec.loader.exec_module(module)
        handler: Callable[[dict[str, Any], Any], dict[str, Any]] = getattr(module, attr)
        return handler


@dataclass
class EventSource:
    function: str
    queue_url: str
    batch_size: int
    batching_window: float
    report_failures: bool
    max_concurrency: int = 1  # ScalingConfig.MaximumConcurrency: at most this many invocations at once


@dataclass
class StreamSource:
    """A function's DynamoDB event source (a SAM ``Type: DynamoDB`` event), as Lambda runs it."""

    function: str
    stream_arn: str
    starting_position: str  # TRIM_HORIZON or LATEST
    batch_size: int
    batching_window: float
    report_failures: bool
    bisect: bool
    max_retries: int  # -1: until the records expire
    max_record_age: int  # seconds; -1: no limit
    filters: list[str]  # FilterCriteria patterns (JSON)
    on_failure_queue_url: str | None


@dataclass
class Schedule:
    """A function run on a schedule (SAM ``Schedule``/``ScheduleV2`` events): the local stack and
    the harness run it on their own timer."""

    function: str
    expression: str


@dataclass
class Stack:
    """The physical names of what was created, and the template's functions, routes and mappings."""

    parameters: dict[str, str]
    template_path: Path = TEMPLATE
    physical: dict[str, str] = field(default_factory=dict)  # logical id -> Ref value
    attributes: dict[tuple[str, str], str] = field(default_factory=dict)  # (logical id, attr) -> value
    functions: dict[str, Function] = field(default_factory=dict)
    routes: list[Route] = field(default_factory=list)
    event_sources: list[EventSource] = field(default_factory=list)
    stream_sources: list[StreamSource] = field(default_factory=list)

    schedules: list[Schedule] = field(default_factory=list)
    outputs: dict[str, str] = field(default_factory=dict)
    # The API's resource policy statements (Auth.ResourcePolicy.CustomStatements), conditions resolved
    resource_policy: list[dict[str, Any]] = field(default_factory=list)

    def environment(self) -> dict[str, str]:
        """Every function's variables together (they agree where they overlap, but for the service name)."""
        env: dict[str, str] = {}
        for fn in self.functions.values():
            env.update({k: v for k, v in fn.environment.items() if k != "POWERTOOLS_SERVICE_NAME"})
        return env

    def route(self, method: str, path: str) -> tuple[Route, dict[str, str]] | None:
        for route in self.routes:
            params = route.match(method, path)
            if params is not None:
                return route, params
        return None


class Resolver:
    """A template's intrinsic functions (Ref, GetAtt, Sub, If, ...) over the stack's names."""

    def __init__(self, template: dict[str, Any], stack: Stack) -> None:
        self.template = template
        self.stack = stack
        self.conditions = {name: self.value(expr) for name, expr in template.get("Conditions", {}).items()}

    def value(self, expr: Any) -> Any:
        if isinstance(expr, list):
            return [v for v in (self.value(e) for e in expr) if v is not _NO_VALUE]
        if not isinstance(expr, dict):
            return expr
        if len(expr) == 1:
            ((key, arg),) = expr.items()
            if key == "Ref":
                return self.ref(arg)
            if key == "Fn::GetAtt":
                return self.stack.attributes[(arg[0], arg[1])]
            if key == "Fn::Sub":
                return self.sub(arg)
            if key == "Fn::If":
                name, then, otherwise = arg
                return self.value(then if self.conditions[name] else otherwise)
            if key == "Fn::Equals":
                return self.value(arg[0]) == self.value(arg[1])
            if key == "Fn::Not":
                return not self.value(arg[0])
            if key == "Fn::Join":
                return arg[0].join(str(self.value(v)) for v in arg[1])
        return {k: v for k, v in ((k, self.value(v)) for k, v in expr.items()) if v is not _NO_VALUE}

    def ref(self, name: str) -> Any:
        pseudo = {
            "AWS::Region": REGION,
            "AWS::AccountId": ACCOUNT,
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::StackName": "alertbridge-local",
            "AWS::Partition": "aws",
            "AWS::NoValue": _NO_VALUE,
        }
        if name in pseudo:
            return pseudo[name]
        if name in self.stack.parameters:
            return self.stack.parameters[name]
        return self.stack.physical[name]

    def sub(self, arg: Any) -> str:
        text, extra = (arg, {}) if isinstance(arg, str) else (arg[0], arg[1])

        def repl(found: re.Match[str]) -> str:
            name = found.group(1)
            if name in extra:
                return str(self.value(extra[name]))
            if "." in name and not name.startswith("AWS::"):
                logical, attr = name.split(".", 1)
                return str(self.stack.attributes[(logical, attr)])
            return str(self.ref(name))

        return re.sub(r"\$\{([^}!]+)\}", repl, text)


_NO_VALUE = object()

# Resource types of the template the local stack does not create, and why (transform_check, run by
# `make template`, fails on a type that is neither created nor listed here).
NOT_EMULATED = {
    "AWS::Serverless::LayerVersion": "its package (alertbridge) is installed where the local stack runs",
    "AWS::SQS::QueuePolicy": "rules deliver to their target queues directly; no resource policy is enforced",
    "AWS::S3::BucketPolicy": "the bucket's TLS-only and deny rules; no resource policy is enforced locally",
    "AWS::Events::Archive": "replay of the bus is an operator's recovery action, not part of any local flow",
    "AWS::CloudWatch::Alarm": "no CloudWatch metrics locally; alarms are validated by cfn-lint and checkov",
    "AWS::CloudWatch::Dashboard": "no CloudWatch metrics locally; its body is validated by cfn-lint",
}


def _stream_source(function: str, props: dict[str, Any], stack: Stack) -> StreamSource:
    """A SAM DynamoDB event with Lambda's defaults for what it leaves out."""
    on_failure = props.get("DestinationConfig", {}).get("OnFailure", {}).get("Destination")
    queue_urls = {
        arn: stack.attributes[(logical, "QueueUrl")]
        for (logical, attr), arn in stack.attributes.items()
        if attr == "Arn" and (logical, "QueueUrl") in stack.attributes
    }
    return StreamSource(
        function=function,
        stream_arn=props["Stream"],
        starting_position=props["StartingPosition"],
        batch_size=int(props.get("BatchSize", 100)),
        batching_window=float(props.get("MaximumBatchingWindowInSeconds", 0)),
        report_failures="ReportBatchItemFailures" in props.get("FunctionResponseTypes", []),
        bisect=bool(props.get("BisectBatchOnFunctionError", False)),
        max_retries=int(props.get("MaximumRetryAttempts", -1)),
        max_record_age=int(props.get("MaximumRecordAgeInSeconds", -1)),
        filters=[f["Pattern"] for f in props.get("FilterCriteria", {}).get("Filters", [])],
        on_failure_queue_url=queue_urls[on_failure] if on_failure else None,
    )


def create_stack(
    session: boto3.Session | None = None,
    *,
    parameters: dict[str, str] | None = None,
    template_path: Path = TEMPLATE,
    endpoint_url: str | None = None,
    existing: Stack | None = None,
) -> Stack:
    """Create the template's data and messaging resources on the emulator the session points at.
    With ``existing`` (the local stack restarted on its data directory, the emulator's state put
    back), the resources it names are reused as they are; only what the template adds is created."""
    template = load_template(template_path)
    params = {name: str(spec.get("Default", "")) for name, spec in template.get("Parameters", {}).items()}
    params.update({"Stage": "dev"} | (parameters or {}))
    stack = Stack(parameters=params, template_path=template_path)
    resolver = Resolver(template, stack)
    session = session or boto3.Session(region_name=REGION)
    clients: dict[str, Any] = {}

    def client(name: str) -> Any:
        if name not in clients:
            clients[name] = session.client(name, region_name=REGION, endpoint_url=endpoint_url)  # type: ignore[call-overload]
        return clients[name]

    resources: dict[str, dict[str, Any]] = template["Resources"]
    by_type: dict[str, list[str]] = {}
    for logical, spec in resources.items():
        by_type.setdefault(spec["Type"], []).append(logical)
    suffix = uuid.uuid4().hex[:8]

    def reuse(logical: str) -> bool:
        if existing is None or logical not in existing.physical:
            return False
        stack.physical[logical] = existing.physical[logical]
        stack.attributes.update({k: v for k, v in existing.attributes.items() if k[0] == logical})
        return True

    for logical in by_type.get("AWS::DynamoDB::Table", []):
        if reuse(logical):
            continue
        props = resolver.value(resources[logical]["Properties"])
        name = f"alertbridge-{logical.lower()}-{suffix}"
        kwargs: dict[str, Any] = {
            "TableName": name,
            "AttributeDefinitions": props["AttributeDefinitions"],
            "KeySchema": props["KeySchema"],
            "BillingMode": props.get("BillingMode", "PAY_PER_REQUEST"),
        }
        if props.get("GlobalSecondaryIndexes"):
            kwargs["GlobalSecondaryIndexes"] = props["GlobalSecondaryIndexes"]
        stream = props.get("StreamSpecification")
        if stream:
            kwargs["StreamSpecification"] = {"StreamEnabled": True, **stream}
        created = client("dynamodb").create_table(**kwargs)["TableDescription"]
        if stream:
            stack.attributes[(logical, "StreamArn")] = created["LatestStreamArn"]
        ttl = props.get("TimeToLiveSpecification")
        if ttl:
            client("dynamodb").update_time_to_live(TableName=name, TimeToLiveSpecification=ttl)
        stack.physical[logical] = name
        stack.attributes[(logical, "Arn")] = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{name}"

    for logical in by_type.get("AWS::S3::Bucket", []):
        if reuse(logical):
            continue
        name = f"alertbridge-{logical.lower()}-{suffix}"
        client("s3").create_bucket(Bucket=name)
        stack.physical[logical] = name
        stack.attributes[(logical, "Arn")] = f"arn:aws:s3:::{name}"

    for logical in by_type.get("AWS::Events::EventBus", []):
        if reuse(logical):
            continue
        props = resolver.value(resources[logical]["Properties"])
        name = f"{props['Name']}-{suffix}"
        arn = client("events").create_event_bus(Name=name)["EventBusArn"]
        stack.physical[logical] = name
        stack.attributes[(logical, "Arn")] = arn
        stack.attributes[(logical, "Name")] = name

    for logical in by_type.get("AWS::KMS::Key", []):
        if reuse(logical):
            continue
        resp = client("kms").create_key(Description=f"alertbridge {logical}")["KeyMetadata"]
        stack.physical[logical] = resp["KeyId"]
        stack.attributes[(logical, "Arn")] = resp["Arn"]

    for logical in by_type.get("AWS::SNS::Topic", []):
        if reuse(logical):
            continue
        name = f"alertbridge-{logical.lower()}-{suffix}"
        arn = client("sns").create_topic(Name=name)["TopicArn"]
        stack.physical[logical] = arn
        stack.attributes[(logical, "TopicName")] = name
        stack.attributes[(logical, "TopicArn")] = arn

    # Queues: dead-letter queues first, so redrive policies can name them.
    queues = sorted(
        by_type.get("AWS::SQS::Queue", []),
        key=lambda q: "RedrivePolicy" in resources[q].get("Properties", {}),
    )
    for logical in queues:
        if reuse(logical):
            continue
        raw = resources[logical].get("Properties", {})
        props = resolver.value(raw)
        name = f"alertbridge-{logical.lower()}-{suffix}"
        attributes = {k: str(props[k]) for k in ("VisibilityTimeout", "MessageRetentionPeriod") if k in props}
        if "RedrivePolicy" in props:
            attributes["RedrivePolicy"] = json.dumps(props["RedrivePolicy"])
        url = client("sqs").create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
        arn = client("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        stack.physical[logical] = url
        stack.attributes[(logical, "Arn")] = arn
        stack.attributes[(logical, "QueueName")] = name
        stack.attributes[(logical, "QueueUrl")] = url

    for logical in by_type.get("AWS::Serverless::Function", []):
        stack.physical[logical] = f"alertbridge-{logical}"

    for logical in by_type.get("AWS::Events::Rule", []):
        if reuse(logical):
            continue
        props = resolver.value(resources[logical]["Properties"])
        bus = props.get("EventBusName", "default")
        arn = client("events").put_rule(
            Name=f"{logical}-{suffix}",
            EventBusName=bus,
            EventPattern=json.dumps(props["EventPattern"]),
            State=props.get("State", "ENABLED"),
        )["RuleArn"]
        targets = [{"Id": t["Id"], "Arn": t["Arn"]} for t in props.get("Targets", [])]
        if targets:
            client("events").put_targets(Rule=f"{logical}-{suffix}", EventBusName=bus, Targets=targets)
        stack.physical[logical] = f"{logical}-{suffix}"
        stack.attributes[(logical, "Arn")] = arn

    globals_fn = template.get("Globals", {}).get("Function", {})
    global_env = resolver.value(globals_fn.get("Environment", {}).get("Variables", {}))
    for logical in by_type.get("AWS::Serverless::Function", []):
        props = resources[logical]["Properties"]
        env = {**global_env, **resolver.value(props.get("Environment", {}).get("Variables", {}))}
        stack.functions[logical] = Function(
            logical_id=logical,
            code_dir=ROOT / props["CodeUri"],
            handler=props["Handler"],
            environment={k: str(v) for k, v in env.items()},
            timeout=int(props.get("Timeout", globals_fn.get("Timeout", 3))),
        )
        for event in props.get("Events", {}).values():
            if event["Type"] == "Api":
                api = event["Properties"]
                iam = api.get("Auth", {}).get("Authorizer") == "AWS_IAM"
                stack.routes.append(Route(api["Method"], api["Path"], logical, iam=iam))
            elif event["Type"] == "DynamoDB":
                stack.stream_sources.append(
                    _stream_source(logical, resolver.value(event["Properties"]), stack)
                )
            elif event["Type"] in ("Schedule", "ScheduleV2"):
                stack.schedules.append(Schedule(logical, event["Properties"]["ScheduleExpression"]))

    for logical in by_type.get("AWS::Serverless::Api", []):
        policy = resources[logical]["Properties"].get("Auth", {}).get("ResourcePolicy", {})
        stack.resource_policy += resolver.value(policy.get("CustomStatements", []))

    for logical in by_type.get("AWS::Lambda::EventSourceMapping", []):
        props = resources[logical]["Properties"]
        function = props["FunctionName"]["Ref"]
        queue = props["EventSourceArn"]["Fn::GetAtt"][0]
        stack.event_sources.append(
            EventSource(
                function=function,
                queue_url=stack.physical[queue],
                batch_size=int(props.get("BatchSize", 10)),
                batching_window=float(props.get("MaximumBatchingWindowInSeconds", 0)),
                report_failures="ReportBatchItemFailures" in props.get("FunctionResponseTypes", []),
                max_concurrency=int(props.get("ScalingConfig", {}).get("MaximumConcurrency", 1)),
            )
        )

    for name, output in template.get("Outputs", {}).items():
        try:
            stack.outputs[name] = str(resolver.value(output["Value"]))
        except KeyError:
            continue  # outputs naming resources the emulator does not create (the API id)
    return stack
