"""The CLI's client for a deployed stack: URL from the stack outputs, requests SigV4-signed."""

from __future__ import annotations

import json

import boto3
from alertbridge_tools.client import Client


def test_for_stack_reads_the_api_url_from_the_outputs_and_signs(aws: None) -> None:
    template = {
        "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
        "Outputs": {"ApiBaseUrl": {"Value": "https://abc123.execute-api.us-east-1.amazonaws.com/prod"}},
    }
    boto3.client("cloudformation", region_name="us-east-1").create_stack(
        StackName="alertbridge-prod", TemplateBody=json.dumps(template)
    )
    client = Client.for_stack("alertbridge-prod", "us-east-1")
    assert client.base_url == "https://abc123.execute-api.us-east-1.amazonaws.com/prod"
    headers = client._sign("GET", f"{client.base_url}/api/services", None, {"Accept": "application/json"})
    assert headers["Authorization"].startswith("AWS4-HMAC-SHA256 Credential=")
    assert "/us-east-1/execute-api/aws4_request" in headers["Authorization"]
    assert "X-Amz-Date" in headers
