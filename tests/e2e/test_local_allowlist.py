"""The Threat Stack source IP allowlist passes an address inside the template's CIDRs: loopback
put in place of one of them through the template reader (a module of its own: a second local
stack in one process changes the environment the first one's functions read)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from alertbridge_tools import template
from alertbridge_tools.apigw import load_event
from alertbridge_tools.client import Client
from alertbridge_tools.demo import post_webhook
from alertbridge_tools.local import LocalStack


def test_threatstack_from_an_allowed_cidr_passes(monkeypatch: pytest.MonkeyPatch) -> None:
    """The template's CIDRs, with loopback put in their place through the template reader."""
    real = template.load_template

    def loopback(*args: Any) -> dict[str, Any]:
        loaded = real(*args)
        text = json.dumps(loaded)
        assert "54.173.79.87/32" in text
        return dict(json.loads(text.replace("54.173.79.87/32", "127.0.0.0/8")))

    monkeypatch.setattr(template, "load_template", loopback)
    stack = LocalStack(port=0, quiet=True, parameters={"RestrictThreatStackSourceIps": "true"}).start()
    try:
        api = Client(stack.base_url)  # without --auth iam: unsigned management calls answered
        service = api.request("POST", "/api/services", {"name": "edge"})
        ts = api.request("POST", f"/api/services/{service['id']}/sources", {"source": "threatstack"})
        assert post_webhook(ts["webhook_url"], load_event("threatstack", "bare-alert", "x"))[0] == 202
    finally:
        stack.stop()
