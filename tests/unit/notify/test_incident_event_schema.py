"""The incident event contract: the model and its checked-in JSON Schema agree (``make schema``
regenerates it after a reviewed contract change)."""

from __future__ import annotations

import json

from alertbridge.models.incident_event import EVENT_TYPES
from alertbridge_tools.schema import EVENT_SCHEMA_FILE as SCHEMA_FILE
from alertbridge_tools.schema import render


def test_checked_in_schema_matches_the_model() -> None:
    assert json.loads(SCHEMA_FILE.read_text()) == json.loads(render("incident-event.v1.json")), (
        "schema/incident-event.v1.json is out of date: run `make schema` and review the contract change"
    )


def test_schema_states_the_contract() -> None:
    schema = json.loads(SCHEMA_FILE.read_text())
    assert schema["additionalProperties"] is False
    for name in ("schema_version", "id", "type", "version", "occurred_at", "incident"):
        assert name in schema["required"], name
    assert sorted(schema["properties"]["type"]["enum"]) == sorted(EVENT_TYPES)
    assert schema["properties"]["schema_version"]["const"] == "1"
    snapshot = schema["$defs"]["IncidentSnapshot"]
    assert snapshot["additionalProperties"] is False
    assert {"id", "service_id", "status", "severity", "title", "test", "links", "tags"} <= set(
        snapshot["properties"]
    )
    assert "timeline" not in snapshot["properties"]
    assert "event_ids" not in snapshot["properties"]
