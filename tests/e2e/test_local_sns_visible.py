"""`alertbridge local` prints what SNS publishes to the notifications topic (email and SMS
channels), targets masked: an email channel's notification over HTTP, end to end."""

from __future__ import annotations

import io
import json
import urllib.request
from collections.abc import Iterator

import pytest
from alertbridge import timestamps
from alertbridge_tools.local import LocalStack

from tests.e2e.helpers import ab, wait_for


@pytest.fixture(scope="module")
def local_and_out() -> Iterator[tuple[LocalStack, io.StringIO]]:
    out = io.StringIO()
    stack = LocalStack(port=0, quiet=True, notifications_out=out).start()
    yield stack, out
    stack.stop()
    timestamps.reset_clock()


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
