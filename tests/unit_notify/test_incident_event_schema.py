"""The incident event contract: the model and its checked-in JSON Schema agree.

Regenerate after a reviewed contract change with
``.venv/bin/python -m tests.unit_notify.test_incident_event_schema``.
"""

from __future__ import annotations

import json
from pathlib import Path

from alertbridge.models.incident_event import EVENT_TYPES, IncidentEvent

SCHEMA_FILE = Path(__file__).resolve().parents[2] / "schema" / "incident-event.v1.json"


def render() -> str:
    schema = IncidentEvent.model_json_schema(mode="serialization")
    schema["$id"] = "https://alertbridge.dev/schema/incident-event.v1.json"
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"


def test_checked_in_schema_matches_the_model() -> None:
    assert json.loads(SCHEMA_FILE.read_text()) == json.loads(render()), (
        "schema/incident-event.v1.json is out of date: run "
        "`.venv/bin/python -m tests.unit_notify.test_incident_event_schema` and review the contract change"
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


if __name__ == "__main__":
    SCHEMA_FILE.write_text(render())
    print(f"wrote {SCHEMA_FILE}")
