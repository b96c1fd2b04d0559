"""`alertbridge local --auth iam` and the template's resource policy, over real HTTP on loopback: the
management API (AWS_IAM in template.yaml) answers only SigV4-signed requests of credentials the
emulator knows, with API Gateway's 403s otherwise, and hands the function the caller's identity;
the status page and webhooks stay open. With RestrictThreatStackSourceIps=true the Threat Stack
webhook is refused to any address outside the template's CIDRs (the TCP peer's, never
X-Forwarded-For)."""

from __future__ import annotations

import io
import json
import os
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import redirect_stdout
from typing import Any

import boto3
import pytest
from alertbridge_tools import apigw, cli
from alertbridge_tools.apigw import load_event
from alertbridge_tools.client import ApiError, Client
from alertbridge_tools.demo import post_webhook
from alertbridge_tools.local import LocalStack

from tests.e2e.helpers import ab as run_cli
from tests.e2e.helpers import wait_for

RESTRICTED = {"RestrictThreatStackSourceIps": "true"}


@pytest.fixture(scope="module")
def local() -> Iterator[LocalStack]:
    stack = LocalStack(port=0, quiet=True, auth="iam", parameters=RESTRICTED).start()
    yield stack
    stack.stop()


@pytest.fixture(scope="module")
def alice(local: LocalStack) -> tuple[str, str, str]:
    """An IAM user of the emulator with an access key: (key id, secret, user ARN)."""
    iam = boto3.client("iam", region_name="us-east-1", endpoint_url=local.emulator.url)
    arn = iam.create_user(UserName="alice")["User"]["Arn"]
    key = iam.create_access_key(UserName="alice")["AccessKey"]
    return key["AccessKeyId"], key["SecretAccessKey"], arn


@pytest.fixture
def as_alice(alice: tuple[str, str, str], monkeypatch: pytest.MonkeyPatch) -> str:
    """The CLI's AWS credentials are alice's; her ARN."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", alice[0])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", alice[1])
    return alice[2]


def ab(local: LocalStack, *args: str) -> Any:
    """The CLI with --sign and --json against the local stack; its parsed stdout."""
    return run_cli(local, *args, sign=True)


def http(
    url: str, method: str = "GET", data: bytes | None = None, headers: dict[str, str] | None = None
) -> Any:
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")


def test_an_unsigned_management_call_is_refused_as_api_gateway_does(local: LocalStack) -> None:
    assert http(f"{local.base_url}/api/services") == (403, {"message": "Missing Authentication Token"})
    out = io.StringIO()
    with redirect_stdout(out):  # the CLI without --sign: one line, exit 1
        assert cli.main(["--url", local.base_url, "services", "list", "--json"]) == 1


def test_signed_by_the_cli_the_call_is_answered_and_the_principal_recorded(
    local: LocalStack, as_alice: str
) -> None:
    service = ab(local, "services", "create", "payments")
    source = ab(local, "sources", "add", service["id"], "kapacitor")
    status, _ = post_webhook(source["webhook_url"], load_event("kapacitor", "critical", "x"))  # open
    assert status == 202
    [incident] = wait_for(lambda: ab(local, "incidents", "list", "--service", service["id"]))
    acked = ab(local, "incidents", "ack", incident["id"], "--note", "on it")
    assert acked["acknowledged_by"] == as_alice == "arn:aws:iam::123456789012:user/alice"
    assert acked["timeline"][-1]["message"] == f"acknowledged by {as_alice} (note: 'on it')"


def test_alertbridge_sign_and_moto_test_credentials(
    local: LocalStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ALERTBRIDGE_SIGN", "1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "FOOBARKEY")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "FOOBARSECRET")
    out = io.StringIO()
    with redirect_stdout(out):
        assert cli.main(["--url", local.base_url, "services", "list", "--json"]) == 0
    assert isinstance(json.loads(out.getvalue()), list)


def test_a_bad_signature_or_an_unknown_key_is_refused(
    local: LocalStack, alice: tuple[str, str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", alice[0])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-her-secret")
    with pytest.raises(ApiError) as wrong:
        Client(local.base_url, sign_region="us-east-1").request("GET", "/api/services")
    assert wrong.value.status == 403 and wrong.value.message.startswith(apigw.SIGNATURE_MISMATCH)
    assert "The Canonical String for this request should have been" in wrong.value.message

    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", alice[1])  # her key, but the body changed after signing
    client = Client(local.base_url, sign_region="us-east-1")
    url = f"{local.base_url}/api/services"
    headers = client._sign("POST", url, b'{"name":"a"}', {"Content-Type": "application/json"})
    status, body = http(url, "POST", b'{"name":"b"}', headers)
    assert status == 403 and body["message"].startswith(apigw.SIGNATURE_MISMATCH)
    assert http(url, headers=client._sign("GET", url, None, {}))[0] == 200  # signed as it was sent
    elsewhere = Client(local.base_url, sign_region="eu-west-1")._sign("GET", url, None, {})
    assert http(url, headers=elsewhere) == (
        403,
        {"message": "Credential should be scoped to a valid region. "},
    )

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIANOTAKEYOFMOTOS00")
    with pytest.raises(ApiError) as unknown:
        Client(local.base_url, sign_region="us-east-1").request("GET", "/api/services")
    assert (unknown.value.status, unknown.value.message) == (403, apigw.INVALID_KEY)


def test_a_signature_for_another_service_is_refused(local: LocalStack, as_alice: str) -> None:
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest

    url = f"{local.base_url}/api/services"
    request = AWSRequest(method="GET", url=url)
    credentials = boto3.Session().get_credentials()
    assert credentials is not None
    SigV4Auth(credentials.get_frozen_credentials(), "s3", "us-east-1").add_auth(request)
    status, body = http(url, headers=dict(request.headers.items()))
    assert (status, body) == (
        403,
        {"message": "Credential should be scoped to correct service: 'execute-api'. "},
    )


def test_the_status_page_and_webhooks_stay_open(local: LocalStack) -> None:
    assert http(f"{local.base_url}/status.json")[0] == 200
    req = urllib.request.Request(f"{local.base_url}/status")
    with urllib.request.urlopen(req, timeout=30) as resp:
        assert resp.status == 200
    status, _ = post_webhook(
        f"{local.base_url}/hooks/kapacitor/nosuchtoken", load_event("kapacitor", "critical", "x")
    )
    assert status == 404  # answered by the function (an unknown token), not refused by the gateway


def test_threatstack_from_outside_the_template_cidrs_is_refused(local: LocalStack, as_alice: str) -> None:
    service = ab(local, "services", "create", "edge")
    ts = ab(local, "sources", "add", service["id"], "threatstack")
    event = load_event("threatstack", "bare-alert", "x")
    status, body = post_webhook(ts["webhook_url"], event)
    assert status == 403
    assert body == {
        "Message": "User: anonymous is not authorized to perform: execute-api:Invoke on resource: "
        "arn:aws:execute-api:us-east-1:********9012:local/dev/POST/hooks/threatstack/**** "
        "with an explicit deny"
    }
    assert ts["token"] not in json.dumps(body)
    # X-Forwarded-For naming an allowed address changes nothing: aws:SourceIp is the TCP peer.
    event["headers"]["X-Forwarded-For"] = "52.20.173.142"
    assert post_webhook(ts["webhook_url"], event)[0] == 403
    assert ab(local, "deliveries", "list", "--source", ts["id"]) == []  # the function never ran
    kap = ab(local, "sources", "add", service["id"], "kapacitor")  # other webhooks: not restricted
    assert post_webhook(kap["webhook_url"], load_event("kapacitor", "critical", "x"))[0] == 202


def test_the_resource_policy_refuses_what_it_does_not_allow_and_conditions_it_cannot_check() -> None:
    allow_hooks = {"Effect": "Allow", "Resource": "execute-api:/*/POST/hooks/*"}
    apigw.resource_policy_check([allow_hooks], "POST", "/hooks/heroku/t", stage="dev", source_ip="10.0.0.1")
    with pytest.raises(apigw.Refused) as refused:
        apigw.resource_policy_check([allow_hooks], "GET", "/status", stage="dev", source_ip="10.0.0.1")
    assert "because no resource-based policy allows" in refused.value.body["Message"]
    inside = {**allow_hooks, "Condition": {"IpAddress": {"aws:SourceIp": ["10.0.0.0/8"]}}}
    apigw.resource_policy_check([inside], "POST", "/hooks/heroku/t", stage="dev", source_ip="10.1.2.3")
    with pytest.raises(apigw.Refused):
        apigw.resource_policy_check([inside], "POST", "/hooks/heroku/t", stage="dev", source_ip="192.0.2.1")
    odd = {**allow_hooks, "Condition": {"StringEquals": {"aws:SourceVpce": "vpce-1"}}}
    with pytest.raises(ValueError, match="not emulated"):
        apigw.resource_policy_check([odd], "POST", "/hooks/heroku/t", stage="dev", source_ip="10.0.0.1")


def test_the_commands_as_the_readme_writes_them(tmp_path: Any) -> None:
    """`alertbridge local --auth iam --parameter ...` in a process of its own; the CLI in another,
    unsigned (refused), then with ALERTBRIDGE_SIGN=1 and moto's test credentials (answered)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "ALERTBRIDGE_"))}
    env["HOME"] = str(tmp_path)
    bad = subprocess.run(
        [sys.executable, "-m", "alertbridge_tools.cli", "local", "--parameter", "Nope=1", "--ephemeral"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert bad.returncode == 2 and bad.stderr.startswith(
        "alertbridge local: --parameter Nope=1: want NAME=VALUE"
    )
    argv = ["local", "--auth", "iam", "--parameter", "RestrictThreatStackSourceIps=true"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "alertbridge_tools.cli", *argv, "--port", str(port), "--ephemeral"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == f"alertbridge local is up: http://127.0.0.1:{port}"
        banner = [proc.stdout.readline() for _ in range(3)]
        assert "auth            IAM: /api/... needs SigV4-signed requests" in banner[2], banner
        url = ["--url", f"http://127.0.0.1:{port}"]

        def alertbridge(extra: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run(
                [sys.executable, "-m", "alertbridge_tools.cli", *url, *args],
                capture_output=True,
                text=True,
                env={**env, **extra},
                timeout=60,
                check=False,
            )

        refused = alertbridge({}, "services", "list", "--json")
        assert refused.returncode == 1
        assert refused.stderr.strip() == "alertbridge: Missing Authentication Token (HTTP 403)"
        moto_keys = {"AWS_ACCESS_KEY_ID": "FOOBARKEY", "AWS_SECRET_ACCESS_KEY": "FOOBARSECRET"}
        signed = alertbridge({"ALERTBRIDGE_SIGN": "1", **moto_keys}, "services", "list", "--json")
        assert signed.returncode == 0 and json.loads(signed.stdout) == [], signed.stderr
        assert alertbridge(moto_keys, "--sign", "services", "create", "x", "--json").returncode == 0
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:  # fail, but leave no local stack running on the machine
            proc.kill()
            raise


def test_signed_calls_in_parallel_with_new_iam_users_and_keys(local: LocalStack) -> None:
    """Keys are looked up in moto's IAM backend while other requests create users and keys there:
    every signed call of every key is answered, each as its own user."""
    from concurrent.futures import ThreadPoolExecutor

    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    iam = boto3.client("iam", region_name="us-east-1", endpoint_url=local.emulator.url)
    url = f"{local.base_url}/api/services"

    def user_calls(n: int) -> list[int]:
        name = f"parallel-{n}"
        iam.create_user(UserName=name)
        key = iam.create_access_key(UserName=name)["AccessKey"]
        statuses = []
        for _ in range(3):
            request = AWSRequest(method="GET", url=url)
            credentials = Credentials(key["AccessKeyId"], key["SecretAccessKey"])
            SigV4Auth(credentials, "execute-api", "us-east-1").add_auth(request)
            statuses.append(http(url, headers=dict(request.headers.items()))[0])
        return statuses

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(user_calls, range(16)))
    assert results == [[200, 200, 200]] * 16


def test_the_identity_api_gateway_passes_for_moto_test_credentials() -> None:
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    url = "http://127.0.0.1:3000/api/incidents?status=open"
    request = AWSRequest(method="GET", url=url)
    SigV4Auth(Credentials(*apigw.MOTO_TEST_CREDENTIALS), "execute-api", "us-east-1").add_auth(request)
    identity = apigw.iam_identity("GET", url, dict(request.headers.items()), None)
    assert identity["userArn"] == "arn:aws:sts::123456789012:user/moto"
    assert identity["accessKey"] == "FOOBARKEY" and identity["accountId"] == "123456789012"
    with pytest.raises(apigw.Refused) as changed:  # the query is signed too
        apigw.iam_identity("GET", url.replace("open", "all"), dict(request.headers.items()), None)
    assert changed.value.body["message"].startswith(apigw.SIGNATURE_MISMATCH)
