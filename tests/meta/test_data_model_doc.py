"""docs/data-model.md's key table is the one description of the table's keys: every item the stores
write must match its row there (placeholders ``<...>`` match anything but '#')."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import boto3
from alertbridge_tools.harness import Harness

from tests.conftest import sample, sample_json

DOC = Path(__file__).resolve().parents[2] / "docs" / "data-model.md"
COLUMNS = ("PK", "SK", "GSI1PK", "GSI1SK", "GSI2PK", "GSI2SK")


def _pattern(cell: str) -> re.Pattern[str]:
    parts = re.split(r"(<[^>]+>)", cell.strip().strip("`"))
    return re.compile("".join(".+" if p.startswith("<") else re.escape(p) for p in parts) + "$")


def _rows() -> dict[str, list[list[str]]]:
    """item name -> its key cells (PK, SK, GSI1PK, GSI1SK, GSI2PK, GSI2SK; '' where absent);
    a cell with several alternatives ("`a` while open, `b` once closed") keeps each of them."""
    rows: dict[str, list[list[str]]] = {}
    for line in DOC.read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 5 or cells[0] in ("item", "---"):
            continue
        name, pk, sk, gsi1, gsi2 = cells
        g1 = [c.strip() for c in gsi1.split(" / ", 1)] if gsi1 else ["", ""]
        g2 = [c.strip() for c in gsi2.split(" / ", 1)] if gsi2 else ["", ""]
        rows[name] = [re.findall(r"`([^`]*)`", cell) or [""] for cell in (pk, sk, g1[0], g1[1], g2[0], g2[1])]
    return rows


def _matches(item: dict[str, Any], row: list[list[str]]) -> bool:
    for column, alternatives in zip(COLUMNS, row, strict=True):
        value = item.get(column, {}).get("S", "")
        if not any((value == "" if alt == "" else bool(_pattern(alt).match(value))) for alt in alternatives):
            return False
    return True


def documented_kinds(stack: Harness) -> set[str]:
    """The row names of every item in the stack's table, each item matching exactly one row of the
    data model doc (a test that writes new kinds of items calls this after writing them)."""
    rows = _rows()
    items = boto3.client("dynamodb").scan(TableName=stack.stack.environment()["TABLE_NAME"])["Items"]
    kinds = set()
    for item in items:
        matched = [name for name, row in rows.items() if _matches(item, row)]
        assert len(matched) == 1, (item.get("PK"), item.get("SK"), matched)
        kinds.add(matched[0])
    return kinds


def test_every_item_written_matches_its_row_in_the_data_model_doc(stack: Harness, service_id: str) -> None:
    from alertbridge import runtime

    rows = _rows()
    assert {"service", "alert source", "delivery (raw)", "incident episode", "alert rules"} <= set(rows)
    _, token = stack.add_source(service_id, "kapacitor")
    rule = {"name": "prod", "kind": "tag", "when": "`true`", "tags": {"env": "prod"}}
    assert stack.call("POST", f"/api/services/{service_id}/rules", rule).status == 201
    assert stack.post("kapacitor", token, sample("kapacitor-critical.json")).status == 202
    stack.pump()
    [incident] = runtime.incident_store().list_open(service_id)
    stack.call("POST", f"/api/incidents/{incident.id}/resolve")  # a closed episode too
    again = {**sample_json("kapacitor-critical.json"), "time": "2030-01-01T00:00:00Z"}
    assert stack.post("kapacitor", token, json.dumps(again).encode()).status == 202
    stack.pump()
    [reopened] = runtime.incident_store().list_open(service_id)  # a second episode, open
    assert stack.call("POST", f"/api/incidents/{reopened.id}/updates", {"message": "On it."}).status == 201
    assert stack.call("PATCH", "/api/status-page", {"title": "Acme status"}).status == 200
    for window in (
        {"name": "once", "start": "2030-01-01T00:00:00Z", "end": "2030-01-01T02:00:00Z"},
        {"name": "weekly", "days": ["sun"], "at": "02:00", "duration": "2h", "tz": "Europe/Berlin"},
    ):
        assert stack.call("POST", f"/api/services/{service_id}/maintenance", window).status == 201
    assert {
        "service",
        "alert source",
        "delivery (raw)",
        "incident episode",
        "alert rules",
    } <= documented_kinds(stack)
