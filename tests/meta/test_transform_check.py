"""The SAM transform's output check (`make template`): passes on template.yaml, and catches a
template change that would deploy differently than the local stack runs."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from alertbridge_tools import transform_check
from alertbridge_tools.template import NOT_EMULATED, TEMPLATE, load_template

Template = dict[str, Any]


def _mutated(tmp_path: Path, change: Callable[[Template], None]) -> Path:
    """A copy of template.yaml with one change (intrinsics in their long form, which CloudFormation,
    samtranslator and template.py read as the short tags)."""
    template = copy.deepcopy(load_template())
    change(template)
    path = tmp_path / "template.yaml"
    path.write_text(yaml.safe_dump(template, sort_keys=False))
    return path


def _props(template: Template, logical: str) -> dict[str, Any]:
    props: dict[str, Any] = template["Resources"][logical]["Properties"]
    return props


def test_the_template_deploys_what_the_local_stack_runs() -> None:
    assert transform_check.check() == []
    assert transform_check.main([]) == 0


def test_the_check_sees_every_function_route_mapping_and_schedule() -> None:
    """Not vacuous: both sides of the comparison hold what the template declares."""
    template = load_template()
    out = transform_check.transform(template)
    stack, _ = transform_check.local_stack(TEMPLATE)
    functions = {k for k, v in template["Resources"].items() if v["Type"] == "AWS::Serverless::Function"}
    assert set(stack.functions) == functions
    assert {k for k, v in out["Resources"].items() if v["Type"] == "AWS::Lambda::Function"} == functions
    assert len(stack.routes) == 10
    assert len(stack.event_sources) == 2
    assert len(stack.stream_sources) == 1
    assert [s.expression for s in stack.schedules] == ["rate(1 minute)"]


def test_a_long_form_copy_of_the_template_passes(tmp_path: Path) -> None:
    assert transform_check.check(_mutated(tmp_path, lambda t: None)) == []


def test_an_event_the_local_stack_does_not_run_fails(tmp_path: Path) -> None:
    """The notifier's queue as a SAM `SQS` event instead of the explicit mapping: deployed, but the
    local stack (which polls AWS::Lambda::EventSourceMapping resources) would never run it."""

    def change(t: Template) -> None:
        mapping = t["Resources"].pop("NotifierEventSource")["Properties"]
        _props(t, "NotifierFunction")["Events"] = {
            "Queue": {
                "Type": "SQS",
                "Properties": {
                    "Queue": mapping["EventSourceArn"],
                    "BatchSize": 10,
                    "FunctionResponseTypes": ["ReportBatchItemFailures"],
                },
            }
        }

    problems = transform_check.check(_mutated(tmp_path, change))
    assert any(
        "queue mapping" in p
        and "'NotifierFunction', 'NotifyQueue'" in p
        and "not run so by the local stack" in p
        for p in problems
    ), problems


def test_a_removed_stream_event_fails(tmp_path: Path) -> None:
    """The DynamoDB event disabled (`Enabled: false`): the transform creates a mapping Lambda does
    not poll, while the local stack would still run it."""

    def change(t: Template) -> None:
        _props(t, "IncidentEventsFunction")["Events"]["Stream"]["Properties"]["Enabled"] = False

    problems = transform_check.check(_mutated(tmp_path, change))
    assert any(
        "stream mapping" in p and "IncidentEventsFunction" in p and "not deployed so by the transform" in p
        for p in problems
    ), problems


def test_a_disabled_schedule_fails(tmp_path: Path) -> None:
    def change(t: Template) -> None:
        _props(t, "CheckerFunction")["Events"]["EveryMinute"]["Properties"]["State"] = "DISABLED"

    problems = transform_check.check(_mutated(tmp_path, change))
    assert problems == [
        "schedule (function, expression) ('CheckerFunction', 'rate(1 minute)'): run by the local stack, "
        "not deployed so by the transform"
    ]


def test_a_policy_that_lost_the_poll_statement_fails(tmp_path: Path) -> None:
    """The local stack polls AlertQueue for the incident function; without its sqs statement the
    deployed mapping could not."""

    def change(t: Template) -> None:
        _props(t, "IncidentFunction")["Policies"][0]["Statement"].pop(0)

    problems = transform_check.check(_mutated(tmp_path, change))
    assert problems == [
        "IncidentFunction: the local stack polls AlertQueue for it, its role may not "
        "(sqs:ReceiveMessage, sqs:DeleteMessage, sqs:GetQueueAttributes)"
    ]


def test_a_policy_that_lost_the_dead_letter_statement_fails(tmp_path: Path) -> None:
    def change(t: Template) -> None:
        _props(t, "IncidentEventsFunction")["Policies"][0]["Statement"].pop(1)

    problems = transform_check.check(_mutated(tmp_path, change))
    assert problems == [
        "IncidentEventsFunction: failed batches go to IncidentEventsDLQ, "
        "its role may not sqs:SendMessage there"
    ]


def _poller_template(t: Template) -> None:
    """The incident function's queue statement as SAM's SQSPollerPolicy template instead."""
    _props(t, "IncidentFunction")["Policies"][0]["Statement"].pop(0)
    _props(t, "IncidentFunction")["Policies"].append(
        {"SQSPollerPolicy": {"QueueName": {"Fn::GetAtt": ["AlertQueue", "QueueName"]}}}
    )


def test_a_sam_policy_template_counts_as_expanded_by_sam(tmp_path: Path) -> None:
    assert transform_check.check(_mutated(tmp_path, _poller_template)) == []


def test_a_policy_template_the_transform_does_not_expand_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = transform_check.transform

    def dropping(template: Template) -> Template:
        out = real(template)
        out["Resources"]["IncidentFunctionRole"]["Properties"]["Policies"].pop()
        return out

    monkeypatch.setattr(transform_check, "transform", dropping)
    assert transform_check.check(_mutated(tmp_path, _poller_template)) == [
        "IncidentFunction: Policies[1] SQSPollerPolicy is not expanded into its role by the transform",
        "IncidentFunction: the local stack polls AlertQueue for it, its role may not "
        "(sqs:ReceiveMessage, sqs:DeleteMessage, sqs:GetQueueAttributes)",
    ]


def test_a_declared_statement_missing_from_the_role_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    """A transform that drops a statement the template declares (as a Policies entry SAM reads
    differently would) fails, naming the statement."""
    real = transform_check.transform

    def dropping(template: Template) -> Template:
        out = real(template)
        out["Resources"]["StatusFunctionRole"]["Properties"]["Policies"][0]["PolicyDocument"][
            "Statement"
        ].pop(0)
        return out

    monkeypatch.setattr(transform_check, "transform", dropping)
    assert transform_check.check() == [
        "StatusFunction: Policies[0] statement ['dynamodb:Query'] on ['${Table.Arn}/index/GSI1'] "
        "is not in its role after the transform"
    ]


def test_a_managed_policy_not_attached_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    real = transform_check.transform

    def detaching(template: Template) -> Template:
        out = real(template)
        arns = out["Resources"]["KapacitorIngestFunctionRole"]["Properties"]["ManagedPolicyArns"]
        arns.remove({"Ref": "IngestPolicy"})
        return out

    monkeypatch.setattr(transform_check, "transform", detaching)
    assert transform_check.check() == [
        "KapacitorIngestFunction: Policies[0] IngestPolicy is not attached to its role after the transform"
    ]


def test_a_shared_role_fails(tmp_path: Path) -> None:
    """Two functions on one role: neither runs with least privilege of its own."""

    def change(t: Template) -> None:
        t["Resources"]["SharedRole"] = {
            "Type": "AWS::IAM::Role",
            "Properties": {
                "AssumeRolePolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "lambda.amazonaws.com"},
                            "Action": "sts:AssumeRole",
                        }
                    ],
                },
            },
        }
        for fn in ("StatusFunction", "HeartbeatFunction"):
            _props(t, fn)["Role"] = {"Fn::GetAtt": ["SharedRole", "Arn"]}
            del _props(t, fn)["Policies"]

    problems = transform_check.check(_mutated(tmp_path, change))
    assert "StatusFunction: shares its role SharedRole with HeartbeatFunction after the transform" in problems


def test_a_route_on_another_api_fails(tmp_path: Path) -> None:
    """An Api event without RestApiId: SAM puts it on an implicit API (another URL), the local stack
    serves it beside the others."""

    def change(t: Template) -> None:
        del _props(t, "StatusFunction")["Events"]["Page"]["Properties"]["RestApiId"]

    problems = transform_check.check(_mutated(tmp_path, change))
    assert problems == [
        "route GET /status -> StatusFunction: served locally, deployed on another API (ServerlessRestApi)",
        "route GET /status -> StatusFunction: no permission for API Gateway to invoke it",
    ]


def test_a_route_the_transform_does_not_produce_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    real = transform_check.transform

    def unrouted(template: Template) -> Template:
        out = real(template)
        del out["Resources"]["Api"]["Properties"]["Body"]["paths"]["/status.json"]
        return out

    monkeypatch.setattr(transform_check, "transform", unrouted)
    assert transform_check.check() == [
        "route GET /status.json -> StatusFunction: served locally, no such method after the transform"
    ]


def test_a_route_without_its_invoke_permission_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    real = transform_check.transform

    def unpermitted(template: Template) -> Template:
        out = real(template)
        del out["Resources"]["StatusFunctionJsonPermissionStage"]
        return out

    monkeypatch.setattr(transform_check, "transform", unpermitted)
    assert transform_check.check() == [
        "route GET /status.json -> StatusFunction: no permission for API Gateway to invoke it"
    ]


def test_main_prints_the_mismatches_and_fails(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    def change(t: Template) -> None:
        _props(t, "IncidentFunction")["Policies"][0]["Statement"].pop(0)

    assert transform_check.main([str(_mutated(tmp_path, change))]) == 1
    assert "transform check: IncidentFunction: the local stack polls AlertQueue" in capsys.readouterr().err


def test_every_resource_type_is_created_or_listed_with_a_reason() -> None:
    template = load_template()
    kinds = {spec["Type"] for spec in template["Resources"].values()}
    assert set(NOT_EMULATED) <= kinds, "NOT_EMULATED lists a type the template does not use"
    assert all(reason.strip() for reason in NOT_EMULATED.values())
    stack, roles = transform_check.local_stack(TEMPLATE)
    assert list(transform_check._check_coverage(template, stack, roles)) == []
    assert set(roles) == set(stack.functions)  # each function's AWS::IAM::Role of the transform


def test_a_resource_type_neither_created_nor_listed_fails(tmp_path: Path) -> None:
    def change(t: Template) -> None:
        t["Resources"]["OpsSubscription"] = {
            "Type": "AWS::SNS::Subscription",
            "Properties": {
                "Protocol": "email",
                "Endpoint": "ops@example.com",
                "TopicArn": {"Ref": "NotificationsTopic"},
            },
        }

    assert transform_check.check(_mutated(tmp_path, change)) == [
        "OpsSubscription (AWS::SNS::Subscription): not created by the local stack, "
        "and not in template.NOT_EMULATED"
    ]
