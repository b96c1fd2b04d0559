"""Slack incoming-webhook messages (Block Kit), within Slack's documented limits.

Limits that make Slack refuse a message (HTTP 400) rather than cut it: a header's text is at most
150 characters, a section's text 3,000, a section field's 2,000, at most 10 fields, a button's
text 75 and its URL 3,000, and at most 50 blocks. Text is escaped for mrkdwn (``&``, ``<``, ``>``)
and cut after escaping, never inside an entity, so what is sent is always within them.
"""

from __future__ import annotations

import json
from typing import Any

from alertbridge.models.incident_event import IncidentEvent
from alertbridge.notify.message import (
    Context,
    Digest,
    Outbound,
    facts,
    headline,
    link,
    text_summary,
)
from alertbridge.text import ELLIPSIS, cut

HEADER_LIMIT = 150
SECTION_LIMIT = 3000
FIELD_LIMIT = 2000
MAX_FIELDS = 10
BUTTON_TEXT_LIMIT = 75
URL_LIMIT = 3000
MAX_BLOCKS = 50
FALLBACK_LIMIT = 3000  # the notification text; Slack itself cuts far later (40,000)

_ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}


def build(event: IncidentEvent, context: Context, *, url: str) -> Outbound:
    return _outbound(url, message(event, context))


def build_digest(digest: Digest, *, url: str) -> Outbound:
    return _outbound(url, digest_message(digest))


def message(event: IncidentEvent, context: Context) -> dict[str, Any]:
    """The webhook body: header, the facts as fields, the timeline, a button to the incident."""
    fields = [
        _mrkdwn(f"*{_escape(name)}*\n{_escape(value)}", FIELD_LIMIT)
        for name, value in facts(event, context)[:MAX_FIELDS]
    ]
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": _plain(headline(event), HEADER_LIMIT)},
        {"type": "section", "fields": fields},
    ]
    if context.timeline:
        timeline = "\n".join(f"• {entry}" for entry in context.timeline)
        blocks.append({"type": "section", "text": _mrkdwn(_escape(timeline), SECTION_LIMIT)})
    target = link(event, context)
    if target and len(target) <= URL_LIMIT:
        button = {"type": "button", "text": _plain("Open incident", BUTTON_TEXT_LIMIT), "url": target}
        blocks.append({"type": "actions", "elements": [button]})
    return {"text": _escape_cut(text_summary(event, context), FALLBACK_LIMIT), "blocks": blocks[:MAX_BLOCKS]}


def digest_message(digest: Digest) -> dict[str, Any]:
    summary = digest.summary()
    head, _, _ = summary.partition(":")
    return {
        "text": _escape_cut(summary, FALLBACK_LIMIT),
        "blocks": [
            {"type": "header", "text": _plain(head, HEADER_LIMIT)},
            {"type": "section", "text": _mrkdwn(_escape(summary), SECTION_LIMIT)},
        ],
    }


def _outbound(url: str, body: dict[str, Any]) -> Outbound:
    return Outbound(
        url=url,
        headers={"Content-Type": "application/json; charset=utf-8"},
        body=json.dumps(body, ensure_ascii=False).encode(),
    )


def _plain(text: str, limit: int) -> dict[str, Any]:
    return {"type": "plain_text", "text": cut(text, limit), "emoji": True}


def _mrkdwn(escaped: str, limit: int) -> dict[str, str]:
    return {"type": "mrkdwn", "text": _cut_escaped(escaped, limit)}


def _escape(text: str) -> str:
    return "".join(_ESCAPES.get(ch, ch) for ch in text)


def _escape_cut(text: str, limit: int) -> str:
    return _cut_escaped(_escape(text), limit)


def _cut_escaped(escaped: str, limit: int) -> str:
    """Cut already escaped text to ``limit`` characters without splitting an ``&...;`` entity."""
    if len(escaped) <= limit:
        return escaped
    end = limit - len(ELLIPSIS)
    amp = escaped.rfind("&", max(0, end - 4), end)
    if amp != -1 and escaped.find(";", amp) >= end:
        end = amp
    return escaped[:end] + ELLIPSIS
