"""Sixteen retries of one public update at once, with one ``Idempotency-Key``, as sixteen Lambda
instances would send them: each with its own persistence layer and DynamoDB client, on the moto
server (real concurrent conditional writes). The update is posted once; each answer is the first
one's or a 409 (still in progress)."""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
import pytest
from alertbridge import operations, runtime
from alertbridge.management import idempotency
from alertbridge.management.views import incident_view
from alertbridge_tools.harness import Harness, LambdaContext
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer
from aws_lambda_powertools.utilities.idempotency.exceptions import IdempotencyAlreadyInProgressError

THREADS = 16


@pytest.fixture
def stack(server_stack: Harness) -> Harness:
    """The incident (``incident_id``) on the moto server."""
    return server_stack


def test_one_key_sent_sixteen_times_at_once_posts_one_update(
    stack: Harness, moto_server: str, incident_id: str
) -> None:
    path = f"/api/incidents/{incident_id}/updates"
    request = {"scope": ["k", "POST", path], "body": '{"message": "Rolling back."}'}
    barrier = threading.Barrier(THREADS)

    def post() -> Response[Any]:
        incident, _ = operations.post_public_update(
            runtime.incident_store(),
            runtime.status_page_store(),
            incident_id,
            "Rolling back.",
            None,
            principal=None,
        )
        return Response(201, "application/json", incident_view(incident))

    # One client per instance, made before the threads start (boto3's default session is not thread-safe).
    clients = [
        boto3.session.Session().client("dynamodb", region_name="us-east-1", endpoint_url=moto_server)
        for _ in range(THREADS)
    ]

    def instance(n: int) -> tuple[int, Any]:
        store = DynamoDBPersistenceLayer(
            table_name=stack.stack.environment()["TABLE_NAME"],
            key_attr="PK",
            sort_key_attr="SK",
            static_pk_value="IDEM#management",
            expiry_attr="expires_at",
            boto3_client=clients[n],
        )
        idempotency.configure(store)
        barrier.wait()
        try:
            answer = idempotency.once(
                store, request, LambdaContext.for_function("ManagementFunction", 29), post
            )
        except IdempotencyAlreadyInProgressError:
            return 409, None
        body = answer.body if isinstance(answer.body, str) else json.dumps(answer.body)
        return answer.status_code, json.loads(body)

    with ThreadPoolExecutor(THREADS) as pool:
        answers = list(pool.map(instance, range(THREADS)))
    statuses = [status for status, _ in answers]
    assert set(statuses) <= {201, 409} and 201 in statuses
    bodies = [body for status, body in answers if status == 201]
    assert all(body == bodies[0] for body in bodies)  # one answer, replayed
    updates = runtime.status_page_store().updates([incident_id])[incident_id]
    assert [u.message for u in updates] == ["Rolling back."]
