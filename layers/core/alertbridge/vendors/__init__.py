"""Vendor mappings, one folder per source: ``vendors/<name>/`` holds the mapping (``__init__.py``),
its test-alert ``sample.json``, its ``README.md`` (setup, wire quirks, severity table) and its
``cases.json`` (bodies with their expected outcomes). The "add a source" checklist is README.md here.

A mapping module provides:

- ``NAME``: the source name used in routes (``/hooks/<NAME>/{token}``) and on the bus;
- ``SEVERITY``: the vendor's scale -> canonical severity, in one place;
- ``map_delivery(delivery) -> list[Item]``: the mapping itself;
- optionally ``verify(delivery) -> None``: a signature check that raises ``Unauthorized``.

``SOURCES`` is the one list of sources; everything else (the CLI, the demo, the events, the
template checks) derives from it; ``KINDS`` adds the heartbeat-only source. An ingest function
imports its own mapping statically (``from alertbridge.vendors import kapacitor``), so its cold
start loads no other vendor; only ``module`` (the management function, which serves every source)
loads the registry of all of them.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from alertbridge.vendors.base import VendorMapping

SOURCES: tuple[str, ...] = ("kapacitor", "threatstack", "heroku", "uptrends", "stathat")
# A source that only sends heartbeats (``/hooks/heartbeat/{token}``: cron jobs, dead-man's
# switches): a kind of source, not a vendor mapping (no webhook function, no events, no cases).
HEARTBEAT = "heartbeat"
KINDS: tuple[str, ...] = (*SOURCES, HEARTBEAT)  # what `sources add` takes


class Unauthorized(Exception):
    """The delivery's signature does not verify: 401, nothing published."""


class UnknownSource(KeyError):
    pass


def module(name: str) -> VendorMapping:
    """The mapping of source ``name``; the first call loads every mapping (``registry``)."""
    from alertbridge.vendors.registry import MAPPINGS  # noqa: PLC0415  (not in an ingest function)

    try:
        return MAPPINGS[name]
    except KeyError:
        raise UnknownSource(name) from None


def sample(name: str) -> bytes:
    """A real-shaped payload of the source (``<name>/sample.json``): what a test alert sends."""
    if name not in SOURCES:
        raise UnknownSource(name)
    return (Path(__file__).parent / name / "sample.json").read_bytes()
