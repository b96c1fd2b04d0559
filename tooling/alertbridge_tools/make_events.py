"""Write ``events/<source>/<case>.json``: API Gateway events for ``sam local invoke -e`` and the tests.

    PYTHONPATH=layers/core:tooling python -m alertbridge_tools.make_events

The cases are each vendor's ``vendors/<name>/cases.json`` (the source list is ``vendors.SOURCES``):
per case a name, a body, headers and the expected outcome (``tests/golden/test_vendor_cases.py``
posts every case and checks it). A body is one of

- ``{"sample": "<file>"}``: a shared vendor sample (``../shared/vendor-samples``), its exact bytes;
  with ``"merge": {...}`` (merged into it, objects recursively) and/or a ``"format"``, re-encoded;
- ``{"json": <value>}``: inline JSON, encoded with the ``"format"``;
- ``{"text": "..."}``: the bytes of the text as they are (non-JSON bodies).

Formats: ``indent`` (the default, like the samples), ``compact`` (Go's json.Encoder: compact, with
a trailing newline) and ``form`` (the object's values as ``application/x-www-form-urlencoded``
fields). A vendor whose file names a ``signature_header`` signs every body with its mapping's
``sign(settings.secret, body)``. Request ids and times are fixed, so a rerun writes identical files.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from alertbridge import vendors
from alertbridge.vendors.registry import MAPPINGS

from alertbridge_tools.apigw import EVENTS_DIR, EXAMPLE_TOKEN, heartbeat_event, webhook_event

SAMPLES = EVENTS_DIR.parent.parent / "shared" / "vendor-samples"
VENDORS = Path(vendors.__file__).parent
REQUEST_TIME_MS = 1715680800000  # 2024-05-14T10:00:00Z
_IDS = uuid.UUID("6f1c7a52-3d0e-4b8a-9a57-2f1f0d5c7e10")


@dataclass(frozen=True)
class Case:
    """One case of a vendor: the bytes posted, the headers (besides Content-Type: application/json)
    and what is expected of it (``status``, ``outcome``, ``alerts``: tests/golden/test_vendor_cases.py)."""

    name: str
    body: bytes
    headers: dict[str, str]
    expect: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class VendorCases:
    source: str
    settings: dict[str, Any]  # the SourceSettings fields the source is created with
    cases: list[Case]


def sample(name: str) -> bytes:
    return (SAMPLES / name).read_bytes()


def fixed_id(label: str) -> str:
    return str(uuid.uuid5(_IDS, label))


def merged(base: Any, changes: Any) -> Any:
    """``changes`` over ``base``: objects merged key by key (recursively), anything else replaced."""
    if not (isinstance(base, dict) and isinstance(changes, dict)):
        return changes
    return base | {key: merged(base.get(key), value) for key, value in changes.items()}


def encode(value: Any, form: str) -> bytes:
    if form == "indent":
        return (json.dumps(value, indent=2) + "\n").encode()
    if form == "compact":
        return (json.dumps(value, separators=(",", ":")) + "\n").encode()
    if form == "form":
        return urlencode({key: str(v) for key, v in value.items()}).encode()
    raise ValueError(f"unknown body format {form!r}")


def body_bytes(spec: dict[str, Any]) -> bytes:
    if "text" in spec:
        return str(spec["text"]).encode()
    if "json" in spec:
        value = spec["json"]
    elif "merge" not in spec and "format" not in spec:
        return sample(spec["sample"])
    else:
        value = merged(json.loads(sample(spec["sample"])), spec.get("merge", {}))
    return encode(value, spec.get("format", "indent"))


def load(source: str) -> VendorCases:
    """``vendors/<source>/cases.json`` with every body built and, if the vendor signs, signed."""
    spec = json.loads((VENDORS / source / "cases.json").read_text())
    settings = spec.get("settings", {})
    cases = []
    for case in spec["cases"]:
        body = body_bytes(case["body"])
        headers = spec.get("headers", {}) | case.get("headers", {})
        if header := spec.get("signature_header"):
            headers[header] = MAPPINGS[source].sign(settings["secret"], body)  # type: ignore[attr-defined]
        cases.append(Case(case["name"], body, headers, case.get("expect", {})))
    return VendorCases(source, settings, cases)


def render(source: str, case: str, body: bytes, headers: dict[str, str]) -> str:
    """The file text of one event (fixed request id and time)."""
    event = webhook_event(source, EXAMPLE_TOKEN, body, headers)
    event["requestContext"] |= {
        "requestId": fixed_id(f"{source}/{case}"),
        "requestTimeEpoch": REQUEST_TIME_MS,
    }
    return json.dumps(event, indent=2) + "\n"


HEARTBEATS = {"get": ("GET", None), "post": ("POST", b"backup finished in 42 s\n")}


def render_heartbeat(case: str) -> str:
    """``events/heartbeat/<case>.json``: a cron job's ping of the heartbeat URL, GET or POST."""
    method, body = HEARTBEATS[case]
    event = heartbeat_event(EXAMPLE_TOKEN, method, body)
    event["requestContext"] |= {
        "requestId": fixed_id(f"heartbeat/{case}"),
        "requestTimeEpoch": REQUEST_TIME_MS,
    }
    return json.dumps(event, indent=2) + "\n"


def main() -> None:
    folder = EVENTS_DIR / vendors.HEARTBEAT
    folder.mkdir(parents=True, exist_ok=True)
    for ping in HEARTBEATS:
        (folder / f"{ping}.json").write_text(render_heartbeat(ping))
        print(f"events/{vendors.HEARTBEAT}/{ping}.json")
    for source in vendors.SOURCES:
        folder = EVENTS_DIR / source
        folder.mkdir(parents=True, exist_ok=True)
        for case in load(source).cases:
            (folder / f"{case.name}.json").write_text(render(source, case.name, case.body, case.headers))
            print(f"events/{source}/{case.name}.json")


if __name__ == "__main__":
    main()
