"""The README's receiver code for the generic webhook really verifies what alertbridge sends, and
rejects a tampered body, a wrong secret and a replay older than 5 minutes."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

from alertbridge.notify import webhook

from tests.unit.notify.factories import make_event

README = Path(__file__).resolve().parents[3] / "README.md"


def _readme_verify() -> Any:
    text = README.read_text()
    [code] = [block for block in re.findall(r"```python\n(.*?)```", text, re.S) if "def verify(" in block]
    scope: dict[str, Any] = {}
    exec(compile(code, str(README), "exec"), scope)
    return scope["verify"]


def test_the_readme_receiver_accepts_a_signed_event_and_rejects_tampering_and_replays() -> None:
    verify = _readme_verify()
    secret = "a-webhook-secret-of-enough-length"
    now = int(time.time())
    sent = webhook.build(make_event(), url="https://example.invalid/hook", secret=secret, now=now)
    assert verify(secret, sent.headers, sent.body)
    assert not verify(secret, sent.headers, sent.body + b" ")
    assert not verify("another-secret-of-enough-length", sent.headers, sent.body)
    old = webhook.build(make_event(), url="https://example.invalid/hook", secret=secret, now=now - 301)
    assert not verify(secret, old.headers, old.body)
