"""From a mapping's draft to the canonical alert: vendor text cut to the contract's limits (an alert
is never refused for length), the title's fallback, test alerts on their own keys."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from alertbridge import vendors
from alertbridge.models.alert import (
    MAX_DESCRIPTION,
    MAX_KEY,
    MAX_TAG_VALUE,
    MAX_TAGS,
    MAX_TITLE,
    CanonicalAlert,
)
from alertbridge.models.parts import Action, Severity
from alertbridge.models.records import Source
from alertbridge.normalize import MAX_TAG_KEY, _canonical, delivery_fields, event_id, normalize
from alertbridge.store.bus import entry
from alertbridge.vendors.base import Delivery, Draft

RECEIVED = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def canonical(draft: Draft, *, test: bool = False) -> CanonicalAlert:
    source = Source(
        id="src_1", service_id="svc_1", source="kapacitor", token_hash="0" * 64, created_at=RECEIVED
    )
    delivery = Delivery(body=b"", headers={}, received_at=RECEIVED)
    fields = _canonical(draft, 3, delivery_fields(source, delivery, "dlv_1", test=test))
    return CanonicalAlert.model_validate(fields)


def draft(**changes: Any) -> Draft:
    fields: dict[str, Any] = {
        "vendor_id": "v1",
        "action": Action.TRIGGER,
        "dedup_key": "cpu:web-1",
        "severity": Severity.HIGH,
        "title": "cpu high",
    }
    return Draft(**(fields | changes))


def test_vendor_text_is_cut_to_the_limits_never_refused() -> None:
    tags = {f"t{i}": "v" for i in range(MAX_TAGS + 5)} | {"k" * 100: "x" * 1000}
    alert = canonical(draft(dedup_key="k" * 5000, title="t" * 5000, description="d" * 100_000, tags=tags))
    assert len(alert.dedup_key) == MAX_KEY and alert.dedup_key.endswith("…")
    assert len(alert.title) == MAX_TITLE and alert.title.endswith("…")
    assert len(alert.description) == MAX_DESCRIPTION and alert.description.endswith("…")
    assert len(alert.tags) == MAX_TAGS and list(alert.tags)[:2] == ["t0", "t1"]  # the first ones kept
    long = canonical(draft(tags={"k" * 100: "x" * 1000})).tags
    assert [(len(k), len(v)) for k, v in long.items()] == [(MAX_TAG_KEY, MAX_TAG_VALUE)]


def test_text_within_the_limits_is_kept_as_is() -> None:
    tags = {"host": "web-1", "measurement": "cpu"}
    alert = canonical(draft(title="  cpu high  ", description="x" * MAX_DESCRIPTION, tags=tags))
    assert alert.title == "cpu high" and alert.description == "x" * MAX_DESCRIPTION and alert.tags == tags
    assert alert.raw_ref == "delivery/dlv_1#3" and alert.occurred_at == RECEIVED  # no vendor time given


def test_a_blank_title_falls_back_to_the_dedup_key() -> None:
    assert canonical(draft(title=" \n ")).title == "cpu:web-1"


def test_a_test_alert_is_its_own_event_on_its_own_key() -> None:
    real, test = canonical(draft()), canonical(draft(), test=True)
    assert real.event_id == event_id("svc_1", "kapacitor", "v1")
    assert test.dedup_key == "test:cpu:web-1" and test.event_id != real.event_id and test.test


LONE = "\ud800"  # valid JSON ("\\ud800"), not encodable as UTF-8
SURROGATE_BODIES: dict[str, Any] = {
    "kapacitor": {"id": f"cpu{LONE}", "level": "CRITICAL", "time": f"2024-05-14T10:00:10Z{LONE}"},
    "threatstack": {"alerts": [{"id": f"a{LONE}", "severity": 1, "title": f"t{LONE}"}]},
    "heroku": {"id": f"e{LONE}", "resource": "app", "action": "update", "created_at": LONE},
    "uptrends": {"alert": {"type": "Alert", "timestampUtc": LONE}, "incident": {"key": f"k{LONE}"}},
    "stathat": {"id": f"s{LONE}", "stat_name": f"n{LONE}"},
}


@pytest.mark.parametrize("name", vendors.SOURCES)
def test_a_lone_surrogate_in_an_id_or_a_time_is_accepted_escaped_and_publishable(name: str) -> None:
    source = Source(id="src_1", service_id="svc_1", source=name, token_hash="0" * 64, created_at=RECEIVED)
    body = json.dumps(SURROGATE_BODIES[name]).encode()
    delivery = Delivery(body=body, headers={"content-type": "application/json"}, received_at=RECEIVED)
    [alert] = normalize(vendors.module(name), source, delivery, "dlv_1").alerts
    assert "\\ud800" in alert.dedup_key and alert.occurred_at == RECEIVED
    assert json.loads(entry(alert, "bus")["Detail"])["dedup_key"] == alert.dedup_key
