"""Microsoft Teams messages for a workflow webhook ("When a Teams webhook request is received"):
one Adaptive Card (1.4) in a message's attachments.

Teams refuses a card over about 28 KB; the texts are cut well below it.
"""

from __future__ import annotations

import json
from typing import Any

from alertbridge.models.incident_event import IncidentEvent
from alertbridge.models.parts import Severity
from alertbridge.notify.message import Context, Digest, Outbound, facts, headline, link
from alertbridge.text import cut

CARD_VERSION = "1.4"
TITLE_LIMIT = 300
FACT_LIMIT = 500
TEXT_LIMIT = 4000

_COLOURS = {
    Severity.CRITICAL: "Attention",
    Severity.HIGH: "Attention",
    Severity.MEDIUM: "Warning",
    Severity.LOW: "Default",
    Severity.INFO: "Default",
}


def build(event: IncidentEvent, context: Context, *, url: str) -> Outbound:
    return _outbound(url, card(event, context))


def build_digest(digest: Digest, *, url: str) -> Outbound:
    summary = digest.summary()
    head, _, _ = summary.partition(":")
    body = [_title(head, "Warning"), {"type": "TextBlock", "text": cut(summary, TEXT_LIMIT), "wrap": True}]
    return _outbound(url, {**_card_shell(), "body": body})


def card(event: IncidentEvent, context: Context) -> dict[str, Any]:
    """The Adaptive Card: headline, a FactSet, the timeline, a button to the incident."""
    colour = "Good" if event.type == "incident.resolved" else _COLOURS[event.incident.severity]
    body: list[dict[str, Any]] = [
        _title(headline(event), colour),
        {
            "type": "FactSet",
            "facts": [
                {"title": name, "value": cut(value, FACT_LIMIT)} for name, value in facts(event, context)
            ],
        },
    ]
    if context.timeline:
        timeline = "\n\n".join(f"- {entry}" for entry in context.timeline)
        body.append({"type": "TextBlock", "text": cut(timeline, TEXT_LIMIT), "wrap": True, "isSubtle": True})
    content: dict[str, Any] = {**_card_shell(), "body": body}
    target = link(event, context)
    if target:
        content["actions"] = [{"type": "Action.OpenUrl", "title": "Open incident", "url": target}]
    return content


def _title(text: str, colour: str) -> dict[str, Any]:
    return {
        "type": "TextBlock",
        "text": cut(text, TITLE_LIMIT),
        "weight": "Bolder",
        "size": "Medium",
        "color": colour,
        "wrap": True,
    }


def _card_shell() -> dict[str, Any]:
    return {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": CARD_VERSION,
    }


def _outbound(url: str, content: dict[str, Any]) -> Outbound:
    body = {
        "type": "message",
        "attachments": [
            {"contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": None, "content": content}
        ],
    }
    return Outbound(
        url=url,
        headers={"Content-Type": "application/json; charset=utf-8"},
        body=json.dumps(body, ensure_ascii=False).encode(),
    )
