"""/api/services/<id>/rules: a service's alert rules (list, add, show, move, remove) and the dry run."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.event_handler.router import APIGatewayRouter

from alertbridge import operations, runtime
from alertbridge.management.bodies import NewRule, RuleMove, RuleTest
from alertbridge.management.idempotency import replay_once
from alertbridge.management.views import rule_set_view, rule_view

router = APIGatewayRouter()


@router.get("/api/services/<service_id>/rules")
def list_rules(service_id: str) -> dict[str, Any]:
    return rule_set_view(operations.list_rules(runtime.source_store(), runtime.rule_store(), service_id))


@router.post("/api/services/<service_id>/rules", middlewares=[replay_once])
def add_rule(service_id: str, request: NewRule) -> Response[Any]:
    saved, rule = operations.add_rule(
        runtime.source_store(),
        runtime.rule_store(),
        service_id,
        request.fields(),
        position=request.position,
        expected_version=request.expected_version,
    )
    return Response(201, "application/json", {"rule": rule_view(rule), "version": saved.version})


@router.post("/api/services/<service_id>/rules/test")
def dry_run(service_id: str, request: RuleTest) -> dict[str, Any]:
    result = operations.dry_run(
        runtime.source_store(),
        runtime.delivery_store(),
        runtime.rule_store(),
        service_id,
        request.rule.fields(),
        last=request.last,
    )
    return {
        "rule": rule_view(result.rule),
        "deliveries": result.deliveries,
        "alerts": result.alerts,
        "matched": len(result.matches),
        "matches": result.matches,
    }


@router.get("/api/services/<service_id>/rules/<rule_id>")
def show_rule(service_id: str, rule_id: str) -> dict[str, Any]:
    return rule_view(operations.show_rule(runtime.source_store(), runtime.rule_store(), service_id, rule_id))


@router.post("/api/services/<service_id>/rules/<rule_id>/move", middlewares=[replay_once])
def move_rule(service_id: str, rule_id: str, request: RuleMove) -> dict[str, Any]:
    saved = operations.move_rule(
        runtime.source_store(),
        runtime.rule_store(),
        service_id,
        rule_id,
        request.position,
        expected_version=request.expected_version,
    )
    return rule_set_view(saved)


@router.delete("/api/services/<service_id>/rules/<rule_id>")
def remove_rule(
    service_id: str, rule_id: str, expected_version: Annotated[int | None, Query(ge=0)] = None
) -> dict[str, Any]:
    saved = operations.remove_rule(
        runtime.source_store(), runtime.rule_store(), service_id, rule_id, expected_version=expected_version
    )
    return rule_set_view(saved)
