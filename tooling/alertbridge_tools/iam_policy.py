"""IAM identity-policy evaluation for the local stack: what AWS authorizes for one call (`checks`) and
whether a role's policies allow it (`authorize`). Pure: no AWS SDK, no emulator.

moto's own IAM enforcement checks actions only (every non-S3 call against resource "*", conditions barely),
so least-privilege statements (a table ARN, `dynamodb:LeadingKeys`, a bus ARN) are evaluated here.

What `checks` puts in a check's context: `dynamodb:LeadingKeys` (the partition-key values a DynamoDB call
touches; absent for Scan, DescribeTable and streams) and `dynamodb:Attributes` (the top-level attribute names
a read projects with ProjectionExpression/AttributesToGet, and the names of a PutItem's item; absent for a
read that projects nothing, i.e. reads every attribute, and for UpdateItem/DeleteItem). No other condition
key is filled, so a policy conditioned on one (aws:SecureTransport, dynamodb:Select, s3:prefix, ...) sees it
absent, exactly as IAM treats an absent key.

`authorize` follows IAM's evaluation logic for identity policies (an explicit Deny wins, else an Allow must
match, else an implicit deny) with the operators named in `_OPERATORS`; anything it does not know (another
operator, a policy variable `${...}`, a Principal, a plain operator over a key with several values) raises
`UnsupportedPolicy` rather than guessing an answer.
"""

import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Protocol
from urllib.parse import urlsplit

LEADING_KEYS = "dynamodb:LeadingKeys"
ATTRIBUTES = "dynamodb:Attributes"


class UnknownOperation(ValueError):
    """checks() was asked for a (service, operation) whose authorization it does not know."""


class UnsupportedPolicy(ValueError):
    """A policy uses something this evaluator does not implement (it never guesses an answer)."""


@dataclass(frozen=True)
class Check:
    """One authorization AWS performs for a call: an action on a resource with its request context."""

    action: str
    resource: str
    context: Mapping[str, tuple[str, ...]] = field(default_factory=dict, hash=False)


class Resolver(Protocol):
    """What only the emulator knows."""

    def partition_key(self, table: str, index: str | None) -> str: ...  # the HASH key attribute name
    def stream_arn(self, shard_iterator: str) -> str: ...  # GetRecords names an iterator only
    def kms_key_arn(self, key_id: str | None, ciphertext: bytes | None) -> str: ...  # id/ARN/alias or blob


@dataclass(frozen=True)
class Decision:
    allowed: bool
    denied: Check | None  # the first check not allowed
    explicit: bool  # denied by a Deny statement (else: no Allow matched)
    # (policy name, statement index) of every Allow that allowed a check (all checks are evaluated, so this
    # is complete even when one is denied); the index counts from 0 in the document's Statement list
    used: tuple[tuple[str, int], ...]


# ---------------------------------------------------------------------------------------------------
# checks: (service, operation, params) -> the authorizations AWS performs
# ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Call:
    params: Mapping[str, Any]
    region: str
    account: str
    resolver: Resolver

    @property
    def partition(self) -> str:
        if self.region.startswith("cn-"):
            return "aws-cn"
        if self.region.startswith("us-gov-"):
            return "aws-us-gov"
        return "aws"

    def arn(self, service: str, resource: str, *, account: str | None = None) -> str:
        return f"arn:{self.partition}:{service}:{self.region}:{account or self.account}:{resource}"


def checks(
    service: str,
    operation: str,
    params: Mapping[str, Any],
    *,
    region: str,
    account: str,
    resolver: Resolver,
) -> list[Check]:
    """The checks for one call. service = SigV4 signing name: dynamodb (DynamoDB and DynamoDB Streams both
    sign as dynamodb), sqs, sns, events, kms, s3. operation = API operation name (PutItem). params = the
    operation's input with API member names (DynamoDB: typed AttributeValues {"S": ...}; S3: {"Bucket":...,
    "Key":...}). Unknown (service, operation) -> raise UnknownOperation (never guess)."""
    build = _OPERATIONS.get((service, operation))
    if build is None:
        raise UnknownOperation(f"no IAM mapping for {service}:{operation}")
    return build(_Call(params, region, account, resolver))


# --- DynamoDB --------------------------------------------------------------------------------------


def _table_name(table: str) -> str:
    """A TableName member may be the table's name or its ARN."""
    return table.split(":table/", 1)[1].split("/", 1)[0] if table.startswith("arn:") else table


def _table_arn(call: _Call, table: str, index: str | None = None) -> str:
    arn = table if table.startswith("arn:") else call.arn("dynamodb", f"table/{table}")
    return f"{arn}/index/{index}" if index else arn


def _key_string(value: Mapping[str, Any], what: str) -> str:
    for kind in ("S", "N"):
        if kind in value:
            return str(value[kind])
    raise ValueError(f"{what}: a partition key value must be S or N, got {sorted(value)}")


def _leading_keys(call: _Call, table: str, items: Iterable[Mapping[str, Any]]) -> list[str]:
    """The partition-key values of the table's items a call names (its Key or Item maps)."""
    name = call.resolver.partition_key(_table_name(table), None)
    values: list[str] = []
    for item in items:
        if name not in item:
            raise ValueError(f"the request names no value of the partition key {name!r} of {table}")
        values.append(_key_string(item[name], name))
    return values


def _top_level_names(request: Mapping[str, Any]) -> list[str] | None:
    """The top-level attribute names a read projects, or None when it reads every attribute."""
    if "AttributesToGet" in request:
        return list(request["AttributesToGet"])
    expression = request.get("ProjectionExpression")
    if expression is None:
        return None
    names = request.get("ExpressionAttributeNames", {})
    out = []
    for path in expression.split(","):
        top = re.match(r"\s*(#?[A-Za-z0-9_-]+)", path)
        if top is None:
            raise ValueError(f"unreadable ProjectionExpression {expression!r}")
        token = top.group(1)
        out.append(names[token] if token.startswith("#") else token)
    return out


def _dynamodb_context(
    leading: Sequence[str] | None, attributes: Sequence[str] | None
) -> dict[str, tuple[str, ...]]:
    context = {}
    if leading is not None:
        context[LEADING_KEYS] = tuple(dict.fromkeys(leading))
    if attributes is not None:
        context[ATTRIBUTES] = tuple(dict.fromkeys(attributes))
    return context


def _item_check(call: _Call, action: str, request: Mapping[str, Any]) -> Check:
    """GetItem/PutItem/UpdateItem/DeleteItem/ConditionCheckItem, alone or inside a transaction."""
    table = request["TableName"]
    item = request.get("Item")
    leading = _leading_keys(call, table, [item if item is not None else request["Key"]])
    if action == "dynamodb:PutItem":
        attributes: list[str] | None = list(item) if item is not None else None
    elif action == "dynamodb:GetItem":
        attributes = _top_level_names(request)
    else:
        attributes = None
    return Check(action, _table_arn(call, table), _dynamodb_context(leading, attributes))


_KEY_TOKEN = re.compile(r"\s*(#[A-Za-z0-9_]+|:[A-Za-z0-9_]+|[A-Za-z_][A-Za-z0-9_]*|<=|>=|<>|[=<>(),])")


def _tokens(expression: str) -> list[str]:
    tokens, at = [], 0
    while at < len(expression.rstrip()):
        match = _KEY_TOKEN.match(expression, at)
        if match is None:
            raise ValueError(f"unreadable KeyConditionExpression {expression!r} at {at}")
        tokens.append(match.group(1))
        at = match.end()
    return tokens


def _query_partition_value(request: Mapping[str, Any], key: str) -> str:
    """The value the Query's key condition gives the partition key (`#pk = :pk AND begins_with(sk, :p)`)."""
    if "KeyConditions" in request:  # the legacy form: {"pk": {"ComparisonOperator": "EQ", ...}}
        condition = request["KeyConditions"].get(key)
        if condition is None or condition.get("ComparisonOperator") != "EQ":
            raise ValueError(f"KeyConditions has no EQ condition on the partition key {key!r}")
        return _key_string(condition["AttributeValueList"][0], key)
    expression = request.get("KeyConditionExpression")
    if expression is None:
        raise ValueError("a Query needs KeyConditionExpression or KeyConditions")
    names = request.get("ExpressionAttributeNames", {})
    values = request.get("ExpressionAttributeValues", {})
    tokens = _tokens(expression)

    def name_of(token: str) -> str | None:
        if token.startswith("#"):
            return str(names[token])
        return None if token.startswith(":") or not re.match(r"[A-Za-z_]", token) else token

    for i in range(1, len(tokens) - 1):
        if tokens[i] != "=":
            continue
        left, right = tokens[i - 1], tokens[i + 1]
        for name, value in ((left, right), (right, left)):
            if value.startswith(":") and name_of(name) == key:
                return _key_string(values[value], key)
    raise ValueError(f"KeyConditionExpression {expression!r} has no equality on the partition key {key!r}")


def _query(call: _Call) -> list[Check]:
    table, index = call.params["TableName"], call.params.get("IndexName")
    key = call.resolver.partition_key(_table_name(table), index)
    leading = [_query_partition_value(call.params, key)]
    context = _dynamodb_context(leading, _top_level_names(call.params))
    return [Check("dynamodb:Query", _table_arn(call, table, index), context)]


def _scan(call: _Call) -> list[Check]:
    table, index = call.params["TableName"], call.params.get("IndexName")
    context = _dynamodb_context(None, _top_level_names(call.params))
    return [Check("dynamodb:Scan", _table_arn(call, table, index), context)]


def _describe_table(call: _Call) -> list[Check]:
    return [Check("dynamodb:DescribeTable", _table_arn(call, call.params["TableName"]))]


def _single(action: str) -> Callable[[_Call], list[Check]]:
    return lambda call: [_item_check(call, action, call.params)]


def _batch_get(call: _Call) -> list[Check]:
    out = []
    for table, request in call.params["RequestItems"].items():
        context = _dynamodb_context(_leading_keys(call, table, request["Keys"]), _top_level_names(request))
        out.append(Check("dynamodb:BatchGetItem", _table_arn(call, table), context))
    return out


def _batch_write(call: _Call) -> list[Check]:
    out = []
    for table, requests in call.params["RequestItems"].items():
        items = [
            r["PutRequest"]["Item"] if "PutRequest" in r else r["DeleteRequest"]["Key"] for r in requests
        ]
        context = _dynamodb_context(_leading_keys(call, table, items), None)
        out.append(Check("dynamodb:BatchWriteItem", _table_arn(call, table), context))
    return out


_TRANSACT_WRITE = {
    "Put": "dynamodb:PutItem",
    "Update": "dynamodb:UpdateItem",
    "Delete": "dynamodb:DeleteItem",
    "ConditionCheck": "dynamodb:ConditionCheckItem",
}


def _transact_write(call: _Call) -> list[Check]:
    out = []
    for entry in call.params["TransactItems"]:
        ((kind, request),) = entry.items()
        out.append(_item_check(call, _TRANSACT_WRITE[kind], request))
    return out


def _transact_get(call: _Call) -> list[Check]:
    return [_item_check(call, "dynamodb:GetItem", entry["Get"]) for entry in call.params["TransactItems"]]


def _stream(action: str) -> Callable[[_Call], list[Check]]:
    return lambda call: [Check(action, call.params["StreamArn"])]


def _get_records(call: _Call) -> list[Check]:
    return [Check("dynamodb:GetRecords", call.resolver.stream_arn(call.params["ShardIterator"]))]


def _list_streams(call: _Call) -> list[Check]:
    return [Check("dynamodb:ListStreams", "*")]


# --- SQS, SNS, EventBridge, KMS, S3 ----------------------------------------------------------------


def _queue_arn(call: _Call) -> str:
    """arn:...:sqs:REGION:ACCOUNT:NAME from a QueueUrl (http://host/ACCOUNT/NAME) or GetQueueUrl's name."""
    # The region is the call's (the one it is signed for), whatever host the URL names.
    if "QueueUrl" not in call.params:
        account = call.params.get("QueueOwnerAWSAccountId")
        return call.arn("sqs", call.params["QueueName"], account=account)
    path = urlsplit(call.params["QueueUrl"]).path.strip("/").split("/")
    if len(path) != 2:
        raise ValueError(f"not a queue URL (http://host/ACCOUNT/NAME): {call.params['QueueUrl']!r}")
    account, name = path
    return call.arn("sqs", name, account=account)


def _sqs(action: str) -> Callable[[_Call], list[Check]]:
    return lambda call: [Check(action, _queue_arn(call))]


def _publish(call: _Call) -> list[Check]:
    target = call.params.get("TopicArn") or call.params.get("TargetArn")
    if not target:
        raise UnknownOperation(
            "sns:Publish without TopicArn or TargetArn (e.g. to a PhoneNumber) is not mapped"
        )
    return [Check("sns:Publish", target)]


def _sns(action: str, member: str) -> Callable[[_Call], list[Check]]:
    return lambda call: [Check(action, call.params[member])]


def _put_events(call: _Call) -> list[Check]:
    buses: dict[str, None] = {}
    for entry in call.params["Entries"]:
        bus = entry.get("EventBusName") or "default"
        buses[bus if bus.startswith("arn:") else call.arn("events", f"event-bus/{bus}")] = None
    return [Check("events:PutEvents", bus) for bus in buses]


def _kms(action: str) -> Callable[[_Call], list[Check]]:
    def build(call: _Call) -> list[Check]:
        blob = call.params.get("CiphertextBlob") if action == "kms:Decrypt" else None
        return [Check(action, call.resolver.kms_key_arn(call.params.get("KeyId"), blob))]

    return build


def _s3_object(action: str, versioned: str) -> Callable[[_Call], list[Check]]:
    """An object action; with a VersionId S3 authorizes the ...Version action instead."""

    def build(call: _Call) -> list[Check]:
        name = versioned if call.params.get("VersionId") else action
        return [Check(name, f"arn:{call.partition}:s3:::{call.params['Bucket']}/{call.params['Key']}")]

    return build


def _put_object(call: _Call) -> list[Check]:
    unmapped = sorted(
        m
        for m in ("ACL", "GrantFullControl", "GrantRead", "GrantReadACP", "GrantWriteACP", "Tagging")
        if m in call.params
    )
    if unmapped:  # these need s3:PutObjectAcl / s3:PutObjectTagging besides s3:PutObject
        raise UnknownOperation(f"s3:PutObject with {', '.join(unmapped)} is not mapped")
    return [Check("s3:PutObject", f"arn:{call.partition}:s3:::{call.params['Bucket']}/{call.params['Key']}")]


def _list_bucket(call: _Call) -> list[Check]:
    return [Check("s3:ListBucket", f"arn:{call.partition}:s3:::{call.params['Bucket']}")]


_OPERATIONS: dict[tuple[str, str], Callable[[_Call], list[Check]]] = {
    ("dynamodb", "GetItem"): _single("dynamodb:GetItem"),
    ("dynamodb", "PutItem"): _single("dynamodb:PutItem"),
    ("dynamodb", "UpdateItem"): _single("dynamodb:UpdateItem"),
    ("dynamodb", "DeleteItem"): _single("dynamodb:DeleteItem"),
    ("dynamodb", "Query"): _query,
    ("dynamodb", "Scan"): _scan,
    ("dynamodb", "DescribeTable"): _describe_table,
    ("dynamodb", "BatchGetItem"): _batch_get,
    ("dynamodb", "BatchWriteItem"): _batch_write,
    ("dynamodb", "TransactWriteItems"): _transact_write,
    ("dynamodb", "TransactGetItems"): _transact_get,
    ("dynamodb", "DescribeStream"): _stream("dynamodb:DescribeStream"),
    ("dynamodb", "GetShardIterator"): _stream("dynamodb:GetShardIterator"),
    ("dynamodb", "GetRecords"): _get_records,
    ("dynamodb", "ListStreams"): _list_streams,
    ("sqs", "SendMessage"): _sqs("sqs:SendMessage"),
    ("sqs", "SendMessageBatch"): _sqs("sqs:SendMessage"),
    ("sqs", "ReceiveMessage"): _sqs("sqs:ReceiveMessage"),
    ("sqs", "DeleteMessage"): _sqs("sqs:DeleteMessage"),
    ("sqs", "DeleteMessageBatch"): _sqs("sqs:DeleteMessage"),
    ("sqs", "ChangeMessageVisibility"): _sqs("sqs:ChangeMessageVisibility"),
    ("sqs", "ChangeMessageVisibilityBatch"): _sqs("sqs:ChangeMessageVisibility"),
    ("sqs", "GetQueueAttributes"): _sqs("sqs:GetQueueAttributes"),
    ("sqs", "GetQueueUrl"): _sqs("sqs:GetQueueUrl"),
    ("sqs", "PurgeQueue"): _sqs("sqs:PurgeQueue"),
    ("sns", "Publish"): _publish,
    ("sns", "Subscribe"): _sns("sns:Subscribe", "TopicArn"),
    ("sns", "ListSubscriptionsByTopic"): _sns("sns:ListSubscriptionsByTopic", "TopicArn"),
    ("sns", "GetTopicAttributes"): _sns("sns:GetTopicAttributes", "TopicArn"),
    ("sns", "Unsubscribe"): _sns("sns:Unsubscribe", "SubscriptionArn"),
    ("sns", "GetSubscriptionAttributes"): _sns("sns:GetSubscriptionAttributes", "SubscriptionArn"),
    ("sns", "SetSubscriptionAttributes"): _sns("sns:SetSubscriptionAttributes", "SubscriptionArn"),
    ("events", "PutEvents"): _put_events,
    ("kms", "Encrypt"): _kms("kms:Encrypt"),
    ("kms", "Decrypt"): _kms("kms:Decrypt"),
    ("kms", "GenerateDataKey"): _kms("kms:GenerateDataKey"),
    ("kms", "DescribeKey"): _kms("kms:DescribeKey"),
    ("s3", "GetObject"): _s3_object("s3:GetObject", "s3:GetObjectVersion"),
    ("s3", "HeadObject"): _s3_object("s3:GetObject", "s3:GetObjectVersion"),
    ("s3", "DeleteObject"): _s3_object("s3:DeleteObject", "s3:DeleteObjectVersion"),
    ("s3", "PutObject"): _put_object,
    ("s3", "ListObjectsV2"): _list_bucket,
    ("s3", "ListObjects"): _list_bucket,
}


# ---------------------------------------------------------------------------------------------------
# authorize: IAM's evaluation of identity policies
# ---------------------------------------------------------------------------------------------------


@lru_cache(maxsize=4096)
def _wildcard(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    """IAM's wildcards: * any run of characters, ? exactly one; everything else literal."""
    body = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(body, re.DOTALL | (re.IGNORECASE if ignore_case else 0))


def _like(pattern: str, value: str, *, ignore_case: bool = False) -> bool:
    return _wildcard(pattern, ignore_case).fullmatch(value) is not None


def _arn_like(pattern: str, value: str) -> bool:
    """ARN matching: the six colon-separated parts compared one by one (the last may hold colons), each with
    wildcards; a value that is not an ARN matches nothing."""
    want, have = pattern.split(":", 5), value.split(":", 5)
    if len(want) != 6 or len(have) != 6:
        return False
    return all(_like(w, h) for w, h in zip(want, have, strict=True))


def _resource_matches(pattern: str, resource: str) -> bool:
    if pattern == "*":
        return True
    if len(pattern.split(":", 5)) != 6:
        raise UnsupportedPolicy(f"Resource {pattern!r} is neither * nor an ARN")
    return _arn_like(pattern, resource)


def _action_matches(pattern: str, action: str) -> bool:
    if pattern != "*" and ":" not in pattern:
        raise UnsupportedPolicy(f"Action {pattern!r} is neither * nor service:action")
    return _like(pattern, action, ignore_case=True)


def _bool(pattern: str, value: str) -> bool:
    return pattern.lower() == value.lower()


# base operator -> (value matches one policy value, negated)
_OPERATORS: dict[str, tuple[Callable[[str, str], bool], bool]] = {
    "StringEquals": (str.__eq__, False),
    "StringNotEquals": (str.__eq__, True),
    "StringEqualsIgnoreCase": (lambda p, v: p.lower() == v.lower(), False),
    "StringLike": (_like, False),
    "StringNotLike": (_like, True),
    "ArnEquals": (_arn_like, False),  # IAM defines ArnEquals and ArnLike alike (wildcards in both)
    "ArnLike": (_arn_like, False),
    "ArnNotEquals": (_arn_like, True),
    "ArnNotLike": (_arn_like, True),
    "Bool": (_bool, False),
}


def _strings(value: Any, where: str) -> tuple[str, ...]:
    """A policy element's value(s) as strings: a string or a list; condition values may be bools/numbers."""
    items = value if isinstance(value, list) else [value]
    out = []
    for item in items:
        if isinstance(item, bool):
            out.append("true" if item else "false")
        elif isinstance(item, (str, int, float)):
            out.append(str(item))
        else:
            raise UnsupportedPolicy(f"{where}: unsupported value {item!r}")
    return tuple(out)


def _condition_holds(
    operator: str, key: str, policy_values: tuple[str, ...], context: Mapping[str, Any]
) -> bool:
    qualifier, _, base = operator.rpartition(":")
    if qualifier not in ("", "ForAllValues", "ForAnyValue"):
        raise UnsupportedPolicy(f"condition operator {operator!r}")
    values: tuple[str, ...] = context.get(key.lower(), ())
    if base == "Null":
        if qualifier:
            raise UnsupportedPolicy(f"condition operator {operator!r} (Null takes no set qualifier)")
        return any(_bool(p, "false" if values else "true") for p in policy_values)
    if_exists = base.endswith("IfExists")
    base = base.removesuffix("IfExists")
    if base not in _OPERATORS:
        raise UnsupportedPolicy(f"condition operator {operator!r}")
    match, negated = _OPERATORS[base]

    def one(value: str) -> bool:  # a context value satisfies the operator: policy values are ORed
        hit = any(match(p, value) for p in policy_values)
        return not hit if negated else hit

    if not values:  # the key is absent from the request context
        if qualifier == "ForAllValues" or if_exists:
            return True
        return negated and qualifier == ""
    if qualifier == "ForAllValues":
        return all(one(v) for v in values)
    if qualifier == "ForAnyValue":
        return any(one(v) for v in values)
    if len(values) > 1:
        raise UnsupportedPolicy(
            f"{operator} on {key}, which has several values here: use ForAllValues/ForAnyValue"
        )
    return one(values[0])


def _conditions_hold(condition: Mapping[str, Any], context: Mapping[str, Any]) -> bool:
    """Operators ANDed, keys within an operator ANDed (values of one key ORed inside the operator)."""
    if not isinstance(condition, Mapping) or not all(
        isinstance(keys, Mapping) for keys in condition.values()
    ):
        raise UnsupportedPolicy(f"Condition {condition!r} is not a map of operators to maps of keys")
    return all(
        _condition_holds(operator, key, _strings(expected, f"{operator} {key}"), context)
        for operator, keys in condition.items()
        for key, expected in keys.items()
    )


_STATEMENT_MEMBERS = {"Sid", "Effect", "Action", "NotAction", "Resource", "NotResource", "Condition"}


def _applies(statement: Mapping[str, Any], check: Check, context: Mapping[str, Any]) -> bool:
    unknown = set(statement) - _STATEMENT_MEMBERS
    if unknown:
        raise UnsupportedPolicy(f"statement member(s) {sorted(unknown)} in an identity policy")
    if ("Action" in statement) == ("NotAction" in statement):
        raise UnsupportedPolicy("a statement needs exactly one of Action and NotAction")
    if ("Resource" in statement) == ("NotResource" in statement):
        raise UnsupportedPolicy("a statement needs exactly one of Resource and NotResource")
    if "Action" in statement:
        action_ok = any(_action_matches(p, check.action) for p in _strings(statement["Action"], "Action"))
    else:
        action_ok = not any(
            _action_matches(p, check.action) for p in _strings(statement["NotAction"], "NotAction")
        )
    if not action_ok:
        return False
    if "Resource" in statement:
        resource_ok = any(
            _resource_matches(p, check.resource) for p in _strings(statement["Resource"], "Resource")
        )
    else:
        patterns = _strings(statement["NotResource"], "NotResource")
        resource_ok = not any(_resource_matches(p, check.resource) for p in patterns)
    return resource_ok and _conditions_hold(statement.get("Condition", {}), context)


def _strings_in(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield str(key)
            yield from _strings_in(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings_in(item)


def _statements(name: str, document: Mapping[str, Any]) -> list[tuple[int, Mapping[str, Any]]]:
    variable = next((s for s in _strings_in(document) if "${" in s), None)
    if variable is not None:
        raise UnsupportedPolicy(f"policy {name}: policy variables are not evaluated ({variable!r})")
    statement = document.get("Statement", [])
    listed = statement if isinstance(statement, list) else [statement]
    for item in listed:
        if not isinstance(item, Mapping):
            raise UnsupportedPolicy(f"policy {name}: statement {item!r} is not a map")
        if item.get("Effect") not in ("Allow", "Deny"):
            raise UnsupportedPolicy(f"policy {name}: Effect {item.get('Effect')!r}")
    return list(enumerate(listed))


Statements = list[tuple[str, int, Mapping[str, Any]]]  # (policy name, statement index, statement)


def statements(policies: Sequence[tuple[str, Mapping[str, Any]]]) -> Statements:
    """Every statement of the policies, each checked to be one this evaluation supports (else
    ``UnsupportedPolicy``): done once per role, not per call."""
    return [(name, index, s) for name, document in policies for index, s in _statements(name, document)]


def authorize(policies: Sequence[tuple[str, Mapping[str, Any]]], checks: Sequence[Check]) -> Decision:
    """``evaluate`` of the policies' statements."""
    return evaluate(statements(policies), checks)


def evaluate(statements: Statements, checks: Sequence[Check]) -> Decision:
    """IAM's identity-policy evaluation: an explicit Deny wins, else an Allow must match, else implicit deny;
    every check must be allowed."""
    used: dict[tuple[str, int], None] = {}
    denied: Check | None = None
    explicit = False
    for check in checks:
        context = {key.lower(): values for key, values in check.context.items()}
        applying = [(name, index, s) for name, index, s in statements if _applies(s, check, context)]
        allows = [(name, index) for name, index, s in applying if s["Effect"] == "Allow"]
        deny = len(allows) < len(applying)
        if (deny or not allows) and denied is None:
            denied, explicit = check, deny
        if not deny:
            used.update(dict.fromkeys(allows))
    return Decision(allowed=denied is None, denied=denied, explicit=explicit, used=tuple(used))
