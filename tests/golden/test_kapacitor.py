"""Kapacitor mapping (vendors.md §2): golden tests from the samples and the documented variants."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from alertbridge.models.parts import Action, Severity
from alertbridge.vendors.base import PayloadError
from alertbridge.vendors.kapacitor import SEVERITY

from tests.conftest import sample, sample_json
from tests.golden.helpers import delivery, one_draft, run

KEY = "kapacitor/cpu/serverA"


def kapacitor(body: object) -> object:
    return one_draft(run("kapacitor", delivery(body)))


def test_critical_sample() -> None:
    draft = one_draft(run("kapacitor", delivery(sample("kapacitor-critical.json"))))
    assert draft.action is Action.TRIGGER
    assert draft.dedup_key == KEY
    assert draft.severity is Severity.CRITICAL
    assert draft.title == "kapacitor/cpu/serverA is CRITICAL"
    assert draft.description == "kapacitor/cpu/serverA is CRITICAL\n\nusage_idle dropped below 10% on serverA"
    assert draft.occurred_at == datetime(2024, 5, 14, 10, 0, 10, tzinfo=UTC)
    assert draft.vendor_id == f"{KEY}|CRITICAL|2024-05-14T10:00:10Z"
    assert draft.tags == {
        "measurement": "cpu",
        "cpu": "cpu-total",
        "host": "serverA",
        "previous_level": "OK",
        "level": "CRITICAL",
    }
    assert draft.recoverable is True


def test_ok_sample_resolves_with_the_severity_it_recovers_from() -> None:
    draft = one_draft(run("kapacitor", delivery(sample("kapacitor-ok.json"))))
    assert draft.action is Action.RESOLVE
    assert draft.dedup_key == KEY
    assert draft.severity is Severity.CRITICAL  # previousLevel
    assert draft.occurred_at == datetime(2024, 5, 14, 10, 3, 10, tzinfo=UTC)
    assert (
        draft.vendor_id != one_draft(run("kapacitor", delivery(sample("kapacitor-critical.json")))).vendor_id
    )


@pytest.mark.parametrize(
    ("level", "severity"),
    [
        ("CRITICAL", Severity.CRITICAL),
        ("WARNING", Severity.MEDIUM),
        ("WARN", Severity.MEDIUM),
        ("warning", Severity.MEDIUM),
        ("INFO", Severity.INFO),
    ],
)
def test_levels_map_through_one_table(level: str, severity: Severity) -> None:
    body = {**sample_json("kapacitor-critical.json"), "level": level}
    draft = one_draft(run("kapacitor", delivery(body)))
    assert draft.action is Action.TRIGGER and draft.severity is severity
    assert set(SEVERITY) == {"CRITICAL", "WARNING", "INFO"}


def test_html_escaped_details_are_unescaped() -> None:
    body = {
        **sample_json("kapacitor-critical.json"),
        "details": "{&#34;Name&#34;:&#34;cpu&#34;,&#34;Level&#34;:&#34;CRITICAL&#34;}\n",
    }
    draft = one_draft(run("kapacitor", delivery(body)))
    assert draft.description.endswith('{"Name":"cpu","Level":"CRITICAL"}')
    assert "&#34;" not in draft.description


def test_no_recoveries_is_noted() -> None:
    draft = one_draft(
        run("kapacitor", delivery({**sample_json("kapacitor-critical.json"), "recoverable": False}))
    )
    assert draft.recoverable is False and "no recovery" in draft.description


def test_nanosecond_times_and_the_default_id_template() -> None:
    body = {
        "id": "cpu:nil",
        "message": "cpu:nil is CRITICAL",
        "level": "CRITICAL",
        "time": "2024-05-14T10:00:10.123456789Z",
        "duration": 0,
    }
    draft = one_draft(run("kapacitor", delivery(body)))
    assert draft.dedup_key == "cpu:nil"
    assert draft.occurred_at == datetime(2024, 5, 14, 10, 0, 10, 123456, tzinfo=UTC)


def test_minimal_alert_and_unknown_fields() -> None:
    draft = one_draft(run("kapacitor", delivery({"id": "x", "level": "OK", "future_field": [1, 2]})))
    assert draft.action is Action.RESOLVE and draft.title == "x" and draft.occurred_at is None


def test_compact_json_with_trailing_newline_and_no_content_type() -> None:
    raw = (json.dumps(sample_json("kapacitor-critical.json"), separators=(",", ":")) + "\n").encode()
    draft = one_draft(run("kapacitor", delivery(raw, headers={})))
    assert draft.dedup_key == KEY


@pytest.mark.parametrize(
    ("body", "status", "needle"),
    [
        (
            {"series": [{"name": "cpu", "columns": ["time"], "values": [["2024-05-14T10:00:10Z"]]}]},
            422,
            "httpPost node row",
        ),
        ({"id": "x", "level": "PANIC"}, 422, "level"),
        ({"level": "CRITICAL"}, 422, "id"),
        ({"id": "", "level": "CRITICAL"}, 422, "id"),
        ([1, 2], 422, "expected a JSON object"),
        (b"level=CRITICAL", 400, "not valid JSON"),
        (b"", 400, "empty body"),
        (b"\xff\xfe", 400, "not UTF-8"),
    ],
)
def test_bodies_it_cannot_understand(body: object, status: int, needle: str) -> None:
    with pytest.raises(PayloadError) as err:
        run("kapacitor", delivery(body))
    assert err.value.status == status and needle in err.value.message


@pytest.mark.parametrize("duration", ["5m0s", "1h2m3.5s", "0s", None, 3.5e11, {"odd": True}])
def test_a_duration_of_any_shape_never_rejects_the_alert(duration: object) -> None:
    """``duration`` is not read: a Go duration string (other tools' fixtures) is accepted like nanoseconds."""
    body = sample_json("kapacitor-critical.json") | {"duration": duration}
    draft = one_draft(run("kapacitor", delivery(body)))
    assert draft.severity is Severity.CRITICAL and draft.dedup_key == KEY


def test_an_unknown_previous_level_is_dropped_not_rejected() -> None:
    body = sample_json("kapacitor-ok.json") | {"previousLevel": "UNKNOWN"}
    draft = one_draft(run("kapacitor", delivery(body)))
    assert draft.action is Action.RESOLVE and draft.severity is Severity.INFO
