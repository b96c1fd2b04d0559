"""Every source is registered, has a function, and its events/ files are current and normalize."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from alertbridge import vendors
from alertbridge.models.alert import Severity
from alertbridge.models.records import Source, SourceSettings
from alertbridge.normalize import normalize
from alertbridge.vendors.base import Draft, Ignored, PayloadError, Rejected
from alertbridge_tools import make_events
from alertbridge_tools.apigw import EVENTS_DIR

from tests.golden.helpers import event_delivery, event_files, run

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
    for source, cases in make_events.SOURCES.items():
        written = {path.stem for path in event_files(source)}
        assert written == set(cases()), f"events/{source}: run python -m alertbridge_tools.make_events"
        for case, (body, headers) in cases().items():
            path = EVENTS_DIR / source / f"{case}.json"
            assert path.read_text() == make_events.render(source, case, body, headers), path


def test_sample_bodies_are_kept_byte_for_byte() -> None:
    heroku = make_events.heroku()
    assert heroku["build-failed"][0] == make_events.sample("heroku-build-failed.json")
    assert heroku["build-failed"][1] == {
        "Heroku-Webhook-Hmac-SHA256": "CkkDgHaXow5RCCEowIeb+akB+dLPxvT4n9pzuVrbZKc="
    }
    assert make_events.threatstack()["batch"][0] == make_events.sample("threatstack-batch.json")


def cases() -> list[tuple[str, Path]]:
    return [(source, path) for source in NEW for path in event_files(source)]


@pytest.mark.parametrize(("source", "path"), cases(), ids=lambda v: v.stem if isinstance(v, Path) else v)
def test_every_event_normalizes_into_canonical_alerts(source: str, path: Path) -> None:
    settings = SourceSettings(secret=make_events.HEROKU_SECRET if source == "heroku" else None)
    record = Source(
        id="src_1",
        service_id="svc_1",
        source=source,
        settings=settings,
        token_hash="0" * 64,
        created_at=datetime(2024, 1, 1, tzinfo=UTC),
    )
    d = event_delivery(path, settings)
    expected_status = FAILING.get((source, path.stem))
    if expected_status is not None:
        with pytest.raises(PayloadError) as caught:
            normalize(vendors.module(source), record, d, "dlv_1")
        assert caught.value.status == expected_status
        return
    result = normalize(vendors.module(source), record, d, "dlv_1")
    kinds = {Draft: "accepted", Ignored: "ignored", Rejected: "rejected"}
    assert [o["outcome"] for o in result.outcomes] == [kinds[type(item)] for item in run(source, d)]
    assert len({a.event_id for a in result.alerts}) == len(result.alerts)
    assert {a.source for a in result.alerts} <= {source}
    # The same delivery again (a retry) gives the same event ids: it never counts twice.
    again = normalize(
        vendors.module(source), record, replace(d, received_at=d.received_at + timedelta(seconds=5)), "dlv_2"
    )
    assert [a.event_id for a in again.alerts] == [a.event_id for a in result.alerts]
