"""A field a mapping only shows or keys on never rejects an alert: null, a number, a boolean or an
object where the sample has text still maps to an alert (PRODUCT: "never let a field you do not
need reject an alert")."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from alertbridge.models.records import SourceSettings
from alertbridge.vendors import heroku

from tests.conftest import sample_json
from tests.golden.helpers import delivery, one_draft, run

ODD_VALUES = [None, 42, 3.5, True, {"nested": "object"}, ["a", "list"]]

# (source, sample, path of a field the mapping does not need to be text)
FIELDS = [
    ("threatstack", "threatstack-batch.json", ("alerts", 0, "organization_name")),
    ("threatstack", "threatstack-batch.json", ("alerts", 0, "organization_id")),
    ("threatstack", "threatstack-batch.json", ("alerts", 0, "server_or_region")),
    ("threatstack", "threatstack-batch.json", ("alerts", 0, "source")),
    ("threatstack", "threatstack-batch.json", ("alerts", 0, "title")),
    ("heroku", "heroku-app-update.json", ("actor", "email")),
    ("heroku", "heroku-app-update.json", ("action",)),
    ("heroku", "heroku-app-update.json", ("data", "name")),
    ("heroku", "heroku-build-failed.json", ("data", "app", "name")),
    ("heroku", "heroku-build-failed.json", ("actor", "email")),
    ("kapacitor", "kapacitor-critical.json", ("message",)),
    ("kapacitor", "kapacitor-critical.json", ("details",)),
]


def _set(body: Any, path: tuple[Any, ...], value: Any) -> Any:
    body = copy.deepcopy(body)
    target = body
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    return body


@pytest.mark.parametrize(("source", "sample", "path"), FIELDS, ids=str)
@pytest.mark.parametrize("value", ODD_VALUES, ids=repr)
def test_an_odd_value_in_a_field_the_mapping_does_not_need_is_still_an_alert(
    source: str, sample: str, path: tuple[Any, ...], value: Any
) -> None:
    body = _set(sample_json(sample), path, value)
    if source == "threatstack":
        body = {"alerts": body["alerts"][:1]}
    secret = "a-heroku-secret-of-length"
    raw = json.dumps(body).encode()
    headers = {"Content-Type": "application/json"}
    settings = None
    if source == "heroku":
        headers["Heroku-Webhook-Hmac-SHA256"] = heroku.sign(secret, raw)
        settings = SourceSettings(secret=secret)
    draft = one_draft(run(source, delivery(raw, headers, settings)))
    assert draft.title and draft.dedup_key
