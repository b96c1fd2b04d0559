"""The SAM transform, offline: what ``sam deploy`` makes of template.yaml (samtranslator)."""

from __future__ import annotations

import copy
from typing import Any

import boto3
from samtranslator.metrics.metrics import Metrics
from samtranslator.parser.parser import Parser
from samtranslator.translator.translator import Translator

from alertbridge_tools.template import REGION

# AWS managed policies a ``Policies:`` entry may name (samtranslator turns a name into its ARN
# through this map; offline, no IAM ListPolicies call).
MANAGED_POLICIES = {
    name: f"arn:aws:iam::aws:policy/{path}{name}"
    for path, name in (
        ("service-role/", "AWSLambdaBasicExecutionRole"),
        ("service-role/", "AWSLambdaSQSQueueExecutionRole"),
        ("service-role/", "AWSLambdaDynamoDBExecutionRole"),
        ("", "AWSXrayWriteOnlyAccess"),
    )
}


def transform(template: dict[str, Any]) -> dict[str, Any]:
    """samtranslator's output for the template, as ``sam deploy`` would send it (code already
    uploaded: CodeUri/ContentUri become S3 URIs, as ``sam package`` writes them)."""
    sam = copy.deepcopy(template)
    for spec in sam["Resources"].values():
        props = spec.get("Properties", {})
        for key in ("CodeUri", "ContentUri"):
            if isinstance(props.get(key), str):
                props[key] = f"s3://alertbridge-artifacts/{props[key].strip('/')}"
    metrics = Metrics()  # samtranslator's usage metrics, to its do-nothing publisher (else a warning at exit)
    translator = Translator(
        MANAGED_POLICIES, Parser(), boto_session=boto3.Session(region_name=REGION), metrics=metrics
    )
    try:
        out: dict[str, Any] = translator.translate(sam, {})
    finally:
        metrics.publish()
    return out
