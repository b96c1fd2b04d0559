"""The IAM checks of each call and IAM's identity-policy evaluation (alertbridge_tools.iam_policy)."""

from fnmatch import fnmatchcase
from typing import Any

import pytest
from alertbridge_tools.iam_policy import (
    Check,
    Decision,
    UnknownOperation,
    UnsupportedPolicy,
    authorize,
    checks,
)
from alertbridge_tools.template import load_template
from hypothesis import given
from hypothesis import strategies as st

REGION, ACCOUNT = "us-east-1", "123456789012"
TABLE = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/alertbridge"
OTHER_TABLE = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/other"
STREAM = f"{TABLE}/stream/2026-12-01T00:00:00.000"
QUEUE = f"arn:aws:sqs:{REGION}:{ACCOUNT}:alerts"
TOPIC = f"arn:aws:sns:{REGION}:{ACCOUNT}:notifications"
SUBSCRIPTION = f"{TOPIC}:0b3c5f4e-1111-2222-3333-444455556666"
BUS = f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/alertbridge"
DEFAULT_BUS = f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/default"
KEY_PREFIX = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/"
LK, ATTRS = "dynamodb:LeadingKeys", "dynamodb:Attributes"


class Emulator:
    """The Resolver: what the emulator knows (key schemas, iterators, keys)."""

    def partition_key(self, table: str, index: str | None) -> str:
        return {("alertbridge", None): "PK", ("alertbridge", "GSI1"): "GSI1PK", ("other", None): "id"}[
            (table, index)
        ]

    def stream_arn(self, shard_iterator: str) -> str:
        return {"iterator-1": STREAM}[shard_iterator]

    def kms_key_arn(self, key_id: str | None, ciphertext: bytes | None) -> str:
        # the resolver sees exactly what the call named: the key id, or (Decrypt) the blob
        return KEY_PREFIX + (key_id if key_id is not None else f"from-blob-{ciphertext!r}")


def s(value: str) -> dict[str, str]:
    return {"S": value}


def run(service: str, operation: str, params: dict[str, Any]) -> list[Check]:
    return checks(service, operation, params, region=REGION, account=ACCOUNT, resolver=Emulator())


CASES: list[tuple[str, str, str, dict[str, Any], list[Check]]] = [
    # --- DynamoDB ---
    (
        "GetItem",
        "dynamodb",
        "GetItem",
        {"TableName": "alertbridge", "Key": {"PK": s("SRC#1"), "SK": s("SRC#1")}},
        [Check("dynamodb:GetItem", TABLE, {LK: ("SRC#1",)})],
    ),
    (
        "GetItem projecting names",
        "dynamodb",
        "GetItem",
        {
            "TableName": "alertbridge",
            "Key": {"PK": s("inc_1"), "SK": s("EP#1")},
            "ProjectionExpression": "#st, ledger, #m.inner, tags[0]",
            "ExpressionAttributeNames": {"#st": "status", "#m": "meta"},
        },
        [Check("dynamodb:GetItem", TABLE, {LK: ("inc_1",), ATTRS: ("status", "ledger", "meta", "tags")})],
    ),
    (
        "PutItem (the item's names)",
        "dynamodb",
        "PutItem",
        {"TableName": "alertbridge", "Item": {"PK": s("inc_1"), "SK": s("EP#1"), "n": {"N": "3"}}},
        [Check("dynamodb:PutItem", TABLE, {LK: ("inc_1",), ATTRS: ("PK", "SK", "n")})],
    ),
    (
        "UpdateItem with a number key",
        "dynamodb",
        "UpdateItem",
        {"TableName": "other", "Key": {"id": {"N": "42"}}, "UpdateExpression": "SET a = :a"},
        [Check("dynamodb:UpdateItem", OTHER_TABLE, {LK: ("42",)})],
    ),
    (
        "DeleteItem",
        "dynamodb",
        "DeleteItem",
        {"TableName": "alertbridge", "Key": {"PK": s("CH#1"), "SK": s("CH#1")}},
        [Check("dynamodb:DeleteItem", TABLE, {LK: ("CH#1",)})],
    ),
    (
        "DeleteItem naming the table by ARN",
        "dynamodb",
        "DeleteItem",
        {"TableName": TABLE, "Key": {"PK": s("CH#1"), "SK": s("CH#1")}},
        [Check("dynamodb:DeleteItem", TABLE, {LK: ("CH#1",)})],
    ),
    (
        "Query with names and values",
        "dynamodb",
        "Query",
        {
            "TableName": "alertbridge",
            "KeyConditionExpression": "#pk = :pk AND begins_with(sk, :p)",
            "ExpressionAttributeNames": {"#pk": "PK"},
            "ExpressionAttributeValues": {":pk": s("inc_7"), ":p": s("EP#")},
        },
        [Check("dynamodb:Query", TABLE, {LK: ("inc_7",)})],
    ),
    (
        "Query with a bare name",
        "dynamodb",
        "Query",
        {
            "TableName": "alertbridge",
            "KeyConditionExpression": "PK = :v",
            "ExpressionAttributeValues": {":v": s("SRC#2")},
            "ProjectionExpression": "received_at",
        },
        [Check("dynamodb:Query", TABLE, {LK: ("SRC#2",), ATTRS: ("received_at",)})],
    ),
    (
        "Query, sort key BETWEEN ... AND and parentheses",
        "dynamodb",
        "Query",
        {
            "TableName": "alertbridge",
            "KeyConditionExpression": "(SK BETWEEN :a AND :b) AND (PK = :pk)",
            "ExpressionAttributeValues": {":a": s("A"), ":b": s("B"), ":pk": s("DUE#3")},
        },
        [Check("dynamodb:Query", TABLE, {LK: ("DUE#3",)})],
    ),
    (
        "Query on an index (its own partition key)",
        "dynamodb",
        "Query",
        {
            "TableName": "alertbridge",
            "IndexName": "GSI1",
            "KeyConditionExpression": "GSI1PK = :pk AND GSI1SK >= :lo",
            "ExpressionAttributeValues": {":pk": s("OPEN#checkout"), ":lo": s("0")},
        },
        [Check("dynamodb:Query", f"{TABLE}/index/GSI1", {LK: ("OPEN#checkout",)})],
    ),
    (
        "Query, legacy KeyConditions",
        "dynamodb",
        "Query",
        {
            "TableName": "alertbridge",
            "KeyConditions": {"PK": {"ComparisonOperator": "EQ", "AttributeValueList": [s("inc_9")]}},
        },
        [Check("dynamodb:Query", TABLE, {LK: ("inc_9",)})],
    ),
    (
        "Scan (no LeadingKeys)",
        "dynamodb",
        "Scan",
        {"TableName": "alertbridge"},
        [Check("dynamodb:Scan", TABLE)],
    ),
    (
        "Scan on an index",
        "dynamodb",
        "Scan",
        {"TableName": "alertbridge", "IndexName": "GSI1", "AttributesToGet": ["PK"]},
        [Check("dynamodb:Scan", f"{TABLE}/index/GSI1", {ATTRS: ("PK",)})],
    ),
    (
        "DescribeTable",
        "dynamodb",
        "DescribeTable",
        {"TableName": "alertbridge"},
        [Check("dynamodb:DescribeTable", TABLE)],
    ),
    (
        "BatchGetItem: one check per table",
        "dynamodb",
        "BatchGetItem",
        {
            "RequestItems": {
                "alertbridge": {
                    "Keys": [
                        {"PK": s("SRC#1"), "SK": s("SRC#1")},
                        {"PK": s("SRC#2"), "SK": s("SRC#2")},
                        {"PK": s("SRC#1"), "SK": s("X")},
                    ],
                    "ProjectionExpression": "#n0, #n1",
                    "ExpressionAttributeNames": {"#n0": "PK", "#n1": "source"},
                },
                "other": {"Keys": [{"id": s("a")}]},
            }
        },
        [
            Check("dynamodb:BatchGetItem", TABLE, {LK: ("SRC#1", "SRC#2"), ATTRS: ("PK", "source")}),
            Check("dynamodb:BatchGetItem", OTHER_TABLE, {LK: ("a",)}),
        ],
    ),
    (
        "BatchWriteItem: puts and deletes of one table",
        "dynamodb",
        "BatchWriteItem",
        {
            "RequestItems": {
                "alertbridge": [
                    {"PutRequest": {"Item": {"PK": s("DLV#1"), "SK": s("1"), "body": {"B": b"x"}}}},
                    {"DeleteRequest": {"Key": {"PK": s("DLV#2"), "SK": s("1")}}},
                ]
            }
        },
        [Check("dynamodb:BatchWriteItem", TABLE, {LK: ("DLV#1", "DLV#2")})],
    ),
    (
        "TransactWriteItems: one check per item, of its own action",
        "dynamodb",
        "TransactWriteItems",
        {
            "TransactItems": [
                {"Put": {"TableName": "alertbridge", "Item": {"PK": s("inc_1"), "SK": s("EP#2")}}},
                {"Update": {"TableName": "alertbridge", "Key": {"PK": s("inc_1"), "SK": s("EP#1")}}},
                {"ConditionCheck": {"TableName": "alertbridge", "Key": {"PK": s("SVC#a"), "SK": s("SVC#a")}}},
                {"Delete": {"TableName": "other", "Key": {"id": s("z")}}},
            ]
        },
        [
            Check("dynamodb:PutItem", TABLE, {LK: ("inc_1",), ATTRS: ("PK", "SK")}),
            Check("dynamodb:UpdateItem", TABLE, {LK: ("inc_1",)}),
            Check("dynamodb:ConditionCheckItem", TABLE, {LK: ("SVC#a",)}),
            Check("dynamodb:DeleteItem", OTHER_TABLE, {LK: ("z",)}),
        ],
    ),
    (
        "TransactGetItems: GetItem per item",
        "dynamodb",
        "TransactGetItems",
        {
            "TransactItems": [
                {"Get": {"TableName": "alertbridge", "Key": {"PK": s("inc_1"), "SK": s("EP#1")}}},
                {"Get": {"TableName": "other", "Key": {"id": s("b")}, "ProjectionExpression": "v"}},
            ]
        },
        [
            Check("dynamodb:GetItem", TABLE, {LK: ("inc_1",)}),
            Check("dynamodb:GetItem", OTHER_TABLE, {LK: ("b",), ATTRS: ("v",)}),
        ],
    ),
    # --- DynamoDB Streams (signs as dynamodb) ---
    (
        "DescribeStream",
        "dynamodb",
        "DescribeStream",
        {"StreamArn": STREAM},
        [Check("dynamodb:DescribeStream", STREAM)],
    ),
    (
        "GetShardIterator",
        "dynamodb",
        "GetShardIterator",
        {"StreamArn": STREAM, "ShardId": "shardId-1", "ShardIteratorType": "TRIM_HORIZON"},
        [Check("dynamodb:GetShardIterator", STREAM)],
    ),
    (
        "GetRecords (the iterator's stream)",
        "dynamodb",
        "GetRecords",
        {"ShardIterator": "iterator-1"},
        [Check("dynamodb:GetRecords", STREAM)],
    ),
    (
        "ListStreams",
        "dynamodb",
        "ListStreams",
        {"TableName": "alertbridge"},
        [Check("dynamodb:ListStreams", "*")],
    ),
    # --- SQS ---
    *[
        (
            f"SQS {operation} ({url.split('/')[2]})",
            "sqs",
            operation,
            {"QueueUrl": url},
            [Check(action, QUEUE)],
        )
        for operation, action in [
            ("SendMessage", "sqs:SendMessage"),
            ("SendMessageBatch", "sqs:SendMessage"),
            ("ReceiveMessage", "sqs:ReceiveMessage"),
            ("DeleteMessage", "sqs:DeleteMessage"),
            ("DeleteMessageBatch", "sqs:DeleteMessage"),
            ("ChangeMessageVisibility", "sqs:ChangeMessageVisibility"),
            ("ChangeMessageVisibilityBatch", "sqs:ChangeMessageVisibility"),
            ("GetQueueAttributes", "sqs:GetQueueAttributes"),
            ("PurgeQueue", "sqs:PurgeQueue"),
        ]
        for url in (
            f"http://localhost:5000/{ACCOUNT}/alerts",
            f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/alerts",
        )
    ],
    ("GetQueueUrl", "sqs", "GetQueueUrl", {"QueueName": "alerts"}, [Check("sqs:GetQueueUrl", QUEUE)]),
    (
        "GetQueueUrl of another account's queue",
        "sqs",
        "GetQueueUrl",
        {"QueueName": "alerts", "QueueOwnerAWSAccountId": "999999999999"},
        [Check("sqs:GetQueueUrl", f"arn:aws:sqs:{REGION}:999999999999:alerts")],
    ),
    # --- SNS ---
    (
        "Publish (TopicArn)",
        "sns",
        "Publish",
        {"TopicArn": TOPIC, "Message": "m"},
        [Check("sns:Publish", TOPIC)],
    ),
    (
        "Publish (TargetArn)",
        "sns",
        "Publish",
        {"TargetArn": TOPIC, "Message": "m"},
        [Check("sns:Publish", TOPIC)],
    ),
    (
        "Subscribe",
        "sns",
        "Subscribe",
        {"TopicArn": TOPIC, "Protocol": "email", "Endpoint": "a@example.com"},
        [Check("sns:Subscribe", TOPIC)],
    ),
    (
        "ListSubscriptionsByTopic",
        "sns",
        "ListSubscriptionsByTopic",
        {"TopicArn": TOPIC},
        [Check("sns:ListSubscriptionsByTopic", TOPIC)],
    ),
    (
        "GetTopicAttributes",
        "sns",
        "GetTopicAttributes",
        {"TopicArn": TOPIC},
        [Check("sns:GetTopicAttributes", TOPIC)],
    ),
    (
        "Unsubscribe",
        "sns",
        "Unsubscribe",
        {"SubscriptionArn": SUBSCRIPTION},
        [Check("sns:Unsubscribe", SUBSCRIPTION)],
    ),
    (
        "GetSubscriptionAttributes",
        "sns",
        "GetSubscriptionAttributes",
        {"SubscriptionArn": SUBSCRIPTION},
        [Check("sns:GetSubscriptionAttributes", SUBSCRIPTION)],
    ),
    (
        "SetSubscriptionAttributes",
        "sns",
        "SetSubscriptionAttributes",
        {"SubscriptionArn": SUBSCRIPTION, "AttributeName": "FilterPolicy"},
        [Check("sns:SetSubscriptionAttributes", SUBSCRIPTION)],
    ),
    # --- EventBridge ---
    (
        "PutEvents to two buses (by name and by ARN), and the default bus",
        "events",
        "PutEvents",
        {
            "Entries": [
                {"EventBusName": "alertbridge", "Source": "a", "DetailType": "d", "Detail": "{}"},
                {"EventBusName": BUS, "Source": "a", "DetailType": "d", "Detail": "{}"},
                {"EventBusName": "audit", "Source": "a", "DetailType": "d", "Detail": "{}"},
                {"Source": "a", "DetailType": "d", "Detail": "{}"},
            ]
        },
        [
            Check("events:PutEvents", BUS),
            Check("events:PutEvents", f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/audit"),
            Check("events:PutEvents", DEFAULT_BUS),
        ],
    ),
    # --- KMS ---
    (
        "Encrypt",
        "kms",
        "Encrypt",
        {"KeyId": "alias/channels", "Plaintext": b"x"},
        [Check("kms:Encrypt", KEY_PREFIX + "alias/channels")],
    ),
    (
        "Decrypt without KeyId (the blob names the key)",
        "kms",
        "Decrypt",
        {"CiphertextBlob": b"sealed"},
        [Check("kms:Decrypt", KEY_PREFIX + "from-blob-b'sealed'")],
    ),
    (
        "Decrypt with KeyId",
        "kms",
        "Decrypt",
        {"KeyId": "k-1", "CiphertextBlob": b"sealed"},
        [Check("kms:Decrypt", KEY_PREFIX + "k-1")],
    ),
    (
        "GenerateDataKey",
        "kms",
        "GenerateDataKey",
        {"KeyId": "k-1", "KeySpec": "AES_256"},
        [Check("kms:GenerateDataKey", KEY_PREFIX + "k-1")],
    ),
    ("DescribeKey", "kms", "DescribeKey", {"KeyId": "k-1"}, [Check("kms:DescribeKey", KEY_PREFIX + "k-1")]),
    # --- S3 ---
    *[
        (
            f"S3 {operation}",
            "s3",
            operation,
            {"Bucket": "raw-bucket", "Key": "raw/a/b.json"},
            [Check(action, "arn:aws:s3:::raw-bucket/raw/a/b.json")],
        )
        for operation, action in [
            ("GetObject", "s3:GetObject"),
            ("HeadObject", "s3:GetObject"),
            ("PutObject", "s3:PutObject"),
            ("DeleteObject", "s3:DeleteObject"),
        ]
    ],
    (
        "GetObject of a version",
        "s3",
        "GetObject",
        {"Bucket": "raw-bucket", "Key": "k", "VersionId": "v1"},
        [Check("s3:GetObjectVersion", "arn:aws:s3:::raw-bucket/k")],
    ),
    (
        "ListObjectsV2",
        "s3",
        "ListObjectsV2",
        {"Bucket": "raw-bucket", "Prefix": "raw/"},
        [Check("s3:ListBucket", "arn:aws:s3:::raw-bucket")],
    ),
    (
        "ListObjects",
        "s3",
        "ListObjects",
        {"Bucket": "raw-bucket"},
        [Check("s3:ListBucket", "arn:aws:s3:::raw-bucket")],
    ),
]


@pytest.mark.parametrize(
    ("service", "operation", "params", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_checks_of_each_operation(
    service: str, operation: str, params: dict[str, Any], expected: list[Check]
) -> None:
    got = run(service, operation, params)
    assert got == expected
    assert [dict(c.context) for c in got] == [
        dict(c.context) for c in expected
    ]  # == compares them, but say it


def test_partition_follows_the_region() -> None:
    got = checks(
        "sqs", "GetQueueUrl", {"QueueName": "q"}, region="cn-north-1", account=ACCOUNT, resolver=Emulator()
    )
    assert got == [Check("sqs:GetQueueUrl", f"arn:aws-cn:sqs:cn-north-1:{ACCOUNT}:q")]


@pytest.mark.parametrize(
    ("service", "operation", "params", "error", "message"),
    [
        ("dynamodb", "CreateTable", {}, UnknownOperation, "dynamodb:CreateTable"),
        (
            "dynamodb",
            "ConditionCheckItem",
            {},
            UnknownOperation,
            "ConditionCheckItem",
        ),  # an action, not an API
        ("lambda", "Invoke", {}, UnknownOperation, "lambda:Invoke"),
        ("sns", "Publish", {"PhoneNumber": "+15550100", "Message": "m"}, UnknownOperation, "PhoneNumber"),
        ("s3", "PutObject", {"Bucket": "b", "Key": "k", "ACL": "private"}, UnknownOperation, "ACL"),
        ("s3", "PutObject", {"Bucket": "b", "Key": "k", "Tagging": "a=b"}, UnknownOperation, "Tagging"),
        (
            "dynamodb",
            "Query",
            {
                "TableName": "alertbridge",
                "KeyConditionExpression": "SK = :v",
                "ExpressionAttributeValues": {":v": s("x")},
            },
            ValueError,
            "no equality on the partition key 'PK'",
        ),
        ("dynamodb", "Query", {"TableName": "alertbridge"}, ValueError, "KeyConditionExpression"),
        (
            "dynamodb",
            "Query",
            {
                "TableName": "alertbridge",
                "KeyConditionExpression": "PK = :v; DROP",
                "ExpressionAttributeValues": {},
            },
            ValueError,
            "unreadable",
        ),
        ("dynamodb", "GetItem", {"TableName": "alertbridge", "Key": {"SK": s("x")}}, ValueError, "'PK'"),
        ("dynamodb", "GetItem", {"TableName": "other", "Key": {"id": {"B": b"x"}}}, ValueError, "S or N"),
        ("sqs", "SendMessage", {"QueueUrl": "http://localhost:5000/alerts"}, ValueError, "not a queue URL"),
    ],
)
def test_calls_it_cannot_map_are_refused(
    service: str, operation: str, params: dict[str, Any], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message.replace("(", r"\(")):
        run(service, operation, params)


# ---------------------------------------------------------------------------------------------------
# The evaluator
# ---------------------------------------------------------------------------------------------------


def policy(*statements: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    return ("p", {"Version": "2012-10-17", "Statement": list(statements)})


def allow(action: Any, resource: Any = "*", **more: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **more}


PUT = Check("dynamodb:PutItem", TABLE, {LK: ("inc_1",)})
DELETE = Check("dynamodb:DeleteItem", TABLE, {LK: ("inc_1",)})


def test_an_allow_allows_and_names_the_statements_used() -> None:
    decision = authorize(
        [policy(allow("sqs:*"), allow("dynamodb:PutItem", TABLE), allow("dynamodb:*"))], [PUT]
    )
    assert decision == Decision(allowed=True, denied=None, explicit=False, used=(("p", 1), ("p", 2)))


def test_no_allow_is_an_implicit_deny() -> None:
    assert authorize([policy(allow("sqs:*"))], [PUT]) == Decision(False, PUT, explicit=False, used=())
    assert authorize([], [PUT]) == Decision(False, PUT, explicit=False, used=())


def test_an_explicit_deny_wins_over_any_allow() -> None:
    policies = [
        ("allow-all", {"Statement": allow("*")}),
        ("guard", {"Statement": [{"Effect": "Deny", "Action": "dynamodb:DeleteItem", "Resource": TABLE}]}),
    ]
    assert authorize(policies, [PUT]) == Decision(True, None, explicit=False, used=(("allow-all", 0),))
    assert authorize(policies, [PUT, DELETE]) == Decision(
        False, DELETE, explicit=True, used=(("allow-all", 0),)
    )
    # an Allow that matched a check denied anyway did not allow it
    assert authorize(policies, [DELETE]) == Decision(False, DELETE, explicit=True, used=())


def test_a_deny_whose_condition_fails_does_not_deny() -> None:
    deny = {"Effect": "Deny", "Action": "*", "Resource": "*", "Condition": {"StringLike": {LK: "SVC#*"}}}
    assert authorize([policy(allow("*"), deny)], [PUT]).allowed


def test_every_check_must_be_allowed_and_the_first_refused_is_named() -> None:
    other = Check("dynamodb:PutItem", OTHER_TABLE, {LK: ("x",)})
    third = Check("dynamodb:PutItem", f"{TABLE}2")
    decision = authorize([policy(allow("dynamodb:PutItem", TABLE))], [PUT, other, third])
    assert decision == Decision(False, other, explicit=False, used=(("p", 0),))


def test_action_wildcards_are_case_insensitive_resources_case_sensitive() -> None:
    assert authorize([policy(allow("DynamoDB:putitem", TABLE))], [PUT]).allowed
    assert authorize([policy(allow("dynamodb:P?tItem", TABLE))], [PUT]).allowed
    assert not authorize([policy(allow("dynamodb:P?Item", TABLE))], [PUT]).allowed
    assert not authorize(
        [policy(allow("dynamodb:PutItem", TABLE.replace("alertbridge", "Alertbridge")))], [PUT]
    ).allowed


@pytest.mark.parametrize(
    ("resource", "allowed"),
    [
        ("*", True),
        (TABLE, True),
        ("arn:aws:dynamodb:*:*:table/alertbridge", True),
        ("arn:aws:dynamodb:us-east-?:123456789012:table/alert*", True),
        ("arn:aws:dynamodb:us-east-1:123456789012:table/alertbridg?", True),
        ("arn:aws:dynamodb:us-east-1:123456789012:table/alertbridge?", False),
        ("arn:aws:dynamodb:us-east-1:123456789012:table/alertbridge/index/*", False),
        ("arn:aws:dynamodb:us-east-1:999999999999:table/alertbridge", False),
        (["arn:aws:sqs:*:*:q", TABLE], True),
        ("arn:aws:dynamodb:*:123456789012:*", True),
        ("arn:aws:dynamodb:*:123456789012:table/*", True),
    ],
)
def test_resource_patterns(resource: Any, allowed: bool) -> None:
    assert authorize([policy(allow("*", resource))], [PUT]).allowed is allowed


def test_an_index_needs_its_own_arn_and_a_table_wildcard_covers_it() -> None:
    query = Check("dynamodb:Query", f"{TABLE}/index/GSI1", {LK: ("OPEN#x",)})
    assert not authorize([policy(allow("dynamodb:Query", TABLE))], [query]).allowed
    assert authorize([policy(allow("dynamodb:Query", f"{TABLE}/index/*"))], [query]).allowed
    assert authorize([policy(allow("dynamodb:Query", f"{TABLE}*"))], [query]).allowed


def test_a_star_resource_check_is_only_allowed_by_a_star_resource() -> None:
    list_streams = Check("dynamodb:ListStreams", "*")
    assert authorize([policy(allow("dynamodb:ListStreams"))], [list_streams]).allowed
    assert not authorize(
        [policy(allow("dynamodb:ListStreams", "arn:aws:dynamodb:*:*:*"))], [list_streams]
    ).allowed


def test_not_action() -> None:
    statement = {"Effect": "Allow", "NotAction": ["sqs:*", "dynamodb:Delete*"], "Resource": "*"}
    assert authorize([policy(statement)], [PUT]).allowed
    assert not authorize([policy(statement)], [DELETE]).allowed
    assert not authorize([policy(statement)], [Check("sqs:SendMessage", QUEUE)]).allowed


def test_not_resource() -> None:
    statement = {"Effect": "Allow", "Action": "s3:GetObject", "NotResource": "arn:aws:s3:::b/secret/*"}
    assert authorize([policy(statement)], [Check("s3:GetObject", "arn:aws:s3:::b/raw/x")]).allowed
    assert not authorize([policy(statement)], [Check("s3:GetObject", "arn:aws:s3:::b/secret/x")]).allowed
    deny = {"Effect": "Deny", "Action": "*", "NotResource": [TABLE, QUEUE]}
    assert authorize([policy(allow("*"), deny)], [PUT]).allowed
    assert authorize([policy(allow("*"), deny)], [PUT, Check("s3:GetObject", "arn:aws:s3:::b/k")]).explicit


def test_a_single_statement_and_string_members() -> None:
    document = {"Statement": {"Effect": "Allow", "Action": "dynamodb:PutItem", "Resource": TABLE}}
    assert authorize([("one", document)], [PUT]) == Decision(True, None, explicit=False, used=(("one", 0),))


ABSENT = None
ARN_BUS = BUS
ARN_OTHER_ACCOUNT = BUS.replace(ACCOUNT, "999999999999")

# (operator, policy value(s), the key's values in the request (None: absent), holds)
OPERATOR_CASES: list[tuple[str, Any, tuple[str, ...] | None, bool]] = [
    ("StringEquals", "a", ("a",), True),
    ("StringEquals", "a", ("A",), False),
    ("StringEquals", ["a", "b"], ("b",), True),  # values of one key are ORed
    ("StringEquals", "a", ABSENT, False),
    ("StringEquals", "a*", ("abc",), False),  # no wildcards in Equals
    ("StringNotEquals", "a", ("a",), False),
    ("StringNotEquals", "a", ("b",), True),
    ("StringNotEquals", ["a", "b"], ("b",), False),  # "none of them"
    ("StringNotEquals", ["a", "b"], ("c",), True),
    ("StringNotEquals", "a", ABSENT, True),  # a negated operator holds when the key is absent
    ("StringEqualsIgnoreCase", "ABC", ("abc",), True),
    ("StringEqualsIgnoreCase", "ABC", ("abd",), False),
    ("StringEqualsIgnoreCase", "ABC", ABSENT, False),
    ("StringLike", "inc_*", ("inc_1",), True),
    ("StringLike", "inc_*", ("SVC#1",), False),
    ("StringLike", "inc_*", ("INC_1",), False),
    ("StringLike", "a?c", ("abc",), True),
    ("StringLike", "a?c", ("abbc",), False),
    ("StringLike", "a?c", ("ac",), False),
    ("StringLike", "a.c", ("abc",), False),  # regex characters are literal
    ("StringLike", ["x*", "inc_*"], ("inc_1",), True),
    ("StringLike", "inc_*", ABSENT, False),
    ("StringNotLike", "inc_*", ("inc_1",), False),
    ("StringNotLike", "inc_*", ("SVC#1",), True),
    ("StringNotLike", "inc_*", ABSENT, True),
    ("ArnEquals", ARN_BUS, (ARN_BUS,), True),
    ("ArnEquals", "arn:aws:events:*:123456789012:event-bus/*", (ARN_BUS,), True),  # ArnEquals takes wildcards
    ("ArnEquals", ARN_BUS, (ARN_OTHER_ACCOUNT,), False),
    ("ArnLike", "arn:aws:events:*:123456789012:event-bus/*", (ARN_BUS,), True),
    ("ArnLike", "arn:aws:events:*:*:event-bus/audit", (ARN_BUS,), False),
    ("ArnLike", "arn:aws:events:*:event-bus/*", (ARN_BUS,), False),  # five parts: never an ARN match
    ("ArnLike", "arn:aws:events:*:*:*", ("alertbridge",), False),  # the value is not an ARN
    ("ArnLike", "arn:aws:sns:*:*:notifications:*", (TOPIC,), False),
    ("ArnLike", "arn:aws:sns:*:*:notifications:*", (SUBSCRIPTION,), True),
    ("ArnLike", ARN_BUS, ABSENT, False),
    ("ArnNotEquals", ARN_BUS, (ARN_BUS,), False),
    ("ArnNotEquals", ARN_BUS, (ARN_OTHER_ACCOUNT,), True),
    ("ArnNotEquals", ARN_BUS, ABSENT, True),
    ("ArnNotLike", "arn:aws:events:*:123456789012:*", (ARN_BUS,), False),
    ("ArnNotLike", "arn:aws:events:*:123456789012:*", (ARN_OTHER_ACCOUNT,), True),
    ("ArnNotLike", ARN_BUS, ABSENT, True),
    ("Bool", "true", ("true",), True),
    ("Bool", True, ("true",), True),  # JSON booleans in a policy
    ("Bool", "TRUE", ("true",), True),
    ("Bool", "true", ("false",), False),
    ("Bool", False, ("false",), True),
    ("Bool", "true", ABSENT, False),
    ("Null", "true", ABSENT, True),
    ("Null", "true", ("x",), False),
    ("Null", "false", ABSENT, False),
    ("Null", "false", ("x",), True),
    ("Null", False, ("x",), True),
    # ...IfExists: an absent key passes, a present one is tested as usual
    ("StringEqualsIfExists", "a", ABSENT, True),
    ("StringEqualsIfExists", "a", ("b",), False),
    ("StringEqualsIfExists", "a", ("a",), True),
    ("StringNotEqualsIfExists", "a", ABSENT, True),
    ("StringNotEqualsIfExists", "a", ("a",), False),
    ("StringEqualsIgnoreCaseIfExists", "A", ("b",), False),
    ("StringEqualsIgnoreCaseIfExists", "A", ABSENT, True),
    ("StringLikeIfExists", "inc_*", ABSENT, True),
    ("StringLikeIfExists", "inc_*", ("SVC#1",), False),
    ("StringNotLikeIfExists", "inc_*", ("inc_1",), False),
    ("StringNotLikeIfExists", "inc_*", ABSENT, True),
    ("ArnEqualsIfExists", ARN_BUS, ABSENT, True),
    ("ArnEqualsIfExists", ARN_BUS, (ARN_OTHER_ACCOUNT,), False),
    ("ArnLikeIfExists", "arn:aws:events:*:*:*", (ARN_BUS,), True),
    ("ArnNotEqualsIfExists", ARN_BUS, (ARN_BUS,), False),
    ("ArnNotLikeIfExists", ARN_BUS, ABSENT, True),
    ("BoolIfExists", "true", ABSENT, True),
    ("BoolIfExists", "true", ("false",), False),
    # ForAllValues: every request value matches some policy value; an absent key passes (the gotcha)
    ("ForAllValues:StringLike", "inc_*", ("inc_1", "inc_2"), True),
    ("ForAllValues:StringLike", "inc_*", ("inc_1", "SVC#1"), False),
    ("ForAllValues:StringLike", ["inc_*", "SVC#*"], ("inc_1", "SVC#1"), True),
    ("ForAllValues:StringLike", "inc_*", ABSENT, True),
    ("ForAllValues:StringEquals", ["PK", "SK"], ("PK",), True),
    ("ForAllValues:StringEquals", ["PK", "SK"], ("PK", "body"), False),
    ("ForAllValues:StringNotLike", "key1*", ("key2:audit",), True),  # the IAM guide's own table
    ("ForAllValues:StringNotLike", "key1*", ("key1:legal",), False),
    ("ForAllValues:StringNotLike", "key1*", ("key1:hr", "key2:x"), False),
    ("ForAllValues:StringNotLike", "key1*", ABSENT, True),
    ("ForAllValues:StringNotEquals", "a", ABSENT, True),
    ("ForAllValues:ArnLike", "arn:aws:events:*:*:*", (ARN_BUS, ARN_OTHER_ACCOUNT), True),
    ("ForAllValues:StringLikeIfExists", "inc_*", ABSENT, True),
    ("ForAllValues:StringLikeIfExists", "inc_*", ("x",), False),
    # ForAnyValue: some request value matches; an absent key fails
    ("ForAnyValue:StringLike", "inc_*", ("SVC#1", "inc_1"), True),
    ("ForAnyValue:StringLike", "inc_*", ("SVC#1",), False),
    ("ForAnyValue:StringLike", "inc_*", ABSENT, False),
    ("ForAnyValue:StringNotLike", "inc_*", ("inc_1", "x"), True),
    ("ForAnyValue:StringNotLike", "inc_*", ("inc_1", "inc_2"), False),
    ("ForAnyValue:StringNotLike", "inc_*", ABSENT, False),
    ("ForAnyValue:StringNotEquals", "a", ABSENT, False),
    ("ForAnyValue:StringEqualsIgnoreCase", "A", ("b", "a"), True),
    ("ForAnyValue:ArnNotEquals", ARN_BUS, (ARN_BUS,), False),
    ("ForAnyValue:Bool", "true", ("false", "true"), True),
    ("ForAnyValue:StringLikeIfExists", "inc_*", ABSENT, True),
    ("ForAnyValue:StringLikeIfExists", "inc_*", ("x",), False),
]


@pytest.mark.parametrize(("operator", "expected", "values", "holds"), OPERATOR_CASES)
def test_condition_operators(
    operator: str, expected: Any, values: tuple[str, ...] | None, holds: bool
) -> None:
    key = "svc:Key"
    check = Check("svc:Do", "*", {} if values is None else {key: values})
    statement = allow("svc:Do", Condition={operator: {key: expected}})
    assert authorize([policy(statement)], [check]).allowed is holds
    # The same condition on a Deny denies exactly when it holds.
    deny = {"Effect": "Deny", "Action": "*", "Resource": "*", "Condition": {operator: {key: expected}}}
    assert authorize([policy(allow("*"), deny)], [check]).explicit is holds


def test_keys_in_one_operator_and_operators_are_anded() -> None:
    context = {"a:One": ("1",), "a:Two": ("2",)}
    both = {"StringEquals": {"a:One": "1", "a:Two": "2"}}
    one_wrong = {"StringEquals": {"a:One": "1", "a:Two": "3"}}
    two_operators = {"StringEquals": {"a:One": "1"}, "StringLike": {"a:Two": "9*"}}
    check = Check("svc:Do", "*", context)
    assert authorize([policy(allow("*", Condition=both))], [check]).allowed
    assert not authorize([policy(allow("*", Condition=one_wrong))], [check]).allowed
    assert not authorize([policy(allow("*", Condition=two_operators))], [check]).allowed


def test_condition_key_names_are_case_insensitive() -> None:
    statement = allow("*", Condition={"ForAllValues:StringLike": {"DynamoDB:leadingkeys": "inc_*"}})
    assert authorize([policy(statement)], [PUT]).allowed
    assert not authorize([policy(statement)], [Check("dynamodb:PutItem", TABLE, {LK: ("SVC#x",)})]).allowed


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"Statement": allow("*", Condition={"NumericLessThan": {"a:N": "3"}})}, "NumericLessThan"),
        (
            {"Statement": allow("*", Condition={"StringNotEqualsIgnoreCase": {"a:N": "3"}})},
            "StringNotEqualsIgnoreCase",
        ),
        ({"Statement": allow("*", Condition={"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}})}, "IpAddress"),
        ({"Statement": allow("*", Condition={"ForEachValue:StringLike": {"a:N": "3"}})}, "ForEachValue"),
        ({"Statement": allow("*", Condition={"NullIfExists": {"a:N": "true"}})}, "NullIfExists"),
        ({"Statement": allow("*", Condition={"ForAllValues:Null": {"a:N": "true"}})}, "ForAllValues:Null"),
        ({"Statement": allow("*", "arn:aws:dynamodb:*:*:table/${aws:username}")}, r"\$\{aws:username\}"),
        (
            {"Statement": allow("*", Condition={"StringLike": {LK: ["${aws:userid}"]}})},
            r"policy variables",
        ),
        ({"Statement": {**allow("*"), "Principal": "*"}}, "Principal"),
        ({"Statement": {"Effect": "allow", "Action": "*", "Resource": "*"}}, "Effect 'allow'"),
        (
            {"Statement": {"Effect": "Allow", "Action": "*", "NotAction": "s3:*", "Resource": "*"}},
            "exactly one",
        ),
        ({"Statement": {"Effect": "Allow", "Action": "*"}}, "exactly one of Resource"),
        ({"Statement": allow("PutItem")}, "service:action"),
        ({"Statement": allow("*", "arn:aws:*:table/alertbridge")}, "neither"),  # * never spans a colon
        ({"Statement": allow("*", Condition={"StringLike": {LK: [{"a": 1}]}})}, "unsupported value"),
    ],
)
def test_what_it_does_not_evaluate_is_refused(document: dict[str, Any], message: str) -> None:
    with pytest.raises(UnsupportedPolicy, match=message):
        authorize([("p", document)], [PUT])


def test_a_plain_operator_over_several_values_is_refused() -> None:
    several = Check("dynamodb:BatchGetItem", TABLE, {LK: ("SRC#1", "SRC#2")})
    with pytest.raises(UnsupportedPolicy, match="ForAllValues/ForAnyValue"):
        authorize([policy(allow("*", Condition={"StringLike": {LK: "SRC#*"}}))], [several])


@given(
    pattern=st.text(alphabet="ab*?[]!.^$\\", max_size=8),
    value=st.text(alphabet="ab[]!.^$\\", max_size=8),
)
def test_string_like_is_fnmatch_with_only_star_and_question_mark(pattern: str, value: str) -> None:
    # fnmatch also reads [...] classes: escaped, its pattern means what IAM's does
    escaped = "".join("[[]" if c == "[" else "[]]" if c == "]" else c for c in pattern)
    statement = allow("*", Condition={"StringLike": {"a:K": pattern}})
    assert authorize([policy(statement)], [Check("svc:Do", "*", {"a:K": (value,)})]).allowed is fnmatchcase(
        value, escaped
    )


# ---------------------------------------------------------------------------------------------------
# The template's own statements
# ---------------------------------------------------------------------------------------------------

TEMPLATE_ARNS = {
    "Table": TABLE,
    "Bus": BUS,
    "AlertQueue": QUEUE,
    "IncidentEventsDLQ": f"arn:aws:sqs:{REGION}:{ACCOUNT}:incident-events-dlq",
}


def resolved(value: Any) -> Any:
    """The template's intrinsics for the ARNs these tests name (anything else fails loudly)."""
    if isinstance(value, dict) and set(value) == {"Fn::GetAtt"}:
        name, attribute = value["Fn::GetAtt"]
        assert attribute == "Arn", value
        return TEMPLATE_ARNS[name]
    if isinstance(value, dict) and set(value) == {"Fn::Sub"}:
        text = value["Fn::Sub"]
        for name, arn in TEMPLATE_ARNS.items():
            text = text.replace(f"${{{name}.Arn}}", arn)
        assert "${" not in text, text
        return text
    if isinstance(value, dict):
        return {k: resolved(v) for k, v in value.items()}
    if isinstance(value, list):
        return [resolved(v) for v in value]
    return value


def role_policies(function: str) -> list[tuple[str, dict[str, Any]]]:
    properties = load_template()["Resources"][function]["Properties"]
    return [(f"{function}#{i}", resolved(document)) for i, document in enumerate(properties["Policies"])]


def test_incident_function_statements_allow_inc_keys_only() -> None:
    policies = role_policies("IncidentFunction")

    def allowed(operation: str, params: dict[str, Any]) -> Decision:
        return authorize(policies, run("dynamodb", operation, {"TableName": "alertbridge", **params}))

    assert allowed("PutItem", {"Item": {"PK": s("inc_x"), "SK": s("EP#1")}}).allowed
    refused = allowed("PutItem", {"Item": {"PK": s("SVC#x"), "SK": s("SVC#x")}})
    assert not refused.allowed
    assert not refused.explicit
    assert refused.denied == Check("dynamodb:PutItem", TABLE, {LK: ("SVC#x",), ATTRS: ("PK", "SK")})
    assert allowed("UpdateItem", {"Key": {"PK": s("inc_x"), "SK": s("EP#1")}}).allowed
    assert not allowed("DeleteItem", {"Key": {"PK": s("inc_x"), "SK": s("EP#1")}}).allowed
    assert allowed("GetItem", {"Key": {"PK": s("SRC#a"), "SK": s("SRC#a")}}).allowed
    assert not allowed("GetItem", {"Key": {"PK": s("inc_x"), "SK": s("EP#1")}}).allowed  # reads use Query
    query = {"KeyConditionExpression": "PK = :pk", "ExpressionAttributeValues": {":pk": s("inc_x")}}
    assert allowed("Query", query).allowed
    assert not allowed("Query", {**query, "ExpressionAttributeValues": {":pk": s("CH#x")}}).allowed
    assert not allowed(
        "Query", {**query, "IndexName": "GSI1", "KeyConditionExpression": "GSI1PK = :pk"}
    ).allowed
    assert allowed("PutItem", {"Item": {"PK": s("DUE#3"), "SK": s("x")}}).allowed
    receive = run("sqs", "ReceiveMessage", {"QueueUrl": f"http://localhost:5000/{ACCOUNT}/alerts"})
    assert authorize(policies, receive).used == (("IncidentFunction#0", 0),)
    assert not authorize(
        policies, run("sqs", "SendMessage", {"QueueUrl": f"http://h/{ACCOUNT}/alerts"})
    ).allowed


def test_incident_function_transaction_of_mixed_items() -> None:
    policies = role_policies("IncidentFunction")
    items = [
        {"Put": {"TableName": "alertbridge", "Item": {"PK": s("inc_1"), "SK": s("EP#2")}}},
        {"Update": {"TableName": "alertbridge", "Key": {"PK": s("inc_1"), "SK": s("EP#1")}}},
        {"Put": {"TableName": "alertbridge", "Item": {"PK": s("DUE#0"), "SK": s("inc_1")}}},
    ]
    decision = authorize(policies, run("dynamodb", "TransactWriteItems", {"TransactItems": items}))
    assert decision == Decision(
        True, None, explicit=False, used=(("IncidentFunction#0", 1), ("IncidentFunction#0", 3))
    )
    check_svc = {"ConditionCheck": {"TableName": "alertbridge", "Key": {"PK": s("SVC#a"), "SK": s("SVC#a")}}}
    decision = authorize(
        policies, run("dynamodb", "TransactWriteItems", {"TransactItems": [*items, check_svc]})
    )
    assert decision.denied == Check("dynamodb:ConditionCheckItem", TABLE, {LK: ("SVC#a",)})


def test_incident_events_function_may_put_on_its_bus_only() -> None:
    policies = role_policies("IncidentEventsFunction")
    entry = {"Source": "alertbridge", "DetailType": "incident", "Detail": "{}"}
    one_bus = run("events", "PutEvents", {"Entries": [{**entry, "EventBusName": "alertbridge"}]})
    assert authorize(policies, one_bus).allowed
    two_buses = run(
        "events",
        "PutEvents",
        {"Entries": [{**entry, "EventBusName": "alertbridge"}, {**entry, "EventBusName": "x"}]},
    )
    decision = authorize(policies, two_buses)
    assert not decision.allowed
    assert decision.denied == Check("events:PutEvents", f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/x")
    assert not authorize(
        policies, run("events", "PutEvents", {"Entries": [entry]})
    ).allowed  # the default bus


def test_status_function_reads_sources_by_named_attributes_only() -> None:
    policies = role_policies("StatusFunction")

    def batch(pk: str, projection: str | None) -> Decision:
        request: dict[str, Any] = {"Keys": [{"PK": s(pk), "SK": s(pk)}]}
        if projection is not None:
            request["ProjectionExpression"] = projection
        return authorize(
            policies, run("dynamodb", "BatchGetItem", {"RequestItems": {"alertbridge": request}})
        )

    assert batch("SRC#a", "PK, SK, id, source").allowed
    assert not batch("SRC#a", "PK, SK, token").allowed  # an attribute outside the list
    assert not batch("SRC#a", None).allowed  # every attribute (Null false refuses an absent list)
    assert batch("SVC#a", None).allowed
    assert not batch("CH#a", "PK").allowed
