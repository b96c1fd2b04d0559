"""StatHat mapping (vendors.md §5): JSON, form fields or text; ids or a stat-name hash as the key."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Any

import pytest
from alertbridge.models.parts import Action, Severity
from alertbridge.vendors import stathat
from alertbridge.vendors.base import Draft, PayloadError

from tests.conftest import sample, sample_json
from tests.golden.helpers import RECEIVED, delivery, one_draft, run

MINUTE = "2024-05-14T10:03Z"  # RECEIVED, to the minute
FIELDS = "\n".join(
    (
        "id: k3Dq",
        "stat_id: Zp9w",
        "stat_name: api request time",
        "kind: value",
        "time_window: 1h",
        "operator: greater than",
    )
)
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
TEXT = {"Content-Type": "text/plain"}


def stat_key(name: str) -> str:
    return f"stat:{hashlib.sha256(name.encode()).hexdigest()[:16]}"


def vendor_id(key: str, body: bytes) -> str:
    """The key, the minute received and the body's bytes: only an identical retry is the same event."""
    return f"{key}|{MINUTE}|{hashlib.sha256(body).hexdigest()[:16]}"


def test_json_sample() -> None:
    assert stathat.map_delivery(delivery(sample("stathat-alert.json"))) == [
        Draft(
            vendor_id=vendor_id("alert:k3Dq", sample("stathat-alert.json")),
            action=Action.TRIGGER,
            dedup_key="alert:k3Dq",
            severity=Severity.MEDIUM,
            title="api request time",
            description=FIELDS + "\nthreshold: 500",
            occurred_at=None,
            tags={"body_format": "json", "kind": "value", "time_window": "1h"},
            recoverable=False,
        )
    ]


def test_form_encoded_body() -> None:
    body = b"id=k3Dq&stat_id=Zp9w&stat_name=api+request+time&kind=value&time_window=1h&operator=greater+than"
    assert stathat.map_delivery(delivery(body, FORM)) == [
        Draft(
            vendor_id=vendor_id("alert:k3Dq", body),
            action=Action.TRIGGER,
            dedup_key="alert:k3Dq",
            severity=Severity.MEDIUM,
            title="api request time",
            description=FIELDS,
            tags={"body_format": "form", "kind": "value", "time_window": "1h"},
            recoverable=False,
        )
    ]


def test_form_fields_are_recognised_without_the_content_type() -> None:
    draft = one_draft(stathat.map_delivery(delivery(b"stat_id=Zp9w&name=disk%20free", {})))
    assert (draft.dedup_key, draft.title, draft.tags) == ("stat:Zp9w", "disk free", {"body_format": "form"})


def test_plain_text_body() -> None:
    body = b"\n\n  api request time was greater than 500 over the last 1h  \nhttps://www.stathat.com/v/stats/Zp9w\n"
    title = "api request time was greater than 500 over the last 1h"
    assert stathat.map_delivery(delivery(body, TEXT)) == [
        Draft(
            vendor_id=vendor_id(stat_key(title), body),
            action=Action.TRIGGER,
            dedup_key=stat_key(title),
            severity=Severity.MEDIUM,
            title=title,
            description=f"{title}  \nhttps://www.stathat.com/v/stats/Zp9w",
            tags={"body_format": "text"},
            recoverable=False,
        )
    ]


def test_a_long_text_line_is_cut_for_the_title() -> None:
    draft = one_draft(stathat.map_delivery(delivery(("x" * 1000).encode(), TEXT)))
    assert draft.title == "x" * stathat.TITLE_CHARS
    assert draft.description == "x" * 1000


@pytest.mark.parametrize(
    ("fields", "key", "title"),
    [
        ({"alert_id": 17, "stat_name": "signups"}, "alert:17", "signups"),
        ({"stat_id": "Zp9w", "name": "signups"}, "stat:Zp9w", "signups"),
        ({"stat_name": "signups", "title": "ignored"}, stat_key("signups"), "signups"),
        ({"title": "Signups dropped"}, stat_key("Signups dropped"), "Signups dropped"),
        ({"message": "m", "text": "t"}, stat_key("m"), "m"),
        ({"text": "only text"}, stat_key("only text"), "only text"),
        ({"id": "", "stat_id": None, "value": [1]}, stat_key("StatHat alert"), "StatHat alert"),
    ],
)
def test_key_and_title_precedence(fields: dict[str, Any], key: str, title: str) -> None:
    draft = one_draft(stathat.map_delivery(delivery(fields)))
    assert (draft.dedup_key, draft.title) == (key, title)


def test_retries_within_a_minute_count_once_and_a_later_refire_counts_again() -> None:
    first = delivery(sample("stathat-alert.json"))
    a = one_draft(stathat.map_delivery(first))
    retry = one_draft(stathat.map_delivery(first._replace(received_at=RECEIVED + timedelta(seconds=20))))
    later = one_draft(stathat.map_delivery(first._replace(received_at=RECEIVED + timedelta(minutes=5))))
    assert a.vendor_id == retry.vendor_id == vendor_id("alert:k3Dq", sample("stathat-alert.json"))
    assert later.vendor_id.startswith("alert:k3Dq|2024-05-14T10:08Z|")
    assert a.dedup_key == later.dedup_key


def test_a_body_that_only_looks_like_json_is_text() -> None:
    draft = one_draft(stathat.map_delivery(delivery(b"{api request time is high", {})))
    assert (draft.title, draft.tags) == ("{api request time is high", {"body_format": "text"})


@pytest.mark.parametrize(
    ("body", "headers", "status", "message"),
    [
        (b"", {}, 400, "empty body"),
        (b"  \n ", TEXT, 400, "empty body"),
        (b"\xff\xd8\xff\xe0 binary", {}, 400, "body is not UTF-8 text (invalid byte at offset 0)"),
        (b"[1, 2]", {}, 422, "expected a JSON object, form fields or text, got a JSON list"),
        (
            b"42",
            {"Content-Type": "application/json"},
            422,
            "expected a JSON object, form fields or text, got a JSON int",
        ),
    ],
)
def test_unreadable_bodies(body: bytes, headers: dict[str, str], status: int, message: str) -> None:
    with pytest.raises(PayloadError) as caught:
        stathat.map_delivery(delivery(body, headers))
    assert (caught.value.status, caught.value.message) == (status, message)


def test_a_number_as_text_is_text() -> None:
    draft = one_draft(stathat.map_delivery(delivery(b"42", TEXT)))
    assert (draft.title, draft.tags) == ("42", {"body_format": "text"})


def test_a_different_body_in_the_same_minute_is_a_new_event_an_identical_one_a_retry() -> None:
    """After a manual resolve StatHat may fire again within the minute: only the same bytes are a retry."""
    first = one_draft(run("stathat", delivery(sample("stathat-alert.json"))))
    retry = one_draft(run("stathat", delivery(sample("stathat-alert.json"))))
    changed = sample_json("stathat-alert.json") | {"threshold": 600}
    other = one_draft(run("stathat", delivery(changed)))
    assert retry.vendor_id == first.vendor_id
    assert other.vendor_id != first.vendor_id and other.dedup_key == first.dedup_key
