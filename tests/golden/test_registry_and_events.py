"""Every source is registered, has a function, and its events/ files are current and normalize."""

from __future__ import annotations

import re

import pytest
from alertbridge import vendors
from alertbridge.models.parts import Severity
from alertbridge_tools import make_events
from alertbridge_tools.apigw import EVENTS_DIR

from tests.golden.helpers import event_files

ROOT = EVENTS_DIR.parent
NEW = ("threatstack", "heroku", "uptrends", "stathat")
FAILING = {("threatstack", "empty-alerts"): 422, ("stathat", "empty"): 400}


def test_sources_are_registered_in_order() -> None:
    assert ("kapacitor", *NEW) == vendors.SOURCES


@pytest.mark.parametrize("name", NEW)
def test_each_module_declares_its_name_severity_map_and_function(name: str) -> None:
    module = vendors.module(name)
    assert name == module.NAME
    assert module.SEVERITY
    assert all(isinstance(level, Severity) for level in module.SEVERITY.values())
    assert module.__doc__ is not None
    assert re.search(r"vendors\.md §\d", module.__doc__)
    app = (ROOT / "functions" / name / "app.py").read_text()
    assert f"POST /hooks/{name}/{{token}}" in app
    assert f"handler = ingest_handler({name})" in app
    assert hasattr(module, "verify") == (name == "heroku")


def test_event_files_are_what_the_generator_writes() -> None:
    for source in vendors.SOURCES:
        cases = make_events.load(source).cases
        written = {path.stem for path in event_files(source)}
        assert written == {case.name for case in cases}, f"events/{source}: run make events"
        for case in cases:
            path = EVENTS_DIR / source / f"{case.name}.json"
            assert path.read_text() == make_events.render(source, case.name, case.body, case.headers), path


def test_sample_bodies_are_kept_byte_for_byte() -> None:
    heroku = {case.name: case for case in make_events.load("heroku").cases}
    assert heroku["build-failed"].body == make_events.sample("heroku-build-failed.json")
    assert heroku["build-failed"].headers == {
        "Heroku-Webhook-Hmac-SHA256": "CkkDgHaXow5RCCEowIeb+akB+dLPxvT4n9pzuVrbZKc="
    }
    [batch] = [case for case in make_events.load("threatstack").cases if case.name == "batch"]
    assert batch.body == make_events.sample("threatstack-batch.json")
