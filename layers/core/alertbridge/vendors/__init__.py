"""Vendor mappings, one module per source. A module provides:

- ``NAME``: the source name used in routes (``/hooks/<NAME>/{token}``) and on the bus;
- ``SEVERITY``: the vendor's scale -> canonical severity, in one place;
- ``map_delivery(delivery) -> list[Item]``: the mapping itself;
- optionally ``verify(delivery) -> None``: a signature check that raises ``Unauthorized``.

Modules are imported on first use, so an ingest function loads only its own mapping.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from functools import cache
from pathlib import Path
from types import ModuleType

from alertbridge.vendors.base import Delivery, Item

# source name -> module. Adding a source: a module here, a function + route in template.yaml.
MODULES: dict[str, str] = {
    "kapacitor": "alertbridge.vendors.kapacitor",
    "threatstack": "alertbridge.vendors.threatstack",
    "heroku": "alertbridge.vendors.heroku",
    "uptrends": "alertbridge.vendors.uptrends",
    "stathat": "alertbridge.vendors.stathat",
}

SOURCES: tuple[str, ...] = tuple(MODULES)


class Unauthorized(Exception):
    """The delivery's signature does not verify: 401, nothing published."""


class UnknownSource(KeyError):
    pass


@cache  # looked up on every delivery
def module(name: str) -> ModuleType:
    try:
        return importlib.import_module(MODULES[name])
    except KeyError:
        raise UnknownSource(name) from None


def mapper(name: str) -> Callable[[Delivery], list[Item]]:
    fn: Callable[[Delivery], list[Item]] = module(name).map_delivery
    return fn


def verifier(name: str) -> Callable[[Delivery], None] | None:
    fn: Callable[[Delivery], None] | None = getattr(module(name), "verify", None)
    return fn


def sample(name: str) -> bytes:
    """A real-shaped payload of the source (``samples/<name>.json``): what a test alert sends."""
    module(name)  # unknown source -> UnknownSource
    return (Path(__file__).parent / "samples" / f"{name}.json").read_bytes()
