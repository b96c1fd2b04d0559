"""The exact reading (pydantic-core over the raw bytes, strict) is only a faster way to the lenient
reading (json.loads + validation): on any body, a mapping gives the same items, or the same 4xx,
whichever way the body was read. Checked on generated bodies per source, with the share of bodies
that took the exact way reported, so the check cannot pass by never taking it."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from typing import Any
from unittest.mock import patch

import pytest
from alertbridge import vendors
from alertbridge.vendors import base, heroku, kapacitor, threatstack, uptrends
from alertbridge.vendors.base import Item, PayloadError
from hypothesis import given
from pydantic import BaseModel

from tests import strategies
from tests.golden.helpers import delivery
from tests.strategies import bodies, seeded

EXAMPLES = strategies.EXAMPLES // 2
MODELS: dict[str, type[BaseModel]] = {  # what each source reads exactly when it can (stathat: none)
    "kapacitor": kapacitor.KapacitorAlert,
    "threatstack": threatstack.ThreatStackBatch,
    "heroku": heroku.HerokuEvent,
    "uptrends": uptrends.UptrendsAlert,
}


def outcome(mapping: Callable[[Any], list[Item]], body: bytes) -> list[Item] | tuple[int, str]:
    try:
        return mapping(delivery(body))
    except PayloadError as exc:
        return exc.status, exc.message


def leniently(mapping: Callable[[Any], list[Item]], body: bytes) -> list[Item] | tuple[int, str]:
    never: Callable[..., None] = lambda *_: None  # noqa: E731
    with patch.object(base, "read_exact", never), patch.object(threatstack, "read_exact", never):
        return outcome(mapping, body)


@pytest.mark.parametrize("source", MODELS)
def test_both_readings_agree(source: str, record_property: Any) -> None:
    mapping, model = vendors.module(source).map_delivery, MODELS[source]
    sample = json.loads(vendors.sample(source))
    ways: Counter[str] = Counter()

    @seeded(EXAMPLES)
    @given(body=bodies(sample))
    def one(body: bytes) -> None:
        ways["exact" if base.read_exact(model, body) is not None else "lenient"] += 1
        assert outcome(mapping, body) == leniently(mapping, body), body

    one()
    record_property("readings", f"{source}: {dict(ways)}")
    # Mutated samples keep their types often enough: many bodies must take each way.
    assert ways["exact"] >= EXAMPLES // 20, ways
    assert ways["lenient"] >= EXAMPLES // 20, ways


def test_the_exact_reading_refuses_what_it_would_read_differently() -> None:
    """Numbers as text, text as numbers, null text: left to the lenient reading."""
    for body in (
        {"alerts": [{"id": 1.0, "severity": 1}]},  # json.loads: "1.0"; pydantic-core: "1"
        {"alerts": [{"id": "a", "severity": "2"}]},
        {"alerts": [{"id": "a", "severity": 2.0}]},
    ):
        raw = json.dumps(body).encode()
        assert base.read_exact(threatstack.ThreatStackBatch, raw) is None
        assert outcome(threatstack.map_delivery, raw) == leniently(threatstack.map_delivery, raw)
