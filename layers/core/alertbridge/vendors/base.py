"""What every source mapping works with: the delivery it reads and the items it gives back.

A mapping turns one raw delivery into a list of items, one per vendor alert in it:
``Draft`` (becomes a canonical alert), ``Ignored`` (kept with its reason, not published) or
``Rejected`` (one unreadable element of a batch). A body it cannot read at all raises
``PayloadError``: the caller answers 4xx with that message and keeps the body.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any, NamedTuple, Protocol

from pydantic import BaseModel, BeforeValidator, ValidationError

from alertbridge.models.parts import Action, Link, Severity
from alertbridge.models.records import SourceSettings
from alertbridge.text import validation_message


def as_text(value: Any) -> Any:
    """A vendor value the mapping only shows or keys on, as text: null is empty, a number or a
    boolean its JSON text, an object or list its compact JSON. Such a field never rejects an alert."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return value


Text = Annotated[str, BeforeValidator(as_text)]
"""A display or key field of a vendor model: any JSON value reads as text (see ``as_text``)."""


class Delivery(NamedTuple):
    """One webhook delivery as a mapping sees it: the raw bytes and lowercased headers."""

    body: bytes
    headers: Mapping[str, str]
    received_at: datetime
    settings: SourceSettings = SourceSettings()  # frozen: one default shared by all

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "").split(";", 1)[0].strip().lower()


@dataclass(slots=True)
class Draft:
    """A vendor alert, mapped: everything of the canonical alert that comes from the vendor.

    A plain record: ingest cuts its text to the canonical limits and the canonical model validates
    the result, so a draft is not validated on its own. Not frozen: a frozen dataclass's __init__
    costs four times as much, once per alert.
    """

    vendor_id: str  # the vendor's own identity of this signal: the event id is derived from it
    action: Action
    dedup_key: str
    severity: Severity
    title: str
    description: str = ""
    occurred_at: datetime | None = None
    links: tuple[Link, ...] = ()
    tags: dict[str, str] = field(default_factory=dict)
    recoverable: bool = True


class Ignored(NamedTuple):
    """Understood, deliberately not published (e.g. Heroku build pending, a filtered severity)."""

    reason: str
    vendor_id: str | None = None


class Rejected(NamedTuple):
    """One element of a batch that cannot be read; the rest of the batch still goes through."""

    reason: str


Item = Draft | Ignored | Rejected


class VendorMapping(Protocol):
    """What a mapping module is (``vendors/<name>/__init__.py``); a module that also defines
    ``verify(delivery)`` has its signature checked first, and one that defines
    ``vendor_objects(delivery)`` says which part of the body each of its items came from (both
    read with ``getattr``: they are optional; without it, see ``vendor_objects``)."""

    NAME: str

    def map_delivery(self, delivery: Delivery) -> list[Item]: ...


def vendor_objects(delivery: Delivery) -> list[Any]:
    """The vendor's own object of each item of a delivery, by index, for alert rules (``vendor``):
    by default the body's JSON for its one item. Nothing here rejects anything: a body that is not
    JSON gives no objects (rules then read ``vendor`` as null)."""
    try:
        return [loads(delivery.body.decode("utf-8"))]
    except (ValueError, RecursionError):
        return []


class PayloadError(Exception):
    """The delivery as a whole cannot be understood: answered with ``status`` and a JSON error."""

    def __init__(self, message: str, status: int = 422) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


def decode_text(delivery: Delivery) -> str:
    """The body as text; empty or non-UTF-8 bodies are a 400."""
    if not delivery.body.strip():
        raise PayloadError("empty body", status=400)
    try:
        return delivery.body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PayloadError(
            f"body is not UTF-8 text (invalid byte at offset {exc.start})", status=400
        ) from exc


# A JSON escape of a UTF-16 surrogate: the only way a lone surrogate (valid JSON, not encodable as
# UTF-8) gets into a body's text; raw text is decoded from UTF-8, so it cannot hold one.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def loads(text: str) -> Any:
    """``json.loads``, with lone surrogates (``"\\ud800"``) written as their escape: such text can
    be neither hashed, validated nor published, and an alert is not lost to it."""
    value = json.loads(text)
    if "\\u" in text and _SURROGATE_ESCAPE.search(text):
        return _escaped(value)
    return value


def _escaped(value: Any) -> Any:
    if isinstance(value, str):
        return value.encode("utf-8", "backslashreplace").decode("utf-8")
    if isinstance(value, list):
        return [_escaped(item) for item in value]
    if isinstance(value, dict):
        return {_escaped(k): _escaped(v) for k, v in value.items()}
    return value


def parse_json(delivery: Delivery) -> Any:
    """The body as JSON, whatever the content type says (vendors differ); 400 when it is not JSON."""
    text = decode_text(delivery)
    try:
        return loads(text)
    except RecursionError as exc:
        raise PayloadError("body is not valid JSON: nested too deeply", status=400) from exc
    except ValueError as exc:
        raise PayloadError(f"body is not valid JSON: {exc}", status=400) from exc


def require_object(payload: Any, what: str) -> dict[str, Any]:
    if not isinstance(payload, dict):
        raise PayloadError(f"expected a JSON object ({what}), got {type(payload).__name__}")
    return payload


def validate[M: BaseModel](model: type[M], payload: Any, what: str) -> M:
    """``payload`` read as ``model``; a 422 naming the offending fields when it does not fit."""
    try:
        return model.model_validate(payload)
    except ValidationError as exc:
        raise PayloadError(f"not {what}: {validation_message(exc)}") from exc


def read_exact[M: BaseModel](model: type[M], body: bytes) -> M | None:
    """The body as ``model`` in one pass of pydantic-core over the raw bytes, or None.

    Strict: it succeeds only when every value already has its field's JSON type (no number read as
    text, no "2" read as 2), so where it succeeds the lenient reading (``json.loads`` + ``validate``)
    gives the same model, and it is several times cheaper. Anything else (string-typed numbers, null
    text, a body that is not JSON) returns None: read it leniently, which also says what is wrong.
    """
    try:
        return model.model_validate_json(body, strict=True)
    except ValidationError:
        return None


def read[M: BaseModel](
    model: type[M], delivery: Delivery, what: str, check: Callable[[dict[str, Any]], None] | None = None
) -> M:
    """The body as ``model``: exactly (``read_exact``) when it can be, else leniently, with a 4xx
    naming what is wrong. ``check`` looks at a leniently read object first (a better message for a
    known wrong kind of body)."""
    exact = read_exact(model, delivery.body)
    if exact is not None:
        return exact
    payload = require_object(parse_json(delivery), what)
    if check is not None:
        check(payload)
    return validate(model, payload, what)


def links(*candidates: tuple[str | None, str]) -> tuple[Link, ...]:
    """Links from ``(href, text)`` pairs; empty hrefs and hrefs the canonical model refuses are left out."""
    kept: list[Link] = []
    for href, text in candidates:
        if not href or not href.strip():
            continue
        try:
            kept.append(Link(href=href.strip(), text=text))
        except ValidationError:
            continue  # an overlong vendor URL is not worth rejecting an alert for
    return tuple(kept)
