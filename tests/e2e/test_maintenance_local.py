"""End to end over real HTTP on loopback: a maintenance window in progress, made with the CLI,
holds a Kapacitor alert back as suppressed (kept, listed with --suppressed); once the window is
removed, the same kind of alert opens an incident. The CLI refuses a bad window in one line."""

from __future__ import annotations

import contextlib
import io
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from alertbridge_tools import cli
from alertbridge_tools.apigw import load_event
from alertbridge_tools.demo import post_webhook
from alertbridge_tools.local import LocalStack

from tests.e2e.test_local_stack import ab, wait_for


@pytest.fixture(scope="module")
def local() -> Iterator[LocalStack]:
    stack = LocalStack(port=0, quiet=True).start()
    yield stack
    stack.stop()


def test_a_window_in_progress_suppresses_an_alert_until_it_is_removed(local: LocalStack) -> None:
    service = ab(local, "services", "create", "billing")
    source = ab(local, "sources", "add", service["id"], "kapacitor")
    started = datetime.now(UTC) - timedelta(hours=1)  # a weekly window that began an hour ago
    window = ab(
        local,
        "maintenance",
        "add",
        service["id"],
        "--every",
        started.strftime("%a").lower(),
        "--at",
        started.strftime("%H:%M"),
        "--for",
        "3h",
        "--tz",
        "UTC",
        "--name",
        "db upgrade",
    )
    assert window["active"] is True
    [listed] = ab(local, "maintenance", "list", service["id"])
    assert listed["id"] == window["id"]
    assert any(w["id"] == window["id"] for w in ab(local, "maintenance", "list"))

    status, answer = post_webhook(source["webhook_url"], load_event("kapacitor", "critical", "x"))
    assert status == 202
    assert answer["outcome"] == "suppressed"
    reason = answer["alerts"][0]["reason"]
    assert reason.startswith(f"maintenance window {window['id']} 'db upgrade' (until ")
    [kept] = ab(local, "deliveries", "list", "--suppressed", "--service", service["id"])
    assert kept["id"] == answer["delivery_id"]

    removed = ab(local, "maintenance", "remove", window["id"])
    assert removed == {"id": window["id"], "service_id": service["id"], "removed": True}
    status, answer = post_webhook(source["webhook_url"], load_event("kapacitor", "critical", "x"))
    assert (status, answer["outcome"]) == (202, "accepted")
    opened = wait_for(lambda: ab(local, "incidents", "list", "--service", service["id"]))
    assert len(opened) == 1


def cli_run(local: LocalStack, *args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main(["--url", local.base_url, *args])
    return code, out.getvalue(), err.getvalue().strip()


def test_the_cli_refuses_a_bad_window_in_one_line_and_prints_a_table(local: LocalStack) -> None:
    sid = ab(local, "services", "create", "search")["id"]
    code, _, err = cli_run(local, "maintenance", "add", sid, "--every", "mo", "--at", "02:00", "--for", "2h")
    assert code == 1
    days = "mon, tue, wed, thu, fri, sat, sun"
    assert err == f"alertbridge: invalid request: body.days: unknown day 'mo'; days are {days} (HTTP 400)"
    code, _, err = cli_run(local, "maintenance", "add", sid, "--start", "2030-01-01T00:00:00Z")
    assert (code, err) == (
        1,
        "alertbridge: invalid request: body: a one-off window needs both start and end (HTTP 400)",
    )
    with pytest.raises(SystemExit, match="give --start and --end, or --every"):
        cli_run(local, "maintenance", "add", sid, "--start", "2030-01-01T00:00:00Z", "--every", "mon")
    start, end = "2030-01-01T00:00:00+01:00", "2030-01-01T06:00:00+01:00"
    code, out, _ = cli_run(
        local, "maintenance", "add", sid, "--start", start, "--end", end, "--name", "migration"
    )
    assert code == 0
    assert out.startswith("added maintenance window mw_")
    code, out, _ = cli_run(local, "maintenance", "list", sid)
    assert code == 0
    assert "migration" in out
    assert f"{start}..{end}" in out  # as given
    [listed] = ab(local, "maintenance", "list", sid)
    assert (listed["active"], listed["next_start"]) == (False, "2029-12-31T23:00:00Z")
