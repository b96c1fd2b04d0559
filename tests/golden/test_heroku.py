"""Heroku mapping (vendors.md §1, PRODUCT.md §1.1): signature, lifecycles, informational entities."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from alertbridge import runtime
from alertbridge.ingest import Ingest
from alertbridge.models.parts import Action, Link, Severity
from alertbridge.models.records import SourceSettings
from alertbridge.vendors import Unauthorized, heroku
from alertbridge.vendors.base import Draft, Ignored, PayloadError
from alertbridge_tools.harness import Harness

from tests.conftest import sample, sample_json
from tests.golden.helpers import delivery, event_delivery, event_files

SECRET = "test-webhook-secret"
VECTOR = "CkkDgHaXow5RCCEowIeb+akB+dLPxvT4n9pzuVrbZKc="  # vendors.md §1
SIGNED = SourceSettings(secret=SECRET)
APP = "566bf9d7-c55a-45f8-91a6-e55e9b9b1325"
BUILD_LOG = sample_json("heroku-build-failed.json")["data"]["output_stream_url"]
APP_TAGS = {"app": "acme-api-prod", "app_id": APP}


def signed(body: bytes, secret: str = SECRET) -> dict[str, str]:
    return {"Content-Type": "application/json", "Heroku-Webhook-Hmac-SHA256": heroku.sign(secret, body)}


def mapped(value: Any) -> list[Any]:
    return heroku.map_delivery(delivery(value))


def dyno(state: str, **data: Any) -> dict[str, Any]:
    event: dict[str, Any] = sample_json("heroku-dyno-up.json")
    event["data"] |= {"state": state, **data}
    return event


# --- signature ---------------------------------------------------------------------------------


def test_signature_test_vector() -> None:
    body = sample("heroku-build-failed.json")
    assert len(body) == 1937
    assert signed(body)["Heroku-Webhook-Hmac-SHA256"] == VECTOR
    heroku.verify(delivery(body, {"Heroku-Webhook-Hmac-SHA256": VECTOR}, SIGNED))  # no exception


@pytest.mark.parametrize(
    ("body", "headers", "secret", "message"),
    [
        (
            sample("heroku-build-failed.json").replace(b'"failed"', b'"succeeded"'),
            {"Heroku-Webhook-Hmac-SHA256": VECTOR},
            SECRET,
            "Heroku-Webhook-Hmac-SHA256 does not match the body for this source's secret",
        ),
        (
            sample("heroku-build-failed.json"),
            {"Content-Type": "application/json"},
            SECRET,
            "missing Heroku-Webhook-Hmac-SHA256 header (this source has a secret)",
        ),
        (
            sample("heroku-build-failed.json"),
            {"Heroku-Webhook-Hmac-SHA256": VECTOR},
            "another-secret",
            "Heroku-Webhook-Hmac-SHA256 does not match the body for this source's secret",
        ),
        (
            sample("heroku-build-failed.json"),
            {"Heroku-Webhook-Hmac-SHA256": "sig=é"},
            SECRET,
            "Heroku-Webhook-Hmac-SHA256 does not match the body for this source's secret",
        ),
    ],
    ids=["tampered-body", "missing-header", "wrong-secret", "non-ascii-header"],
)
def test_bad_signatures_are_unauthorized(
    body: bytes, headers: dict[str, str], secret: str, message: str
) -> None:
    with pytest.raises(Unauthorized, match="^" + message.replace("(", r"\(").replace(")", r"\)") + "$"):
        heroku.verify(delivery(body, headers, SourceSettings(secret=secret)))


def test_without_a_secret_unsigned_deliveries_are_accepted() -> None:
    heroku.verify(delivery(sample("heroku-build-failed.json"), {"Content-Type": "application/json"}))


def test_ingest_answers_401_for_a_bad_signature_and_keeps_the_delivery(
    stack: Harness, service_id: str
) -> None:
    _, token = stack.add_source(service_id, "heroku", SIGNED)
    ingest = Ingest(
        heroku,
        runtime.source_store(),
        runtime.delivery_store(),
        runtime.publisher(),
        runtime.rule_store(),
        runtime.maintenance_store(),
        runtime.has_open,
    )
    body = sample("heroku-build-failed.json")

    good = ingest.handle(token, body, {"Heroku-Webhook-Hmac-SHA256": VECTOR})
    assert good.status == 202
    assert good.body["alerts"][0]["dedup_key"] == f"{APP}:build"

    for headers in ({"Heroku-Webhook-Hmac-SHA256": signed(body, "wrong")["Heroku-Webhook-Hmac-SHA256"]}, {}):
        bad = ingest.handle(token, body, headers)
        assert bad.status == 401
        assert bad.delivery_id is not None
        record, raw = runtime.delivery_store().get(bad.delivery_id)
        assert (record.outcome, record.status_code, raw) == ("rejected", 401, body)
    tampered = ingest.handle(
        token, body.replace(b"acme-api-prod", b"acme-api-evil"), {"Heroku-Webhook-Hmac-SHA256": VECTOR}
    )
    assert tampered.status == 401


# --- samples -----------------------------------------------------------------------------------


def test_build_failed_sample() -> None:
    assert mapped(sample("heroku-build-failed.json")) == [
        Draft(
            vendor_id="699f071a-5fd8-4665-a9df-dec6baecde5b",
            action=Action.TRIGGER,
            dedup_key=f"{APP}:build",
            severity=Severity.MEDIUM,
            title="Heroku build failed: acme-api-prod",
            description="build update by dev-oncall@example.com",
            occurred_at=datetime(2024, 5, 14, 10, 0, 12, tzinfo=UTC),
            links=(Link(href=BUILD_LOG, text="build output"),),
            tags=APP_TAGS
            | {
                "resource": "build",
                "action": "update",
                "actor": "dev-oncall@example.com",
                "include": "api:build",
                "status": "failed",
            },
            recoverable=True,
        )
    ]


def test_build_succeeded_sample_resolves_the_same_key() -> None:
    [draft] = mapped(sample("heroku-build-succeeded.json"))
    assert draft == Draft(
        vendor_id="d330a549-4d14-4f1a-8cc3-46363c234038",
        action=Action.RESOLVE,
        dedup_key=f"{APP}:build",
        severity=Severity.MEDIUM,
        title="Heroku build succeeded: acme-api-prod",
        description="build update by dev-oncall@example.com",
        occurred_at=datetime(2024, 5, 14, 10, 2, 35, tzinfo=UTC),
        links=(Link(href=BUILD_LOG, text="build output"),),
        tags=APP_TAGS
        | {
            "resource": "build",
            "action": "update",
            "actor": "dev-oncall@example.com",
            "include": "api:build",
            "status": "succeeded",
        },
        recoverable=True,
    )


def test_dyno_up_sample_resolves_the_dyno() -> None:
    assert mapped(sample("heroku-dyno-up.json")) == [
        Draft(
            vendor_id="aa5bf365-1867-4db7-9c80-f9be67fd4c1e",
            action=Action.RESOLVE,
            dedup_key=f"{APP}:dyno:web.1",
            severity=Severity.HIGH,
            title="Heroku dyno web.1 up: acme-api-prod",
            description="dyno update by noreply+webhooks@heroku.com",
            occurred_at=datetime(2024, 5, 14, 14, 19, 31, tzinfo=UTC),
            tags=APP_TAGS
            | {
                "resource": "dyno",
                "action": "update",
                "actor": "noreply+webhooks@heroku.com",
                "include": "dyno",
                "state": "up",
            },
            recoverable=True,
        )
    ]


def test_dyno_crash_opens_on_app_and_dyno_name() -> None:
    event = dyno("crashed", id="another-dyno-id", exit_status=137)
    event |= {"action": "destroy", "created_at": "2024-05-14T14:12:03Z"}
    [draft] = mapped(event)
    assert draft == Draft(
        vendor_id="aa5bf365-1867-4db7-9c80-f9be67fd4c1e",
        action=Action.TRIGGER,
        dedup_key=f"{APP}:dyno:web.1",
        severity=Severity.HIGH,
        title="Heroku dyno web.1 crashed: acme-api-prod",
        description="exit status 137\ndyno destroy by noreply+webhooks@heroku.com",
        occurred_at=datetime(2024, 5, 14, 14, 12, 3, tzinfo=UTC),
        tags=APP_TAGS
        | {
            "resource": "dyno",
            "action": "destroy",
            "actor": "noreply+webhooks@heroku.com",
            "include": "dyno",
            "state": "crashed",
        },
        recoverable=True,
    )


def test_release_failed_is_high_keyed_on_the_event_without_recovery() -> None:
    event = sample_json("heroku-release-succeeded.json")
    event["data"] |= {"status": "failed", "output_stream_url": "https://release-output.example/1.log"}
    event["previous_data"] = {"status": None}
    [draft] = mapped(event)
    assert draft == Draft(
        vendor_id="d2e06b36-b9ea-43d4-86f4-f14cc599fac7",
        action=Action.TRIGGER,
        dedup_key="d2e06b36-b9ea-43d4-86f4-f14cc599fac7",
        severity=Severity.HIGH,
        title="Heroku release failed: acme-api-prod",
        description="Deploy 3f1c2a9d\nchanged: status\nrelease update by dev-oncall@example.com",
        occurred_at=datetime(2024, 5, 14, 10, 2, 40, 693808, tzinfo=UTC),
        links=(Link(href="https://release-output.example/1.log", text="release output"),),
        tags=APP_TAGS
        | {
            "resource": "release",
            "action": "update",
            "actor": "dev-oncall@example.com",
            "include": "api:release",
            "status": "failed",
        },
        recoverable=False,
    )


def test_app_update_sample_is_informational() -> None:
    assert mapped(sample("heroku-app-update.json")) == [
        Draft(
            vendor_id="5c6cf0c2-00ae-423f-89a7-a58cb216749a",
            action=Action.TRIGGER,
            dedup_key="5c6cf0c2-00ae-423f-89a7-a58cb216749a",
            severity=Severity.INFO,
            title="Heroku app update: acme-api-prod",
            description="changed: maintenance\napp update by dev-oncall@example.com",
            occurred_at=datetime(2024, 5, 14, 10, 20, 14, tzinfo=UTC),
            links=(Link(href="https://acme-api-prod-0f3c5b1d2e4a.herokuapp.com/", text="web"),),
            tags=APP_TAGS
            | {
                "resource": "app",
                "action": "update",
                "actor": "dev-oncall@example.com",
                "include": "api:app",
            },
            recoverable=False,
        )
    ]


@pytest.mark.parametrize(
    "resource",
    ["addon-attachment", "addon", "collaborator", "domain", "formation", "sni-endpoint", "ssl-endpoint"],
)
def test_other_entities_are_informational_triggers_on_the_event_id(resource: str) -> None:
    event = {
        "id": "e-1",
        "resource": resource,
        "action": "create",
        "data": {"id": "r-1", "app": {"id": "a-1", "name": "acme"}, "hostname": "www.example.com"},
    }
    [draft] = mapped(event)
    assert isinstance(draft, Draft)
    assert (draft.action, draft.dedup_key, draft.severity, draft.title, draft.recoverable) == (
        Action.TRIGGER,
        "e-1",
        Severity.INFO,
        f"Heroku {resource} create: acme",
        False,
    )


# --- ignored -----------------------------------------------------------------------------------


def test_build_pending_is_ignored_with_the_reason() -> None:
    event = sample_json("heroku-build-failed.json")
    event["data"]["status"] = "pending"
    assert mapped(event) == [
        Ignored(
            "Heroku build status 'pending' is neither a problem ('failed') nor a recovery ('succeeded')",
            vendor_id="699f071a-5fd8-4665-a9df-dec6baecde5b",
        )
    ]


@pytest.mark.parametrize("state", ["starting", "down", "idle", "stopping"])
def test_non_problem_dyno_states_are_ignored(state: str) -> None:
    assert mapped(dyno(state)) == [
        Ignored(
            f"Heroku dyno state {state!r} is neither a problem ('crashed') nor a recovery ('up')",
            vendor_id="aa5bf365-1867-4db7-9c80-f9be67fd4c1e",
        )
    ]


@pytest.mark.parametrize("status", ["succeeded", "pending", "expired"])
def test_release_statuses_other_than_failed_are_ignored(status: str) -> None:
    event = sample_json("heroku-release-succeeded.json")
    event["data"]["status"] = status
    [item] = mapped(event)
    assert item == Ignored(
        f"Heroku release status {status!r} is not a problem (only 'failed' is)",
        vendor_id="d2e06b36-b9ea-43d4-86f4-f14cc599fac7",
    )


def test_unknown_resource_is_ignored() -> None:
    event = {"id": "e-9", "resource": "pipeline-coupling", "action": "create", "data": {}}
    assert mapped(event) == [Ignored("Heroku resource 'pipeline-coupling' is not mapped", vendor_id="e-9")]


# --- envelope variations -----------------------------------------------------------------------


def test_event_id_comes_from_webhook_metadata_and_survives_retries() -> None:
    first = sample_json("heroku-build-failed.json")
    retry = copy.deepcopy(first)
    retry["webhook_metadata"]["attempt"]["id"] = "a-second-attempt"
    assert mapped(first) == mapped(retry)

    first["webhook_metadata"]["event"]["id"] = "from-metadata"
    assert mapped(first)[0].vendor_id == "from-metadata"
    del first["webhook_metadata"]
    assert mapped(first)[0].vendor_id == "699f071a-5fd8-4665-a9df-dec6baecde5b"


@pytest.mark.parametrize(
    ("times", "expected"),
    [
        ({"updated_at": "2024-03-09T09:58:57+00:00"}, datetime(2024, 3, 9, 9, 58, 57, tzinfo=UTC)),
        ({"updated_at": "2016-10-26T22:50:14Z"}, datetime(2016, 10, 26, 22, 50, 14, tzinfo=UTC)),
        ({"updated_at": "2023-08-03T10:00:30.693808Z"}, datetime(2023, 8, 3, 10, 0, 30, 693808, tzinfo=UTC)),
        ({"created_at": "2024-03-09T09:58:57+01:00"}, datetime(2024, 3, 9, 8, 58, 57, tzinfo=UTC)),
        ({"published_at": "2024-03-09T09:58:58Z"}, datetime(2024, 3, 9, 9, 58, 58, tzinfo=UTC)),
        ({"updated_at": "not a time", "published_at": None}, None),
    ],
)
def test_vendor_time_formats(times: dict[str, Any], expected: datetime | None) -> None:
    event = sample_json("heroku-build-failed.json")
    for name in ("created_at", "updated_at", "published_at"):
        del event[name]
    [draft] = mapped(event | times)
    assert draft.occurred_at == expected


def test_unknown_fields_and_upper_case_states_are_fine() -> None:
    event = dyno("CRASHED", brand_new={"nested": [1, 2]}, management="run:detached")
    event |= {"sequence": None, "future_field": 42}
    [draft] = mapped(event)
    assert (draft.action, draft.dedup_key) == (Action.TRIGGER, f"{APP}:dyno:web.1")


def test_dyno_without_a_name_keys_on_its_process_type() -> None:
    event = dyno("crashed")
    del event["data"]["name"]
    assert mapped(event)[0].dedup_key == f"{APP}:dyno:web"


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        ([1, 2], 422, "expected a JSON object (a Heroku webhook event), got list"),
        (
            {"id": "e-1", "action": "create", "data": {}},
            422,
            "not a Heroku webhook event: resource: Field required",
        ),
        (
            {"resource": "app", "data": {}},
            422,
            "no event id (webhook_metadata.event.id or id): retries could not be recognised",
        ),
        (
            {"id": "e-1", "resource": "build", "data": {"status": "failed"}},
            422,
            "Heroku build event without data.app.id: cannot correlate it",
        ),
        (
            {"id": "e-1", "resource": "dyno", "data": {"state": "crashed", "app": {"id": "a"}}},
            422,
            "Heroku dyno event without data.name: cannot correlate it",
        ),
        (
            b"{not json",
            400,
            "body is not valid JSON: Expecting property name enclosed in double quotes: "
            "line 1 column 2 (char 1)",
        ),
    ],
)
def test_unreadable_events(body: Any, status: int, message: str) -> None:
    with pytest.raises(PayloadError) as caught:
        mapped(body)
    assert (caught.value.status, caught.value.message) == (status, message)


# --- events/heroku -----------------------------------------------------------------------------


def test_every_event_file_is_signed_with_the_test_secret_only() -> None:
    """Their expected outcomes are in cases.json (tests/golden/test_vendor_cases.py)."""
    for path in event_files("heroku"):
        heroku.verify(event_delivery(path, SIGNED))
        with pytest.raises(Unauthorized):
            heroku.verify(event_delivery(path, SourceSettings(secret="not-the-secret")))


def test_dyno_crashed_event_matches_the_documented_shape() -> None:
    [path] = [p for p in event_files("heroku") if p.stem == "dyno-crashed"]
    event = json.loads(event_delivery(path).body)
    up = sample_json("heroku-dyno-up.json")
    assert (event["resource"], event["action"], event["data"]["state"], event["data"]["exit_status"]) == (
        "dyno",
        "destroy",
        "crashed",
        137,
    )
    assert event["actor"]["email"] == "noreply+webhooks@heroku.com"
    assert event["webhook_metadata"]["event"]["include"] == "dyno"
    assert (event["data"]["app"], event["data"]["name"]) == (up["data"]["app"], "web.1")
    assert event["id"] != up["id"]
