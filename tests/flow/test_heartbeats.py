"""Quiet sources end to end on moto, with the harness's controlled clock (PRODUCT.md §10):
silence incidents (``expect_every``), the heartbeat URL, resolve-after-quiet, the checker late or
running twice, the status page and the CLI's view of a silent source."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from alertbridge import runtime, timestamps
from alertbridge.models.incident import Incident, Status
from alertbridge.silence import SILENCE_SOURCE, dedup_key
from alertbridge.timestamps import iso
from alertbridge_tools.harness import Harness


def add(stack: Harness, service_id: str, kind: str, **settings: Any) -> dict[str, Any]:
    made = stack.call("POST", f"/api/services/{service_id}/sources", {"source": kind, **settings})
    assert made.status == 201, made.body
    return dict(made.body)


def kapacitor(stack: Harness, token: str, key: str = "cpu:web-1", level: str = "CRITICAL") -> None:
    body = {"id": key, "message": f"{key} is {level}", "level": level, "time": iso(timestamps.now())}
    assert stack.post("kapacitor", token, json.dumps(body).encode()).status == 202
    stack.pump()


def incidents(service_id: str, *, source: str | None = None) -> list[Incident]:
    found, _ = runtime.incident_store().for_service(service_id, limit=100)
    return [i for i in found if source is None or i.source == source]


def silences(service_id: str) -> list[Incident]:
    return incidents(service_id, source=SILENCE_SOURCE)


def wait(stack: Harness, seconds: float, *, step: float | None = None) -> None:
    """Let ``seconds`` pass, the checker running every ``step`` seconds (once at the end if None)."""
    left = seconds
    while left > 0:
        moved = min(step or left, left)
        stack.advance(moved)
        left -= moved
        stack.pump()


# --- expect_every ---------------------------------------------------------------------------------
def test_a_silent_source_opens_one_incident_and_its_next_delivery_resolves_it(
    stack: Harness, service_id: str
) -> None:
    src = add(stack, service_id, "kapacitor", expect_every="1m", silence_severity="critical")
    kapacitor(stack, src["token"])  # an ordinary incident of its own
    wait(stack, 50, step=10)
    assert silences(service_id) == []
    wait(stack, 11)  # 61 s without a delivery
    [silent] = silences(service_id)
    assert silent.dedup_key == dedup_key(src["id"]) == f"silence:{src['id']}"
    assert silent.source_id == src["id"] and silent.status is Status.TRIGGERED
    assert silent.severity.value == "critical"
    assert silent.title.startswith("kapacitor for checkout has been silent since ")
    wait(stack, 300, step=5)  # the checker keeps running: still the one incident, one alert
    [silent] = silences(service_id)
    assert silent.alert_count == 1 and silent.status is Status.TRIGGERED

    kapacitor(stack, src["token"], key="disk:web-1")  # heard from again
    [resolved] = silences(service_id)
    assert resolved.id == silent.id and resolved.status is Status.RESOLVED
    assert resolved.resolved_by == "source"
    shown = stack.call("GET", f"/api/incidents/{resolved.id}").body
    assert [e["kind"] for e in shown["timeline"] if e["kind"] in ("opened", "resolved")] == [
        "opened",
        "resolved",
    ]
    assert any("deliveries resumed" in e["message"] for e in shown["timeline"])

    wait(stack, 61)  # silent again: a new incident, a recurrence of the first
    [again, first] = silences(service_id)
    assert first.id == silent.id and again.status is Status.TRIGGERED and again.recurrence_of == silent.id


def test_any_delivery_counts_even_a_rejected_one(stack: Harness, service_id: str) -> None:
    src = add(stack, service_id, "kapacitor", expect_every="1m")
    for _ in range(6):
        wait(stack, 40)
        assert stack.post("kapacitor", src["token"], b"not json").status == 400
    assert silences(service_id) == []


def test_heartbeat_get_and_post_keep_a_source_quiet_then_silence_and_recovery(
    stack: Harness, service_id: str
) -> None:
    src = add(stack, service_id, "heartbeat", expect_every="1m")
    assert src["source"] == "heartbeat" and src["webhook_url"].endswith(f"/hooks/heartbeat/{src['token']}")
    for n in range(8):
        wait(stack, 45, step=15)
        beat = stack.heartbeat(src["token"], "GET" if n % 2 else "POST", b"anything at all \x00\xff")
        assert beat.status == 200 and beat.body["source_id"] == src["id"]
    stack.pump()
    assert silences(service_id) == []
    wait(stack, 70, step=10)
    [silent] = silences(service_id)
    assert silent.title.startswith("heartbeat for checkout has been silent since ")
    assert stack.heartbeat(src["token"]).status == 200
    stack.pump()
    [resolved] = silences(service_id)
    assert resolved.status is Status.RESOLVED
    # No delivery was kept for any of it: a heartbeat is not a delivery.
    assert stack.call("GET", "/api/deliveries", query={"source": src["id"]}).body["deliveries"] == []


def test_every_source_answers_at_the_heartbeat_url_and_unknown_tokens_are_a_404(
    stack: Harness, service_id: str
) -> None:
    src = add(stack, service_id, "kapacitor")
    assert src["heartbeat_url"].endswith(f"/hooks/heartbeat/{src['token']}")
    beat = stack.heartbeat(src["token"], "POST", b'{"ok": true}')
    assert beat.status == 200 and beat.headers["Content-Type"] == "application/json"
    unknown = stack.heartbeat("no-such-token")
    assert unknown.status == 404 and unknown.body == {"error": "unknown webhook token", "status": 404}
    listed = stack.call("GET", f"/api/services/{service_id}/sources").body
    assert listed[0]["last_heartbeat_at"] is not None and listed[0]["silent"] is False
    # A heartbeat token is no vendor's: the vendor webhooks do not take it.
    hb = add(stack, service_id, "heartbeat")
    assert stack.post("kapacitor", hb["token"], b"{}").status == 404


def test_a_late_checker_opens_one_incident_not_one_per_missed_interval(
    stack: Harness, service_id: str
) -> None:
    src = add(stack, service_id, "kapacitor", expect_every="1m")
    kapacitor(stack, src["token"])
    last = runtime.delivery_store().latest_at(src["id"])  # (the clock runs on: not now() after the pump)
    assert last is not None
    stack.advance(3 * 60 + 5)  # no checker run for three intervals
    stack.pump()
    stack.pump()
    [silent] = silences(service_id)
    assert silent.alert_count == 1
    assert last.strftime("%Y-%m-%d %H:%M") in silent.title  # silent since the last delivery


def test_a_checker_running_twice_in_a_row_or_after_a_dead_run_opens_exactly_one(
    stack: Harness, service_id: str
) -> None:
    src = add(stack, service_id, "kapacitor", expect_every="1m")
    kapacitor(stack, src["token"])
    stack.advance(61)
    # A run that marked the source silent and died before publishing the alert:
    seen = runtime.heartbeat_store().get(src["id"])
    assert seen is not None and seen.due_at is not None and seen.seen_at is not None
    assert runtime.heartbeat_store().mark_silent(src["id"], seen.seen_at, due=seen.due_at)
    assert not runtime.heartbeat_store().mark_silent(src["id"], seen.seen_at, due=seen.due_at)  # only once
    stack.run_schedules()  # the next run publishes it; the one after finds nothing due
    stack.run_schedules()
    stack.pump()
    stack.run_schedules()
    stack.pump()
    [silent] = silences(service_id)
    assert silent.alert_count == 1


def test_a_source_no_longer_expected_does_not_alarm_and_its_open_silence_ends(
    stack: Harness, service_id: str
) -> None:
    """Sources have no disabled flag; a source stops being watched with ``--no-expect``."""
    watched = add(stack, service_id, "kapacitor", expect_every="1m")
    never = add(stack, service_id, "kapacitor")  # never watched: never alarms
    stopped = add(stack, service_id, "stathat", expect_every="1m")
    off = stack.call("PATCH", f"/api/sources/{stopped['id']}", {"clear_expect_every": True})
    assert off.status == 200 and off.body["expect_every"] is None
    wait(stack, 61)
    [silent] = silences(service_id)
    assert silent.source_id == watched["id"] and never["id"] != silent.source_id
    off = stack.call("PATCH", f"/api/sources/{watched['id']}", {"clear_expect_every": True})
    assert off.status == 200
    stack.pump()
    [ended] = silences(service_id)
    assert ended.status is Status.RESOLVED
    wait(stack, 300, step=30)
    assert len(silences(service_id)) == 1


def test_changing_expect_every_and_bad_durations(stack: Harness, service_id: str) -> None:
    src = add(stack, service_id, "kapacitor", expect_every="10m")
    assert src["expect_every"] == 600 and src["silence_severity"] == "high"
    changed = stack.call("PATCH", f"/api/sources/{src['id']}", {"expect_every": "1m"})
    assert changed.status == 200 and changed.body["expect_every"] == 60
    wait(stack, 61)
    assert len(silences(service_id)) == 1  # the new interval counts from the change
    for body, needle in (
        ({"expect_every": "15"}, "expect_every must be a whole number with a unit"),
        ({"expect_every": "10s"}, "between 30 s and"),
        ({"resolve_after_quiet": "31d"}, "resolve_after_quiet must be a whole number"),
        ({"resolve_after_quiet": "10s"}, "between 1 min and"),
    ):
        bad = stack.call("PATCH", f"/api/sources/{src['id']}", body)
        assert bad.status == 400 and needle in bad.body["error"], bad.body


def test_a_source_of_a_service_in_maintenance_does_not_alarm_until_the_window_ends(
    stack: Harness, service_id: str
) -> None:
    start = timestamps.now()
    window = {"name": "move racks", "start": iso(start), "end": iso(start + timedelta(minutes=10))}
    assert stack.call("POST", f"/api/services/{service_id}/maintenance", window).status == 201
    add(stack, service_id, "kapacitor", expect_every="1m")
    wait(stack, 9 * 60, step=30)  # silent for 9 minutes, all inside the window
    assert silences(service_id) == []
    wait(stack, 3 * 60, step=30)  # the window ended at 10 min: the next check finds it silent
    [silent] = silences(service_id)
    assert silent.status is Status.TRIGGERED


def test_the_status_page_shows_a_silent_source_like_any_incident(stack: Harness, service_id: str) -> None:
    assert stack.call("PATCH", f"/api/services/{service_id}", {"public": True}).status == 200
    add(stack, service_id, "kapacitor", expect_every="1m")
    wait(stack, 61)
    [silent] = silences(service_id)
    board = stack.call("GET", "/status.json").body
    [svc] = board["services"]
    assert svc["status"] == "disruption"  # a high-severity incident, as any other
    [shown] = svc["incidents"]
    assert shown["phase"] == "investigating" and "silent" not in shown["title"]  # no internal text
    [state] = stack.call("GET", "/api/status").body
    assert [i["title"] for i in state["open_incidents"]] == [silent.title]  # operators see it whole


def test_a_silence_notifies_like_any_incident(stack: Harness, service_id: str) -> None:
    from tests.flow.receivers import receivers

    for make in receivers():
        slack = make()
        made = stack.call("POST", f"/api/services/{service_id}/channels", {"kind": "slack", "url": slack.url})
        assert made.status == 201
        add(stack, service_id, "kapacitor", expect_every="1m")
        wait(stack, 61)
        [body] = slack.bodies()
        assert "has been silent since" in json.dumps(body)
        break


# --- resolve_after_quiet --------------------------------------------------------------------------
def test_resolve_after_quiet_resolves_once_by_timeout_and_not_after_a_new_alert(
    stack: Harness, service_id: str
) -> None:
    src = add(stack, service_id, "kapacitor", resolve_after_quiet="1h")
    kapacitor(stack, src["token"])
    [incident] = incidents(service_id)
    wait(stack, 40 * 60, step=10 * 60)
    kapacitor(stack, src["token"])  # a new alert 40 min in: the hour starts again
    wait(stack, 50 * 60, step=10 * 60)
    [still] = incidents(service_id)
    assert still.status is Status.TRIGGERED and still.alert_count == 2
    wait(stack, 11 * 60, step=60)
    [resolved] = incidents(service_id)
    assert resolved.status is Status.RESOLVED and resolved.resolved_by == "timeout"
    shown = stack.call("GET", f"/api/incidents/{incident.id}").body
    ends = [e for e in shown["timeline"] if e["kind"] == "resolved"]
    assert [(e["message"], e["by"]) for e in ends] == [("resolved after 60 min without alerts", "timeout")]
    version = resolved.version
    wait(stack, 3 * 3600, step=600)
    [after] = incidents(service_id)
    assert after.version == version  # exactly once


def test_resolve_after_quiet_set_later_covers_incidents_already_open(stack: Harness, service_id: str) -> None:
    src = add(stack, service_id, "kapacitor")
    kapacitor(stack, src["token"])
    wait(stack, 30 * 60)
    assert stack.call("PATCH", f"/api/sources/{src['id']}", {"resolve_after_quiet": "1h"}).status == 200
    wait(stack, 29 * 60)
    assert incidents(service_id)[0].status is Status.TRIGGERED
    wait(stack, 2 * 60)
    assert incidents(service_id)[0].resolved_by == "timeout"
    off = stack.call("PATCH", f"/api/sources/{src['id']}", {"clear_resolve_after_quiet": True})
    assert off.status == 200 and off.body["resolve_after_quiet"] is None


def test_no_resolve_after_quiet_by_default(stack: Harness, service_id: str) -> None:
    src = add(stack, service_id, "kapacitor")
    kapacitor(stack, src["token"])
    wait(stack, 48 * 3600, step=6 * 3600)
    assert incidents(service_id)[0].status is Status.TRIGGERED


def test_every_quiet_item_matches_its_row_in_the_data_model_doc(stack: Harness, service_id: str) -> None:

    from tests.meta.test_data_model_doc import documented_kinds

    src = add(stack, service_id, "kapacitor", expect_every="1m", resolve_after_quiet="1h")
    kapacitor(stack, src["token"])
    assert stack.heartbeat(src["token"]).status == 200
    kinds = documented_kinds(stack)
    assert {"source seen", "due silence check", "due quiet check"} <= kinds


@pytest.mark.parametrize("case", ["get", "post"])
def test_the_heartbeat_events_answer_200_through_the_real_handler(
    stack: Harness, service_id: str, case: str
) -> None:
    from alertbridge_tools.apigw import load_event

    src = add(stack, service_id, "heartbeat", expect_every="1m")
    answer = stack.request(load_event("heartbeat", case, src["token"]))
    assert answer.status == 200 and answer.body["source_id"] == src["id"]


def test_alertbridge_invoke_runs_the_heartbeat_function_on_its_event(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from alertbridge_tools import cli

    assert cli.main(["invoke", "HeartbeatFunction", "-e", "events/heartbeat/post.json", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["response"]["statusCode"] == 200


# --- faults ---------------------------------------------------------------------------------------
def test_bus_down_when_the_silence_opens_then_the_next_run_opens_it_once(
    stack: Harness, service_id: str
) -> None:
    from tests.faults import aws_error

    add(stack, service_id, "kapacitor", expect_every="1m")
    events = runtime.publisher()._events
    runtime.publisher()._backoff = 0
    stack.advance(61)
    with aws_error(events, "events.PutEvents", "ServiceUnavailable", lambda _r: True, status=503) as failed:
        stack.pump()
        stack.pump()
    assert failed and silences(service_id) == []
    wait(stack, 60)  # the next run, the bus back: the same alert, once
    wait(stack, 60)
    [silent] = silences(service_id)
    assert silent.alert_count == 1


def test_bus_down_when_a_heartbeat_ends_the_silence_is_a_503_and_the_next_one_ends_it(
    stack: Harness, service_id: str
) -> None:
    from tests.faults import aws_error

    src = add(stack, service_id, "heartbeat", expect_every="1m")
    wait(stack, 61)
    assert silences(service_id)[0].is_open
    events = runtime.publisher()._events
    runtime.publisher()._backoff = 0
    with aws_error(events, "events.PutEvents", "ServiceUnavailable", lambda _r: True, status=503):
        down = stack.heartbeat(src["token"])
    assert down.status == 503 and "retry" in down.body["error"]
    stack.pump()
    assert silences(service_id)[0].is_open
    assert stack.heartbeat(src["token"]).status == 200
    stack.pump()
    [ended] = silences(service_id)
    assert ended.status is Status.RESOLVED


def test_storage_throttled_on_a_heartbeat_is_a_503_json(stack: Harness, service_id: str) -> None:
    from tests.faults import aws_error

    src = add(stack, service_id, "heartbeat")
    db = runtime.dynamodb()
    with aws_error(db, "dynamodb.UpdateItem", "ProvisionedThroughputExceededException", lambda _r: True):
        down = stack.heartbeat(src["token"], "POST", b"x")
    assert down.status == 503 and down.body["status"] == 503


def test_a_quiet_entry_that_could_not_be_written_is_repaired_by_setting_the_period_again(
    stack: Harness, service_id: str
) -> None:
    from tests.faults import aws_error

    src = add(stack, service_id, "kapacitor", resolve_after_quiet="1h")
    db = runtime.dynamodb()
    quiet_put = lambda r: "#quiet#" in r.get("Item", {}).get("SK", {}).get("S", "")  # noqa: E731
    with aws_error(db, "dynamodb.PutItem", "InternalServerError", quiet_put, status=500) as failed:
        kapacitor(stack, src["token"])
    [incident] = incidents(service_id)
    assert failed and incident.is_open  # the incident is written all the same
    assert stack.call("PATCH", f"/api/sources/{src['id']}", {"resolve_after_quiet": "1h"}).status == 200
    wait(stack, 61 * 60, step=10 * 60)
    assert incidents(service_id)[0].resolved_by == "timeout"


def test_a_heartbeat_source_has_no_test_alert(stack: Harness, service_id: str) -> None:
    src = add(stack, service_id, "heartbeat")
    refused = stack.call("POST", f"/api/sources/{src['id']}/test-alert")
    assert refused.status == 409 and "heartbeat URL" in refused.body["error"]
    unknown = stack.call("POST", f"/api/services/{service_id}/sources", {"source": "nagios"})
    assert unknown.status == 400 and "heartbeat" in unknown.body["error"]


def test_bus_down_when_a_delivery_ends_the_silence_the_vendors_retry_ends_it(
    stack: Harness, service_id: str
) -> None:
    from tests.faults import aws_error

    src = add(stack, service_id, "kapacitor", expect_every="1m")
    kapacitor(stack, src["token"])
    wait(stack, 61)
    assert silences(service_id)[0].is_open
    events = runtime.publisher()._events
    runtime.publisher()._backoff = 0
    body = json.dumps({"id": "cpu:web-1", "level": "OK", "time": iso(timestamps.now())}).encode()
    resume = lambda r: "silence:" in json.dumps(r)  # noqa: E731  (only the silence's resolve is refused)
    with aws_error(events, "events.PutEvents", "ServiceUnavailable", resume, status=503):
        assert stack.post("kapacitor", src["token"], body).status == 503
    stack.pump()
    assert silences(service_id)[0].is_open
    assert stack.post("kapacitor", src["token"], body).status == 202  # the vendor retries at once
    stack.pump()
    assert silences(service_id)[0].status is Status.RESOLVED
