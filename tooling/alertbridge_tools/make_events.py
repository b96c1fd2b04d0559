"""Write ``events/<source>/<case>.json``: API Gateway events for ``sam local invoke -e`` and the tests.

    PYTHONPATH=layers/core:tooling python -m alertbridge_tools.make_events

Bodies are the shared vendor samples (``../shared/vendor-samples``, exact bytes) and the variants
vendors.md documents, derived from them. Request ids and times are fixed, so a rerun writes
identical files.
"""

from __future__ import annotations

import copy
import json
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from alertbridge.vendors import heroku as heroku_mapping

from alertbridge_tools.apigw import EVENTS_DIR, EXAMPLE_TOKEN, webhook_event

SAMPLES = EVENTS_DIR.parent.parent / "shared" / "vendor-samples"
HEROKU_SECRET = "test-webhook-secret"  # noqa: S105  (vendors.md §1 test vector; the events are signed with it)
REQUEST_TIME_MS = 1715680800000  # 2024-05-14T10:00:00Z
_IDS = uuid.UUID("6f1c7a52-3d0e-4b8a-9a57-2f1f0d5c7e10")

Case = tuple[bytes, dict[str, str]]  # body, headers (besides Content-Type: application/json)


def sample(name: str) -> bytes:
    return (SAMPLES / name).read_bytes()


def sample_json(name: str) -> Any:
    return json.loads(sample(name))


def as_json(value: Any) -> bytes:
    """Indented like the samples."""
    return (json.dumps(value, indent=2) + "\n").encode()


def fixed_id(label: str) -> str:
    return str(uuid.uuid5(_IDS, label))


def kapacitor() -> dict[str, Case]:
    """vendors.md §2: Go's json.Encoder, compact with a trailing newline."""
    go = {"User-Agent": "Go-http-client/1.1"}
    critical, ok = sample_json("kapacitor-critical.json"), sample_json("kapacitor-ok.json")
    warning = critical | {
        "message": "kapacitor/cpu/serverA is WARNING",
        "time": "2024-05-14T10:01:10Z",
        "level": "WARNING",
        "previousLevel": "CRITICAL",
    }
    escaped = critical | {
        "id": "cpu:nil",
        "message": "cpu:nil is CRITICAL",
        "details": (  # Go html/template escapes the JSON it renders (vendors.md §2)
            "{&#34;Name&#34;:&#34;cpu&#34;,&#34;TaskName&#34;:&#34;cpu_alert&#34;,&#34;Level&#34;:&#34;CRITICAL&#34;}\n"
        ),
        "time": "2024-05-14T10:00:10.123456789Z",
    }
    no_recoveries = critical | {
        "id": "kapacitor/disk/serverB",
        "message": "disk almost full on serverB",
        "recoverable": False,
    }
    row = {"series": [{**critical["data"]["series"][0], "tags": {"host": "serverA"}}]}
    compact = {
        "critical": critical,
        "warning": warning,
        "ok": ok,
        "details-html-escaped": escaped,
        "no-recoveries": no_recoveries,
        "httppost-row": row,
    }
    cases = {
        case: ((json.dumps(body, separators=(",", ":")) + "\n").encode(), go)
        for case, body in compact.items()
    }
    return cases | {"not-json": (b"level=CRITICAL id=cpu", go)}


def threatstack() -> dict[str, Case]:
    """vendors.md §3: batches, the older bare alert, string-typed numbers, bad elements."""
    batch = sample_json("threatstack-batch.json")
    first = batch["alerts"][0]
    stringly = {
        "id": "665a1f0e2c3b4d0011aa0004",
        "title": "Package Installed: netcat",
        "created_at": "1715680801000",
        "severity": "2",
        "organization_id": first["organization_id"],
        "server_or_region": "ip-10-0-1-23",
        "source": "Host",
        "organization_Name": "Acme Corp",
    }
    mixed = [
        first,
        {**first, "id": "665a1f0e2c3b4d0011aa0005", "severity": 2, "title": "Outbound Connection: curl"},
        {**first, "id": "665a1f0e2c3b4d0011aa0006", "severity": 3, "title": "Login From New IP"},
    ]
    bad = [first, "not an alert", {"title": "no id", "severity": 1}, batch["alerts"][1]]
    return {
        "batch": (sample("threatstack-batch.json"), {}),
        "bare-alert": (as_json(first), {}),
        "string-typed-numbers": (as_json({"alerts": [stringly]}), {}),
        "mixed-severities": (as_json({"alerts": mixed}), {}),
        "batch-with-bad-element": (as_json({"alerts": bad}), {}),
        "empty-alerts": (as_json({"alerts": []}), {}),
    }


def _heroku_variant(name: str, case: str, data: dict[str, Any], **envelope: Any) -> bytes:
    """A sample with fresh event ids and the given ``data`` fields and envelope fields changed."""
    event = copy.deepcopy(sample_json(name))
    event_id = fixed_id(f"heroku/{case}/event")
    event["id"] = event_id
    event["data"].update(data)
    event.update(envelope)
    meta = event["webhook_metadata"]
    meta["event"]["id"] = event_id
    meta["attempt"]["id"] = fixed_id(f"heroku/{case}/attempt")
    meta["delivery"]["id"] = fixed_id(f"heroku/{case}/delivery")
    return as_json(event)


def heroku() -> dict[str, Case]:
    """vendors.md §1: every event signed with HEROKU_SECRET over its exact bytes."""
    bodies = {
        "build-failed": sample("heroku-build-failed.json"),
        "build-succeeded": sample("heroku-build-succeeded.json"),
        "build-pending": _heroku_variant(
            "heroku-build-failed.json",
            "build-pending",
            {"status": "pending", "updated_at": "2024-05-14T09:58:57Z"},
            action="create",
            created_at="2024-05-14T09:58:57+00:00",
            updated_at="2024-05-14T09:58:57+00:00",
            published_at="2024-05-14T09:58:58Z",
        ),
        "dyno-crashed": _heroku_variant(
            "heroku-dyno-up.json",
            "dyno-crashed",
            {"id": fixed_id("heroku/dyno-crashed/dyno"), "state": "crashed", "exit_status": 137},
            action="destroy",
            created_at="2024-05-14T14:12:03Z",
        ),
        "dyno-up": sample("heroku-dyno-up.json"),
        "dyno-starting": _heroku_variant(
            "heroku-dyno-up.json",
            "dyno-starting",
            {"state": "starting"},
            action="create",
            created_at="2024-05-14T14:19:20Z",
        ),
        "release-failed": _heroku_variant(
            "heroku-release-succeeded.json",
            "release-failed",
            {
                "id": fixed_id("heroku/release-failed/release"),
                "status": "failed",
                "current": False,
                "version": 300,
                "description": "Deploy 3f1c2a9d (release command failed)",
                "output_stream_url": "https://release-output.heroku.com/streams/56/566bf9d7/logs/release-300.log",
            },
            created_at="2024-05-14T11:15:02.120934Z",
            updated_at="2024-05-14T11:15:02.120934Z",
            previous_data={"status": None},
        ),
        "release-succeeded": sample("heroku-release-succeeded.json"),
        "app-update": sample("heroku-app-update.json"),
    }
    return {
        case: (body, {"Heroku-Webhook-Hmac-SHA256": heroku_mapping.sign(HEROKU_SECRET, body)})
        for case, body in bodies.items()
    }


def _uptrends_variant(case: str, **alert: str) -> bytes:
    message = sample_json("uptrends-alert.json")
    message["alert"] |= {"alertGuid": fixed_id(f"uptrends/{case}/alert"), **alert}
    return as_json(message)


def uptrends() -> dict[str, Case]:
    """vendors.md §4, the recommended template: every value a string."""
    no_key = json.loads(_uptrends_variant("no-incident-key"))
    no_key["incident"]["key"] = ""
    return {
        "alert": (sample("uptrends-alert.json"), {}),
        "ok": (sample("uptrends-ok.json"), {}),
        "error-type": (_uptrends_variant("error-type", type="Error"), {}),
        "reminder": (
            _uptrends_variant(
                "reminder",
                type="Reminder",
                timestampUtc="2024-05-14T10:32:58",
                timestamp="2024-05-14T12:32:58",
                numberOfConsecutiveErrors="32",
            ),
            {},
        ),
        "no-incident-key": (as_json(no_key), {}),
    }


def stathat() -> dict[str, Case]:
    """vendors.md §5: the body format is unknown; JSON, form fields and text all occur."""
    fields = {k: str(v) for k, v in sample_json("stathat-alert.json").items()}
    return {
        "json": (sample("stathat-alert.json"), {}),
        "form-encoded": (urlencode(fields).encode(), {"Content-Type": "application/x-www-form-urlencoded"}),
        "plain-text": (
            b"api request time was greater than 500 over the last 1h\nhttps://www.stathat.com/v/stats/Zp9w\n",
            {"Content-Type": "text/plain; charset=utf-8"},
        ),
        "empty": (b"", {}),
    }


SOURCES: dict[str, Callable[[], dict[str, Case]]] = {
    "kapacitor": kapacitor,
    "threatstack": threatstack,
    "heroku": heroku,
    "uptrends": uptrends,
    "stathat": stathat,
}


def render(source: str, case: str, body: bytes, headers: dict[str, str]) -> str:
    """The file text of one event (fixed request id and time)."""
    event = webhook_event(source, EXAMPLE_TOKEN, body, headers)
    event["requestContext"] |= {
        "requestId": fixed_id(f"{source}/{case}"),
        "requestTimeEpoch": REQUEST_TIME_MS,
    }
    return json.dumps(event, indent=2) + "\n"


def main() -> None:
    for source, cases in SOURCES.items():
        folder = EVENTS_DIR / source
        folder.mkdir(parents=True, exist_ok=True)
        for case, (body, headers) in cases().items():
            (folder / f"{case}.json").write_text(render(source, case, body, headers))
            print(f"events/{source}/{case}.json")


if __name__ == "__main__":
    main()
