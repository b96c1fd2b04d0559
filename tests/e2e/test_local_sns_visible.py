"""`alertbridge local` prints what SNS publishes to the notifications topic (email and SMS
channels), targets masked: an email channel's notification over HTTP, end to end."""

from __future__ import annotations

import io
import json
import time
import urllib.request
from collections.abc import Iterator
from contextlib import redirect_stdout
from typing import Any

import pytest
from alertbridge import timestamps
from alertbridge_tools import cli
from alertbridge_tools.local import LocalStack


@pytest.fixture(scope="module")
def local_and_out() -> Iterator[tuple[LocalStack, io.StringIO]]:
    out = io.StringIO()
    stack = LocalStack(port=0, quiet=True, notifications_out=out).start()
    yield stack, out
    stack.stop()
    timestamps.reset_clock()


def ab(local: LocalStack, *args: str) -> Any:
    buf = io.StringIO()
    with redirect_stdout(buf):
        assert cli.main(["--url", local.base_url, *args, "--json"]) == 0, buf.getvalue()
    return json.loads(buf.getvalue())


def wait_for(predicate: Any, timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    while not (value := predicate()) and time.monotonic() < deadline:
        time.sleep(0.1)
    return value


def test_an_email_and_an_sms_channels_notifications_are_printed_masked(
    local_and_out: tuple[LocalStack, io.StringIO],
) -> None:
    local, out = local_and_out
    service = ab(local, "services", "create", "billing")
    token = ab(local, "sources", "add", service["id"], "kapacitor")["token"]
    email = ab(local, "channels", "add", service["id"], "email", "--address", "oncall@example.com")
    sms = ab(local, "channels", "add", service["id"], "sms", "--number", "+15555550123")
    body = {
        "id": "db:lag",
        "message": "replica lag is CRITICAL",
        "level": "CRITICAL",
        "time": "2026-11-23T10:00:00Z",
    }
    request = urllib.request.Request(
        f"{local.base_url}/hooks/kapacitor/{token}", data=json.dumps(body).encode(), method="POST"
    )
    with urllib.request.urlopen(request, timeout=10) as resp:
        assert resp.status == 202

    lines = wait_for(
        lambda: [ln for ln in out.getvalue().splitlines() if email["id"] in ln or sms["id"] in ln][1:]
    )
    printed = out.getvalue()
    [email_line] = [ln for ln in printed.splitlines() if email["id"] in ln]
    [sms_line] = [ln for ln in printed.splitlines() if sms["id"] in ln]
    assert len(lines) == 1
    assert email_line.startswith(f"notification  email  {email['id']}  ")
    assert email["address"] in email_line and "oncall@example.com" not in email_line
    subject = json.loads(email_line.split("  ", 4)[4])
    assert "replica lag" in subject
    assert sms_line.startswith(f"notification  sms  {sms['id']}  ")
    assert "+15555550123" not in sms_line and sms["number"] in sms_line
    assert (
        local.sns_tap.printed[-2:]
        == [ln for ln in printed.splitlines() if ln.startswith("notification")][-2:]
    )
