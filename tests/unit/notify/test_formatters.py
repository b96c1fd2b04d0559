"""What each channel kind is sent: Slack, Teams, signed webhook, PagerDuty, SNS email and SMS."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from alertbridge.models.incident_event import EVENT_TYPES, EventType, IncidentEvent
from alertbridge.models.parts import Severity
from alertbridge.notify import pagerduty, slack, sns, teams, webhook
from alertbridge.notify.message import Context, Digest, DigestItem, text_summary

from tests.unit.notify.factories import INCIDENT_ID, NOW, make_event

CTX = Context(
    service_name="checkout",
    incident_url="https://alertbridge.example.com/incidents/inc_1",
    timeline=("10:00 opened (critical)", "10:05 alert repeated"),
)
SLACK_URL = "https://hooks.slack.com/services/T000/B000/XXXX"
PD_SCHEMA = json.loads((Path(__file__).parent / "pagerduty-events-v2.schema.json").read_text())
PD_KEY = "R0123456789abcdef0123456789abcd1"


def body(outbound: Any) -> Any:
    return json.loads(outbound.body)


def digest(n: int, kind: EventType = "incident.opened") -> Digest:
    items = tuple(DigestItem(f"inc_{i}", f"disk {i} full", Severity.HIGH, kind) for i in range(n))
    return Digest(channel_id="ch_1", service_name="checkout", window_start=NOW, items=items)


# --- shared wording ---------------------------------------------------------------------------


def test_text_summary_has_the_facts_link_and_timeline() -> None:
    text = text_summary(make_event("incident.escalated", event={"previous_severity": "medium"}), CTX)
    assert text.splitlines()[0] == "Escalated: cpu:nil is CRITICAL"
    for line in (
        "Service: checkout",
        "Severity: critical (was medium)",
        "Source: kapacitor",
        "By: the source",
    ):
        assert line in text
    assert f"Link: {CTX.incident_url}" in text
    assert "- 10:05 alert repeated" in text
    assert "Maintenance" not in text


def test_a_service_in_maintenance_is_said_in_the_facts() -> None:
    during = Context("checkout", maintenance="mw_1 'db upgrade' (until 2026-12-25T02:00:00Z)")
    text = text_summary(make_event("incident.resolved"), during)
    assert "Maintenance: mw_1 'db upgrade' (until 2026-12-25T02:00:00Z)" in text.splitlines()


def test_digest_summary_counts_and_names() -> None:
    summary = digest(37).summary()
    assert summary.startswith("37 more incidents opened in checkout: disk 0 full (high), disk 1 full (high)")
    assert summary.endswith("and 27 more")
    assert digest(1).summary() == "1 more incident opened in checkout: disk 0 full (high)"
    mixed = Digest("ch_1", "checkout", NOW, (*digest(2).items, *digest(1, "incident.resolved").items))
    assert mixed.summary().startswith("3 more incident updates in checkout (2 opened, 1 resolved)")


def test_outbound_repr_hides_the_url() -> None:
    outbound = slack.build(make_event(), CTX, url=SLACK_URL)
    assert "services" not in repr(outbound)
    assert "hooks.slack.com" in repr(outbound)


# --- Slack ------------------------------------------------------------------------------------


def test_slack_message_blocks() -> None:
    message = body(slack.build(make_event(), CTX, url=SLACK_URL))
    header, fields, timeline, actions = message["blocks"]
    assert header == {
        "type": "header",
        "text": {"type": "plain_text", "text": "Opened: cpu:nil is CRITICAL", "emoji": True},
    }
    texts = [f["text"] for f in fields["fields"]]
    assert "*Service*\ncheckout" in texts
    assert "*Severity*\ncritical" in texts
    assert "*Source*\nkapacitor" in texts
    assert "10:05 alert repeated" in timeline["text"]["text"]
    assert actions["elements"][0]["url"] == CTX.incident_url
    assert message["text"].startswith("Opened: cpu:nil is CRITICAL")


def test_slack_resolved_and_test_are_said_plainly() -> None:
    resolved = body(slack.build(make_event("incident.resolved", status="resolved"), CTX, url=SLACK_URL))
    assert resolved["blocks"][0]["text"]["text"].startswith("Resolved:")
    test = body(slack.build(make_event(test=True), CTX, url=SLACK_URL))
    assert test["blocks"][0]["text"]["text"].startswith("[TEST] Opened:")
    assert test["text"].startswith("[TEST]")


def test_slack_cuts_to_its_limits_and_escapes_mrkdwn() -> None:
    long_title = "<b>&" * 2000
    timeline = tuple("x&y" * 50 for _ in range(100))
    message = body(
        slack.build(make_event(title=long_title), Context("checkout", None, timeline), url=SLACK_URL)
    )
    header = message["blocks"][0]["text"]["text"]
    assert len(header) <= slack.HEADER_LIMIT
    assert header.endswith("…")
    sections = [b for b in message["blocks"] if b["type"] == "section" and "text" in b]
    assert sections
    for block in sections:
        text = block["text"]["text"]
        assert len(text) <= slack.SECTION_LIMIT
        assert "<" not in text
        assert text.endswith("…")
        # never a cut entity: every & starts a whole one
        assert all(text[i:].startswith(("&amp;", "&lt;", "&gt;")) for i, ch in enumerate(text) if ch == "&")
    for block in message["blocks"]:
        for field in block.get("fields", []):
            assert len(field["text"]) <= slack.FIELD_LIMIT
    assert len(message["text"]) <= slack.FALLBACK_LIMIT
    assert len(message["blocks"]) <= slack.MAX_BLOCKS
    assert not any(b["type"] == "actions" for b in message["blocks"])  # no link: no button


def test_slack_digest() -> None:
    message = body(slack.build_digest(digest(37), url=SLACK_URL))
    assert message["blocks"][0]["text"]["text"] == "37 more incidents opened in checkout"
    assert "and 27 more" in message["blocks"][1]["text"]["text"]


# --- Teams ------------------------------------------------------------------------------------


def test_teams_workflow_message_with_an_adaptive_card() -> None:
    message = body(
        teams.build(make_event("incident.resolved", status="resolved"), CTX, url="https://t.example/x")
    )
    assert message["type"] == "message"
    [attachment] = message["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    card = attachment["content"]
    assert (card["type"], card["version"]) == ("AdaptiveCard", "1.4")
    title, factset, timeline = card["body"]
    assert title["text"] == "Resolved: cpu:nil is CRITICAL"
    assert title["color"] == "Good"
    assert {"title": "Service", "value": "checkout"} in factset["facts"]
    assert "10:05 alert repeated" in timeline["text"]
    assert card["actions"] == [{"type": "Action.OpenUrl", "title": "Open incident", "url": CTX.incident_url}]


def test_teams_digest() -> None:
    card = body(teams.build_digest(digest(3), url="https://t.example/x"))["attachments"][0]["content"]
    assert card["body"][0]["text"] == "3 more incidents opened in checkout"


# --- generic webhook --------------------------------------------------------------------------

SECRET = "0123456789abcdef-secret"


def test_webhook_body_is_the_event_and_it_verifies() -> None:
    event = make_event()
    outbound = webhook.build(event, url="https://r.example/h", secret=SECRET, now=1_767_268_800)
    assert IncidentEvent.model_validate_json(outbound.body) == event
    assert outbound.headers["Content-Type"] == "application/json"
    assert outbound.headers["Alertbridge-Timestamp"] == "1767268800"
    assert outbound.headers["Alertbridge-Signature"] == webhook.sign(SECRET, 1_767_268_800, outbound.body)
    assert outbound.headers["Alertbridge-Signature"].startswith("v1=")
    lowered = {k.lower(): v for k, v in outbound.headers.items()}
    assert webhook.verify(SECRET, lowered, outbound.body, now=1_767_268_800 + 299)


def test_webhook_signature_is_hmac_sha256_of_timestamp_dot_body() -> None:
    import hashlib
    import hmac

    expected = hmac.new(b"k" * 16, b"42." + b"{}", hashlib.sha256).hexdigest()
    assert webhook.sign("k" * 16, 42, b"{}") == f"v1={expected}"


def test_webhook_verify_rejects_tampering_replays_skew_and_other_secrets() -> None:
    now = 1_767_268_800
    outbound = webhook.build(make_event(), url="https://r.example/h", secret=SECRET, now=now)
    h, b = outbound.headers, outbound.body
    assert webhook.verify(SECRET, h, b, now=now)
    assert not webhook.verify(SECRET, h, b + b" ", now=now)
    assert not webhook.verify("another-secret-of-16", h, b, now=now)
    assert not webhook.verify(SECRET, h, b, now=now + 301)  # replayed later
    assert not webhook.verify(SECRET, h, b, now=now - 301)  # from the future
    assert not webhook.verify(SECRET, {**h, "Alertbridge-Timestamp": str(now + 1)}, b, now=now)
    assert not webhook.verify(SECRET, {"Alertbridge-Timestamp": str(now)}, b, now=now)
    assert not webhook.verify(SECRET, {**h, "Alertbridge-Timestamp": "-1"}, b, now=now)
    rotated = {**h, "Alertbridge-Signature": "v1=00, " + h["Alertbridge-Signature"]}
    assert webhook.verify(SECRET, rotated, b, now=now)


# --- PagerDuty --------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", EVENT_TYPES)
def test_pagerduty_bodies_match_the_documented_schema(kind: EventType) -> None:
    event = make_event(kind, event={"previous_severity": "low"} if "escalated" in kind else {})
    outbound = pagerduty.build(event, CTX, routing_key=PD_KEY)
    if kind == "incident.monitoring":
        assert outbound is None
        return
    assert outbound is not None
    assert outbound.url == "https://events.pagerduty.com/v2/enqueue"
    sent = body(outbound)
    jsonschema.validate(sent, PD_SCHEMA, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
    assert sent["dedup_key"] == INCIDENT_ID
    assert sent["event_action"] == {
        "incident.acknowledged": "acknowledge",
        "incident.resolved": "resolve",
    }.get(kind, "trigger")


def test_pagerduty_trigger_payload() -> None:
    event = make_event(links=[{"href": "https://grafana.example/d/1", "text": "graph"}], tags={"env": "prod"})
    sent = pagerduty.enqueue_body(event, CTX, routing_key=PD_KEY)
    assert sent is not None
    payload = sent["payload"]
    assert payload["summary"] == "Opened: cpu:nil is CRITICAL (checkout)"
    assert payload["severity"] == "critical"
    assert datetime.fromisoformat(payload["timestamp"]) == NOW
    assert payload["custom_details"]["tags"] == {"env": "prod"}
    assert payload["custom_details"]["timeline"] == list(CTX.timeline)
    assert sent["links"][0]["href"] == CTX.incident_url
    assert sent["links"][1] == {"href": "https://grafana.example/d/1", "text": "graph"}


def test_pagerduty_summary_is_cut_and_severities_map() -> None:
    sent = pagerduty.enqueue_body(make_event(title="t" * 5000), CTX, routing_key=PD_KEY)
    assert sent is not None
    assert len(sent["payload"]["summary"]) == 1024
    jsonschema.validate(sent, PD_SCHEMA)
    got = {}
    for severity in Severity:
        mapped = pagerduty.enqueue_body(make_event(severity=severity), CTX, routing_key=PD_KEY)
        assert mapped is not None
        got[severity.value] = mapped["payload"]["severity"]
    assert got == {
        "critical": "critical",
        "high": "error",
        "medium": "warning",
        "low": "info",
        "info": "info",
    }


def test_the_pd_schema_itself_rejects_what_pagerduty_would() -> None:
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"routing_key": PD_KEY, "event_action": "trigger"}, PD_SCHEMA)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"routing_key": PD_KEY, "event_action": "resolve"}, PD_SCHEMA)


# --- SNS: email and SMS -----------------------------------------------------------------------


def test_email_subject_is_short_ascii_on_one_line() -> None:
    event = make_event(title="Café\nlatency ☕ " + "x" * 300, test=True)
    subject = sns.email_subject(event, CTX)
    assert len(subject) < 100
    assert subject.isascii()
    assert "\n" not in subject
    assert subject.startswith("[TEST] Opened: Cafe latency")
    assert sns.email_message(event, CTX) == text_summary(event, CTX)


def test_sms_is_at_most_140_ascii_and_keeps_the_link_when_it_fits() -> None:
    short = sns.sms(make_event(title="cpu high"), CTX)
    assert short == f"Opened critical checkout: cpu high {CTX.incident_url}"
    long = sns.sms(make_event(title="é" * 400), CTX)
    assert len(long) <= 140
    assert long.isascii()
    assert CTX.incident_url not in long


def test_sns_digest_texts() -> None:
    d = digest(37)
    assert sns.digest_subject(d) == "37 more incidents opened in checkout"
    assert len(sns.digest_sms(d)) <= 140
    assert sns.digest_message(d) == d.summary()
