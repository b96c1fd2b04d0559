"""Email and SMS texts for the SNS publisher.

SNS wants an email subject of plain ASCII without line breaks or control characters and shorter
than 100 characters; an SMS is kept to 140 ASCII characters, one message's worth of bytes, since a
single non-GSM character would otherwise halve what fits.
"""

from __future__ import annotations

import unicodedata

from alertbridge.models.incident_event import IncidentEvent
from alertbridge.notify.message import Context, Digest, headline, label, link, text_summary

SUBJECT_LIMIT = 99
SMS_LIMIT = 140


def email_subject(event: IncidentEvent, context: Context) -> str:
    return _ascii_line(
        f"{headline(event)} [{event.incident.severity}] ({context.service_name})", SUBJECT_LIMIT
    )


def email_message(event: IncidentEvent, context: Context) -> str:
    return text_summary(event, context)


def sms(event: IncidentEvent, context: Context) -> str:
    """'[TEST] Resolved critical checkout: cpu is high https://...': the link only if it fits."""
    test = "[TEST] " if event.incident.test else ""
    text = (
        f"{test}{label(event.type)} {event.incident.severity} {context.service_name}: {event.incident.title}"
    )
    target = link(event, context)
    if target and len(_ascii_line(text, SMS_LIMIT)) + 1 + len(target) <= SMS_LIMIT:
        return _ascii_line(f"{text} {target}", SMS_LIMIT)
    return _ascii_line(text, SMS_LIMIT)


def digest_subject(digest: Digest) -> str:
    head, _, _ = digest.summary().partition(":")
    return _ascii_line(head, SUBJECT_LIMIT)


def digest_message(digest: Digest) -> str:
    return digest.summary()


def digest_sms(digest: Digest) -> str:
    return _ascii_line(digest.summary(), SMS_LIMIT)


def _ascii_line(text: str, limit: int) -> str:
    """One line of printable ASCII: accents folded (é -> e), other characters and controls dropped,
    whitespace collapsed, cut to ``limit`` with '...'."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    line = " ".join("".join(ch if ch.isprintable() else " " for ch in folded).split())
    return line if len(line) <= limit else line[: limit - 3].rstrip() + "..."
