"""Building deliveries for the mapping tests, from bytes, JSON values or events/ files."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from alertbridge import vendors
from alertbridge.models.records import SourceSettings
from alertbridge.vendors.base import Delivery, Draft, Item
from alertbridge_tools.apigw import EVENTS_DIR, event_body

RECEIVED = datetime(2024, 5, 14, 10, 3, 27, 512000, tzinfo=UTC)


def delivery(
    body: bytes | Any, headers: dict[str, str] | None = None, settings: SourceSettings | None = None
) -> Delivery:
    """``body`` as is when bytes, else as JSON; header names lowercased as ingest does."""
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    lowered = {k.lower(): v for k, v in (headers or {"Content-Type": "application/json"}).items()}
    return Delivery(body=raw, headers=lowered, received_at=RECEIVED, settings=settings or SourceSettings())


def event_files(source: str) -> list[Path]:
    return sorted((EVENTS_DIR / source).glob("*.json"))


def event_delivery(path: Path, settings: SourceSettings | None = None) -> Delivery:
    event = json.loads(path.read_text())
    return delivery(event_body(event), event["headers"], settings)


def run(source: str, d: Delivery) -> list[Item]:
    """What ingest does with a delivery: the source's verify (if any), then its mapping."""
    mapping = vendors.module(source)
    verify = getattr(mapping, "verify", None)
    if verify is not None:
        verify(d)
    return mapping.map_delivery(d)


def one_draft(items: list[Item]) -> Draft:
    """The single alert a delivery maps to (fails when it maps to anything else)."""
    assert len(items) == 1, items
    [draft] = items
    assert isinstance(draft, Draft), draft
    return draft
