"""Write the canonical alert's JSON Schema: ``python -m alertbridge_tools.schema``.

The checked-in file is the bus contract consumers read; tests/flow/test_contract.py fails when the model
and the file disagree, so a contract change is always a visible diff.
"""

from __future__ import annotations

import json
from pathlib import Path

from alertbridge.models.alert import CanonicalAlert

SCHEMA_FILE = Path(__file__).resolve().parents[2] / "schema" / "canonical-alert.v1.json"


def render() -> str:
    schema = CanonicalAlert.model_json_schema(mode="serialization")
    schema["$id"] = "https://alertbridge.dev/schema/canonical-alert.v1.json"
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"


def main() -> None:
    SCHEMA_FILE.write_text(render())
    print(f"wrote {SCHEMA_FILE}")


if __name__ == "__main__":
    main()
