"""The "add a source" checklist (layers/core/alertbridge/vendors/README.md), checked item by item for
every source in ``vendors.SOURCES``, and nothing anywhere for a source that is not in it."""

from __future__ import annotations

import re

import pytest
from alertbridge import vendors
from alertbridge.vendors.registry import MAPPINGS
from alertbridge_tools import make_events, vendor_docs
from alertbridge_tools.template import ROOT, load_template

VENDORS = ROOT / "layers/core/alertbridge/vendors"
SHARED = {"__init__.py", "base.py", "registry.py", "README.md", "__pycache__"}
OTHER_FUNCTIONS = {"incidents", "incident_events", "management", "notifier", "checker", "status", "heartbeat"}


def _hooks() -> dict[str, str]:
    """Route ``/hooks/<name>/{token}`` -> the CodeUri of its function."""
    found = {}
    for resource in load_template()["Resources"].values():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        for event in resource["Properties"].get("Events", {}).values():
            path = event["Properties"].get("Path", "")
            hook = re.fullmatch(r"/hooks/([^/]+)/\{token\}", path)
            if event["Type"] == "Api" and hook and hook.group(1) != vendors.HEARTBEAT:
                assert event["Properties"]["Method"].upper() == "POST", path
                found[hook.group(1)] = resource["Properties"]["CodeUri"].rstrip("/")
    return found


@pytest.mark.parametrize("name", vendors.SOURCES)
def test_every_item_of_the_checklist_is_there(name: str) -> None:
    mapping = MAPPINGS[name]
    assert name == mapping.NAME and getattr(mapping, "SEVERITY", None), "1. the mapping"
    assert mapping.__doc__ and re.search(r"vendors\.md §\d", mapping.__doc__), "1. its docstring"
    assert vendors.sample(name).strip().startswith(b"{"), "2. sample.json"
    guide = VENDORS / name / "README.md"
    assert guide.is_file(), "3. README.md"
    text = guide.read_text()
    assert vendor_docs.BEGIN in text and vendor_docs.END in text, "3. its generated severity section"
    app = (ROOT / "functions" / name / "app.py").read_text()
    assert f"from alertbridge.vendors import {name}\n" in app, "5. a static import"
    assert f"handler = ingest_handler({name})\n" in app, "5. the handler"
    assert _hooks().get(name) == f"functions/{name}", "6. function + route"
    cases = [case.name for case in make_events.load(name).cases]
    assert cases and all(case.expect for case in make_events.load(name).cases), "7. cases.json"
    assert {p.stem for p in (ROOT / "events" / name).glob("*.json")} == set(cases), "7. events"
    readme = (ROOT / "README.md").read_text()
    assert re.search(rf"^\| [^|]+ \| `\.\.\./hooks/{name}/<token>` \|", readme, re.M), "8. README row"


def test_nothing_exists_for_a_source_that_is_not_in_the_list() -> None:
    assert tuple(MAPPINGS) == vendors.SOURCES, "4. registry and list in the same order"
    folders = {p.name for p in VENDORS.iterdir()} - SHARED
    assert folders == set(vendors.SOURCES)
    functions = {p.name for p in (ROOT / "functions").iterdir() if p.is_dir()} - OTHER_FUNCTIONS
    assert functions == set(vendors.SOURCES)
    assert set(_hooks()) == set(vendors.SOURCES)
    assert {p.name for p in (ROOT / "events").iterdir() if p.is_dir()} == {
        *vendors.SOURCES,
        vendors.HEARTBEAT,
    }
    assert {p.parent.name for p in VENDORS.glob("*/cases.json")} == set(vendors.SOURCES)


def test_the_heartbeat_source_is_a_kind_not_a_vendor() -> None:
    """``heartbeat`` sources only ping ``/hooks/heartbeat/{token}`` (GET or POST), which every
    source's token also answers: one function, its events, no mapping, no cases, no README row."""
    assert vendors.HEARTBEAT not in vendors.SOURCES and (*vendors.SOURCES, vendors.HEARTBEAT) == vendors.KINDS
    hb = load_template()["Resources"]["HeartbeatFunction"]["Properties"]
    assert hb["CodeUri"].rstrip("/") == "functions/heartbeat"
    routes = {(e["Properties"]["Method"], e["Properties"]["Path"]) for e in hb["Events"].values()}
    assert routes == {("get", "/hooks/heartbeat/{token}"), ("post", "/hooks/heartbeat/{token}")}
    assert {p.stem for p in (ROOT / "events" / vendors.HEARTBEAT).glob("*.json")} == set(
        make_events.HEARTBEATS
    )
