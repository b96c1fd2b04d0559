"""Notifications end to end over HTTP: `alertbridge local`, the CLI's --json, real loopback
receivers; incident events put on the bus as the events publisher does (its branch adds the
stream publisher to the local stack)."""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from alertbridge import timestamps
from alertbridge.notify import webhook
from alertbridge_tools.local import LocalStack

from tests.e2e.helpers import ab, wait_for
from tests.flow.receivers import Receiver, receivers


@pytest.fixture(scope="module")
def local() -> Iterator[LocalStack]:
    stack = LocalStack(port=0, quiet=True).start()
    yield stack
    stack.stop()
    timestamps.reset_clock()


@pytest.fixture
def receiver() -> Iterator[Callable[..., Receiver]]:
    yield from receivers()


def fire(local: LocalStack, token: str, key: str) -> dict[str, Any]:
    """A Kapacitor alert over HTTP; the local stack's stream poller publishes its incident event."""
    url = f"{local.base_url}/hooks/kapacitor/{token}"
    body = json.dumps(
        {"id": key, "message": f"{key} is CRITICAL", "level": "CRITICAL", "time": "2026-11-23T10:00:00Z"}
    )
    request = urllib.request.Request(url, data=body.encode(), method="POST")
    with urllib.request.urlopen(request, timeout=10) as resp:
        assert resp.status == 202
    incident = wait_for(
        lambda: [i for i in ab(local, "incidents", "list", "--status", "all") if i["dedup_key"] == key]
    )[0]
    return dict(incident)


def test_channels_over_the_cli_test_send_and_formats(
    local: LocalStack, receiver: Callable[..., Receiver]
) -> None:
    service = ab(local, "services", "create", "shop")
    token = ab(local, "sources", "add", service["id"], "kapacitor")["token"]
    slack, hook = receiver(), receiver()
    ch = ab(
        local, "channels", "add", service["id"], "slack", "--url", slack.url, "--events", "opened,resolved"
    )
    assert {"id", "service_id", "kind"} <= set(ch) and "s3cr3tpath" not in json.dumps(ch)
    made = ab(local, "channels", "add", service["id"], "webhook", "--url", hook.url)
    assert [c["id"] for c in ab(local, "channels", "list", service["id"])] == [ch["id"], made["id"]]
    assert ab(local, "channels", "show", ch["id"])["url"].endswith("/…/hXYZ")

    result = ab(local, "channels", "test", ch["id"])
    assert (result["outcome"], result["status_code"], result["attempt"]) == ("sent", 200, 1)
    assert slack.bodies()[0]["blocks"][0]["text"]["text"].startswith("[TEST] ")

    incident = fire(local, token, "disk:db-1")
    wait_for(lambda: len(slack.requests) == 2 and len(hook.requests) == 1)
    assert webhook.verify(made["secret"], hook.requests[0]["headers"], hook.requests[0]["body"], time.time())
    shown = wait_for(
        lambda: (
            [
                e
                for e in ab(local, "incidents", "show", incident["id"])["timeline"]
                if e["kind"] == "notification"
            ][1:]
            and ab(local, "incidents", "show", incident["id"])
        )
    )
    entries = [e for e in shown["timeline"] if e["kind"] == "notification"]
    assert {e["channel_id"] for e in entries} == {ch["id"], made["id"]}
    assert all({"outcome", "status_code", "attempt"} <= set(e) for e in entries)
    assert ab(local, "channels", "remove", ch["id"])["removed"] is True


def test_escalation_after_n_minutes_and_none_after_ack(
    local: LocalStack, receiver: Callable[..., Receiver]
) -> None:
    service = ab(local, "services", "create", "payments")
    token = ab(local, "sources", "add", service["id"], "kapacitor")["token"]
    first, second = receiver(), receiver()
    a = ab(local, "channels", "add", service["id"], "slack", "--url", first.url, "--events", "resolved")
    b = ab(local, "channels", "add", service["id"], "teams", "--url", second.url, "--events", "resolved")
    steps = ab(
        local, "escalation", "set", service["id"], "--step", f"0:{a['id']}", "--step", f"15m:{b['id']}"
    )
    assert steps["steps"] == [
        {"after_seconds": 0, "channel_ids": [a["id"]]},
        {"after_seconds": 900, "channel_ids": [b["id"]]},
    ]
    assert ab(local, "escalation", "show", service["id"]) == steps

    fire(local, token, "latency:api")
    assert wait_for(lambda: len(first.requests) == 1)  # step 0: at once (the checker's next run)
    assert not second.requests
    local.harness.advance(15 * 60 + 1)
    assert wait_for(lambda: len(second.requests) == 1)
    assert "escalat" in json.dumps(second.bodies()[0]).lower()

    acked = fire(local, token, "latency:web")
    assert wait_for(lambda: len(first.requests) == 2)
    ab(local, "incidents", "ack", acked["id"], "--by", "ana")
    local.harness.advance(15 * 60 + 1)
    time.sleep(12)  # two runs of the local checker
    assert len(second.requests) == 1  # no notification after ack


def test_formats_retries_and_digest_over_http(
    local: LocalStack, receiver: Callable[..., Receiver], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Teams, PagerDuty (its documented schema), a 500 retried as attempt 2 and a digest past the
    cap: all through `alertbridge local`, the CLI and the stream publisher, to loopback receivers."""
    import jsonschema
    from alertbridge.notify import pagerduty

    from tests.flow.receivers import answer, sequence
    from tests.flow.test_notifications import ROUTING_KEY, SCHEMA

    service = ab(local, "services", "create", "search")
    token = ab(local, "sources", "add", service["id"], "kapacitor")["token"]
    teams, pd = receiver(), receiver(answer(202, b'{"status":"success"}'))
    flaky, capped = receiver(sequence(answer(500), answer(200))), receiver()
    monkeypatch.setattr(pagerduty, "ENQUEUE_URL", pd.url)
    ab(local, "channels", "add", service["id"], "teams", "--url", teams.url, "--events", "opened")
    ab(local, "channels", "add", service["id"], "pagerduty", "--routing-key", ROUTING_KEY)
    retried = ab(local, "channels", "add", service["id"], "slack", "--url", flaky.url, "--events", "opened")
    ab(
        local, "channels", "add", service["id"], "slack", "--url", capped.url,
        "--events", "opened", "--rate-per-minute", "1",
    )  # fmt: skip

    local.harness.start_of_minute()  # q:1 to q:3 in one rate window, whatever the wall clock says
    first = fire(local, token, "q:1")
    assert wait_for(lambda: teams.requests and pd.requests and flaky.requests and capped.requests)
    card = teams.bodies()[0]["attachments"][0]
    assert card["contentType"] == "application/vnd.microsoft.card.adaptive"
    [trigger] = pd.bodies()
    jsonschema.validate(trigger, SCHEMA)
    assert (trigger["event_action"], trigger["dedup_key"]) == ("trigger", first["id"])

    # Over the cap of 1 a minute: the next two incidents go to one digest, sent when the window ends.
    fire(local, token, "q:2")
    fire(local, token, "q:3")
    assert wait_for(lambda: len(teams.requests) == 3)
    assert len(capped.requests) == 1
    local.harness.advance(90)  # past the 500's backoff and the window's end
    assert wait_for(lambda: len(capped.requests) == 2 and len(flaky.requests) >= 4, timeout=30)
    digest = json.dumps(capped.bodies()[1])
    assert "2 more" in digest and "q:2" in digest and "q:3" in digest

    attempts = [
        (e["attempt"], e["outcome"], e["status_code"])
        for e in ab(local, "incidents", "show", first["id"])["timeline"]
        if e["kind"] == "notification" and e["channel_id"] == retried["id"]
    ]
    assert attempts == [(1, "retry", 500), (2, "sent", 200)]


def test_a_receiver_that_hangs_30s_delays_neither_another_channel_nor_the_incident_function(
    local: LocalStack, receiver: Callable[..., Receiver]
) -> None:
    """The notifier's 10 s timeout runs out on a receiver that hangs 30 s; meanwhile the other
    channel has its message and the incident function keeps opening incidents."""
    from tests.flow.receivers import hang

    service = ab(local, "services", "create", "ledger")
    token = ab(local, "sources", "add", service["id"], "kapacitor")["token"]
    slow, fast = receiver(hang(30)), receiver()
    ab(local, "channels", "add", service["id"], "slack", "--url", slow.url, "--events", "opened")
    ab(local, "channels", "add", service["id"], "teams", "--url", fast.url, "--events", "opened")

    started = time.monotonic()
    fire(local, token, "hang:1")
    assert wait_for(lambda: fast.requests, timeout=8)
    assert fast.requests[0]["at"] - started < 8  # while the slow one still hangs (30 s)
    second = time.monotonic()
    fire(local, token, "hang:2")  # the incident function is not held up by the hanging send
    assert time.monotonic() - second < 5
