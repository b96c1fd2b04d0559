"""Write the bus contracts' JSON Schemas: ``make schema`` (``python -m alertbridge_tools.schema``).

The checked-in files are the contracts consumers read (the canonical alert between ingest and the
incident function; the incident event for subscribers and the notifier). Tests fail when a model
and its file disagree (tests/flow/test_contract.py, tests/unit/notify/test_incident_event_schema.py),
so a contract change is always a visible diff.
"""

from __future__ import annotations

import json
from pathlib import Path

from alertbridge.models.alert import CanonicalAlert
from alertbridge.models.incident_event import IncidentEvent
from pydantic import BaseModel

SCHEMA_DIR = Path(__file__).resolve().parents[2] / "schema"
CONTRACTS: dict[str, type[BaseModel]] = {
    "canonical-alert.v1.json": CanonicalAlert,
    "incident-event.v1.json": IncidentEvent,
}
SCHEMA_FILE = SCHEMA_DIR / "canonical-alert.v1.json"
EVENT_SCHEMA_FILE = SCHEMA_DIR / "incident-event.v1.json"


def render(name: str = "canonical-alert.v1.json") -> str:
    schema = CONTRACTS[name].model_json_schema(mode="serialization")
    schema["$id"] = f"https://alertbridge.dev/schema/{name}"
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"


def main() -> None:
    for name in CONTRACTS:
        (SCHEMA_DIR / name).write_text(render(name))
        print(f"wrote {SCHEMA_DIR / name}")


if __name__ == "__main__":
    main()
