"""What the end-to-end tests share: the CLI as a user runs it, and waiting for the stack to catch up."""

from __future__ import annotations

import io
import json
import time
from collections.abc import Callable
from contextlib import redirect_stdout
from typing import Any

from alertbridge_tools import cli
from alertbridge_tools.local import LocalStack


def ab(target: LocalStack | str, *args: str, code: int = 0, sign: bool = False) -> Any:
    """``alertbridge --url URL [--sign] ARGS --json`` against a local stack (or its base URL): its
    parsed stdout once it exits with ``code`` (None when that is not 0)."""
    url = target if isinstance(target, str) else target.base_url
    out = io.StringIO()
    with redirect_stdout(out):
        got = cli.main(["--url", url, *(["--sign"] if sign else []), *args, "--json"])
    assert got == code, out.getvalue()
    return json.loads(out.getvalue()) if code == 0 else None


def wait_for(predicate: Callable[[], Any], timeout: float = 30.0) -> Any:
    """The predicate's first truthy value within ``timeout`` seconds, else its last value."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.2)
